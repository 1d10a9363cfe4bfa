/**
 * Same-origin serving (docs/architecture.md, "Same-origin serving"): the Worker answers the public routes
 * under the path prefix `BASE_PATH` (e.g. `/_tw`, deployed as the Workers route
 * `shop.example/_tw/*`), so the tag, `/e`, `/b`, `/c`, `/sync`, `/optout` and the Segment `/v1/*`
 * live on the shop's own host. Safari caps cookies set from a host on another IP or behind a
 * third-party CNAME at 7 days; a path of the shop's own host is first party.
 *
 * Only those: the admin, the docs and the management API answer 404 under the prefix
 * (`shopOriginScope`). The shop's origin runs code tagwerk does not control — third-party tags, an
 * XSS — and a page there could otherwise log in or ride an admin session with same-origin
 * requests that every CSRF check lets through (README, "Same-origin route").
 *
 * Done once, around the whole app, rather than in every route and link: the prefix is taken off
 * the incoming path (the routes stay as written), and put back on what the Worker hands out —
 * root-relative `Location` headers, root-relative links of HTML pages (through the platform's
 * HTMLRewriter, streaming) and the absolute URLs it mints (`publicBase`). Paths without the prefix
 * keep answering as before, with unprefixed links (a workers.dev hostname, health checks): what a
 * request is handed follows the way it came in.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { apiError } from "../errors";

type BasePathEnv = { BASE_PATH?: string };

/** A prefix is one or more path segments of URL-safe characters, without a trailing slash. */
const PREFIX = /^(\/[A-Za-z0-9._~-]+)+$/;

/** The configured prefix ("" when none); a malformed one is a deployment error, said loudly. */
export function basePathOf(env: BasePathEnv): string {
  const raw = (env.BASE_PATH ?? "").trim().replace(/\/+$/, "");
  if (raw === "") return "";
  if (!PREFIX.test(raw)) throw new Error(`BASE_PATH "${env.BASE_PATH}" is not a path like /_tw`);
  return raw;
}

/** Requests that came in under the prefix (the rewritten Request objects the app sees). */
const cameWithPrefix = new WeakSet<Request>();

/** The origin plus prefix that URLs handed to browsers and networks start with. */
export function publicBase(c: { req: { url: string; raw: Request }; env: BasePathEnv }): string {
  const origin = new URL(c.req.url).origin;
  return cameWithPrefix.has(c.req.raw) ? origin + basePathOf(c.env) : origin;
}

/**
 * What the shop's origin is served under the prefix: the tag and its anonymous endpoints, and the
 * Segment-compatible `/v1/*` (authenticated by a key in the header, never by a cookie).
 */
const SHOP_ORIGIN_ROUTES = /^\/(t\.js|tc\.js|e|sync|optout|b\/[^/]+|c\/[^/]+|v1\/(batch|track|identify|page))$/;

/** True when the request came in under the prefix, i.e. on the shop's own origin. */
function onShopOrigin(request: Request): boolean {
  return cameWithPrefix.has(request);
}

/** Under the prefix, everything but the public routes is refused, as if it did not exist. */
export const shopOriginScope = createMiddleware<AppEnv>(async function shopOriginScope(c, next) {
  if (onShopOrigin(c.req.raw) && !SHOP_ORIGIN_ROUTES.test(c.req.path)) {
    throw apiError(404, "not_found", "Not served on the shop's origin: only the tag's public routes are");
  }
  await next();
});

const LINK_ATTRIBUTES = ["href", "src", "action", "formaction"] as const;

/** "/admin" → "/_tw/admin"; "//host", relative and absolute URLs stay as they are. */
function prefixed(value: string, base: string): string | null {
  if (!value.startsWith("/") || value.startsWith("//") || value === base || value.startsWith(`${base}/`)) {
    return null;
  }
  return base + value;
}

/** Runs `fetch` for a request that may carry the prefix, and prefixes what the answer links to. */
export async function servePrefixed<E extends BasePathEnv, C>(
  fetch: (request: Request, env: E, ctx: C) => Response | Promise<Response>,
  request: Request,
  env: E,
  ctx: C,
): Promise<Response> {
  const base = basePathOf(env);
  if (!base) return fetch(request, env, ctx);
  const url = new URL(request.url);
  if (url.pathname !== base && !url.pathname.startsWith(`${base}/`)) return fetch(request, env, ctx);
  url.pathname = url.pathname.slice(base.length) || "/";
  const inner = new Request(url, request);
  cameWithPrefix.add(inner);
  const response = await fetch(inner, env, ctx);
  const location = response.headers.get("Location");
  const movedTo = location ? prefixed(location, base) : null;
  const html = response.headers.get("Content-Type")?.startsWith("text/html");
  if (!movedTo && !html) return response;
  const out = new Response(response.body, response);
  if (movedTo) out.headers.set("Location", movedTo);
  if (!html) return out;
  const rewriter = new HTMLRewriter()
    // Client scripts that build API paths themselves read the prefix from here.
    .on("html", { element: (el) => void el.setAttribute("data-base", base) });
  for (const name of LINK_ATTRIBUTES) {
    rewriter.on(`[${name}^="/"]`, {
      element(el) {
        const next = prefixed(el.getAttribute(name) ?? "", base);
        if (next) el.setAttribute(name, next);
      },
    });
  }
  return rewriter.transform(out);
}
