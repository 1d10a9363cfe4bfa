/**
 * `GET /b/:placement` ahead of Hono's router (docs/architecture.md, "Decision path"): the banner is
 * the hottest route by far, and the app's router, its middleware chain and the OpenAPI
 * validator cost a steady decision a measurable share of its CPU (bench/RESULTS.md, "Where a
 * decision's time goes"). The fast path answers with the very same code — answerBanner() with a
 * Hono Context of its own, the app's request-ID and security-header middleware, the route's own
 * query schema — and so keeps every promise of the route: base path (it runs inside
 * servePrefixed), rate limits, opt-out, consent, caps, the fallback on any fault, request IDs.
 *
 * It declines (null: the app answers) whatever is not a plain banner request: another method or
 * path, a parameter the route's validator would refuse or see twice, a placement needing
 * decoding. An error it meets is answered by the app's own error handler, in the app's shape.
 * The OpenAPI document keeps describing `/b` through the route in routes.ts, which also serves
 * every request declined here.
 */
import { Context } from "hono";
import { dbMiddleware } from "../db/client";
import type { AppEnv } from "../env";
import { onError } from "../errors";
import { edgeSecureHeaders, requestIds } from "../lib/edge-headers";
import { PlacementSchema } from "../rules/store";
import { encodeTrailingClickMacro } from "./click-macro";
import { answerBanner, BannerQuery, type BannerQueryInput } from "./routes";

const BANNER_PATH = /^\/b\/([^/%]+)$/;

/** The query as the route's validator sees it, or null when a parameter appears twice (its 400). */
function singleValued(params: URLSearchParams): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const [key, value] of params) {
    if (Object.hasOwn(out, key)) return null;
    out[key] = value;
  }
  return out;
}

/** The banner's answer, or null when the app should answer this request. */
export function bannerFastPath(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> | null {
  if (request.method !== "GET") return null;
  // Before validation, as the route's middleware does: an expanded unescaped click macro.
  const rewritten = encodeTrailingClickMacro(request.url);
  const url = new URL(rewritten ?? request.url);
  const match = BANNER_PATH.exec(url.pathname);
  if (!match) return null;
  const placement = PlacementSchema.safeParse(match[1]);
  const raw = singleValued(url.searchParams);
  const query = raw && BannerQuery.safeParse(raw);
  if (!placement.success || !query?.success) return null;
  return serve(rewritten ? new Request(rewritten, request) : request, env, ctx, placement.data, query.data);
}

async function serve(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  placement: string,
  query: BannerQueryInput,
): Promise<Response> {
  const c = new Context<AppEnv>(request, { env, executionCtx: ctx });
  // The app's own middleware, in the app's order (worker/index.ts), around the route's answer;
  // an unknown site (404) or any fault past decide() is answered by the app's error handler
  // inside them, as Hono's compose does, so the error carries the same headers and shape.
  await requestIds(c, async () => {
    await edgeSecureHeaders(c, async () => {
      await dbMiddleware(c, async () => {
        try {
          c.res = await answerBanner(c, placement, query);
        } catch (error) {
          c.res = await onError(error as Error, c);
        }
      });
    });
  });
  return c.res;
}
