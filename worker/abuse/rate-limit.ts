/**
 * Per-IP rate limits on the public hot paths (/e and /b) with the Workers Rate Limiting binding
 * (wrangler.toml `[[ratelimits]]`; miniflare runs it in tests). The key is the client IP and the
 * site, so one shop's flood never throttles another shop. The IP is only ever a rate-limit key:
 * it is never written to D1 or logged.
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";

/** The client IP as Cloudflare reports it; requests without it (tests, local) share one bucket. */
export function clientIp(c: Pick<Context, "req">): string {
  return c.req.header("CF-Connecting-IP") ?? "unknown";
}

/** True when the request may proceed. A limiter fault lets the request through (fail open). */
export async function allowedBy(limiter: RateLimit | undefined, key: string): Promise<boolean> {
  if (!limiter) return true;
  try {
    return (await limiter.limit({ key })).success;
  } catch {
    return true;
  }
}

export function rateKey(c: Context<AppEnv>, siteKey: string): string {
  return `${clientIp(c)}|${siteKey}`;
}

/** Seconds a limited client should wait: the binding's shortest period. */
export const RETRY_AFTER_SECONDS = 10;
