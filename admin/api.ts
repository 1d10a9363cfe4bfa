/**
 * The admin pages read and write through the management API, in-process: each call is a request
 * to the assembled app carrying the user's session cookie and our own Origin, so the pages get
 * exactly the validation, roles and site scoping scripts get — no second path into the data.
 */
import type { Context } from "hono";
import { SESSION_COOKIE } from "../worker/auth/session";
import type { AppEnv } from "../worker/env";
import type { PageUser } from "./ui";

/** The admin sub-app's environment: the app's, plus the API client and the signed-in user. */
export type AdminEnv = { Bindings: Env; Variables: AppEnv["Variables"] & { api: Api; user: PageUser } };

export type ApiApp = { fetch: (request: Request, env: Env, ctx: ExecutionContext) => Response | Promise<Response> };

export type ApiError = { code: string; message: string };
type ApiResult<T> = { ok: true; status: number; data: T } | { ok: false; status: number; error: ApiError };

type Body = { json: unknown } | { text: string; type: string };

export type Api = {
  call<T>(method: string, path: string, body?: Body): Promise<ApiResult<T>>;
  /** GET that must succeed: a failure is the page's error (e.g. 404 for another site's ID). */
  get<T>(path: string): Promise<T>;
};

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly error: ApiError,
  ) {
    super(error.message);
  }
}

function executionContext(c: Context<AdminEnv>): ExecutionContext {
  try {
    return c.executionCtx as unknown as ExecutionContext;
  } catch {
    // Requests made through app.request() in tests have no ExecutionContext; nothing we call needs
    // one beyond waitUntil, which may then simply run inline.
    return { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
  }
}

export function createApi(c: Context<AdminEnv>, app: ApiApp, sessionToken: string): Api {
  const origin = new URL(c.req.url).origin;
  async function call<T>(method: string, path: string, body?: Body): Promise<ApiResult<T>> {
    const headers = new Headers({ Cookie: `${SESSION_COOKIE}=${sessionToken}`, Origin: origin });
    let payload: string | undefined;
    if (body && "json" in body) {
      headers.set("Content-Type", "application/json");
      payload = JSON.stringify(body.json);
    } else if (body) {
      headers.set("Content-Type", body.type);
      payload = body.text;
    }
    const res = await app.fetch(
      new Request(new URL(path, origin), { method, headers, body: payload }),
      c.env,
      executionContext(c),
    );
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (res.ok) return { ok: true, status: res.status, data: data as T };
    const error = (data as { error?: ApiError } | null)?.error ?? { code: "error", message: `HTTP ${res.status}` };
    return { ok: false, status: res.status, error };
  }
  return {
    call,
    async get<T>(path: string) {
      const result = await call<T>("GET", path);
      if (!result.ok) throw new ApiFailure(result.status, result.error);
      return result.data;
    },
  };
}
