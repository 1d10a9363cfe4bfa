/** Work a route does after its response has gone out (`waitUntil`): impressions, clicks. */
import type { Context } from "hono";
import type { AppEnv } from "../env";

type WaitUntil = { waitUntil(promise: Promise<unknown>): void };

/** The request's execution context; Hono throws when there is none (a bare app.request). */
export function executionContextOf(c: Context<AppEnv>): WaitUntil | undefined {
  try {
    return c.executionCtx;
  } catch {
    return undefined;
  }
}

/** Work after the response (`waitUntil`); awaited in place where there is no execution context. */
export function runAfterResponse(c: Context<AppEnv>, work: Promise<unknown>) {
  const ctx = executionContextOf(c);
  if (ctx) ctx.waitUntil(work);
  else return work;
}
