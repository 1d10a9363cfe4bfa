import { env } from "cloudflare:workers";
import { signCustomerId } from "../../worker/identity/verified-identify";
import { call } from "../fixtures/api";

export const SHOP = "https://shop.example";
export const CHROME_UA =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36";

type PostOptions = {
  /** Raw body text instead of JSON.stringify(batch). */
  raw?: string;
  origin?: string | null;
  cookie?: string;
  userAgent?: string;
  contentType?: string;
  queue?: Queue;
};

export async function postEvents(batch: unknown, options: PostOptions = {}): Promise<Response> {
  const headers = new Headers({
    "Content-Type": options.contentType ?? "text/plain;charset=UTF-8",
    "User-Agent": options.userAgent ?? CHROME_UA,
  });
  const origin = options.origin === undefined ? SHOP : options.origin;
  if (origin !== null) headers.set("Origin", origin);
  if (options.cookie) headers.set("Cookie", `tw_id=${options.cookie}`);
  const body = options.raw ?? JSON.stringify(batch);
  const bindings = { ...env, EVENTS_QUEUE: options.queue as Queue };
  return call("/e", { method: "POST", headers, body, env: bindings, settle: true });
}

/** The tw_id value a response set, if any. */
export function cookieIdOf(res: Response): string | null {
  const header = res.headers.get("Set-Cookie") ?? "";
  return /tw_id=([0-9a-f]{32})/.exec(header)?.[1] ?? null;
}

export function event(type: string, props?: unknown, extra: Record<string, unknown> = {}) {
  return {
    type,
    ts: 1_700_000_000_000,
    url: `${SHOP}/p`,
    ref: "",
    ...(props === undefined ? {} : { props }),
    ...extra,
  };
}

export async function visitorOf(cookieId: string) {
  return env.DB.prepare("select * from visitors where cookie_id = ?").bind(cookieId).first<Record<string, unknown>>();
}

export async function countRows(table: string, where = "1 = 1", ...params: unknown[]) {
  const row = await env.DB.prepare(`select count(*) as n from ${table} where ${where}`)
    .bind(...params)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

const identitySecrets = new Map<string, string>();

/**
 * An identify signed as the shop's backend signs it (worker/identity/): the site's identity
 * secret is made once per API key through `POST /api/v1/site/identity-secret`.
 */
export async function signedIdentify(apiKey: string, customer: string, extra: Record<string, unknown> = {}) {
  let secret = identitySecrets.get(apiKey);
  if (!secret) {
    const res = await call("/api/v1/site/identity-secret", { method: "POST", key: apiKey });
    if (res.status !== 201) throw new Error(`identity secret: ${res.status} ${await res.text()}`);
    secret = ((await res.json()) as { identity_secret: string }).identity_secret;
    identitySecrets.set(apiKey, secret);
  }
  return event("identify", { customer, sig: await signCustomerId(secret, customer) }, extra);
}
