/**
 * One error shape for the whole public contract: `{"error": {"code", "message"}}`.
 * Code throws `apiError(...)` (an HTTPException); `onError` answers it; unknown errors are logged
 * with the request ID and answered 500 without leaking their message.
 */
import type { Hook } from "@hono/zod-openapi";
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "./env";
import { logError } from "./lib/log";

const DEFAULT_CODES: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  410: "gone",
  413: "payload_too_large",
  415: "unsupported_media_type",
  422: "unprocessable",
  429: "rate_limited",
  500: "internal",
  503: "unavailable",
};

export type ErrorBody = { error: { code: string; message: string } };

export function apiError(
  status: ContentfulStatusCode,
  code: string,
  message: string,
  headers?: Record<string, string>,
): HTTPException {
  const res = headers ? new Response(null, { status, headers }) : undefined;
  return new HTTPException(status, { message, cause: { code }, res });
}

export function errorBody(status: number, message: string, code?: string): ErrorBody {
  return { error: { code: code ?? DEFAULT_CODES[status] ?? "error", message } };
}

function codeOf(err: HTTPException): string | undefined {
  const cause = err.cause as { code?: unknown } | undefined;
  return typeof cause?.code === "string" ? cause.code : undefined;
}

export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof HTTPException) {
    const status = err.status;
    const response = c.json(errorBody(status, err.message || "Request failed", codeOf(err)), status);
    // Keep headers an HTTPException was built with (e.g. WWW-Authenticate).
    const original = err.getResponse();
    original.headers.forEach((value, name) => {
      if (name !== "content-type" && name !== "content-length") response.headers.set(name, value);
    });
    return response;
  }
  logError("request.failed", { requestId: c.var.requestId, error: err, stack: (err as Error)?.stack });
  return c.json(errorBody(500, "Internal error; quote the X-Request-Id header when reporting it"), 500);
};

export const notFound: NotFoundHandler<AppEnv> = (c) =>
  c.json(errorBody(404, `No route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404);

/**
 * Route-schema validation failures: 400 naming the first offending field and what was wrong,
 * e.g. `holdout: Too big: expected number to be <=1`.
 */
export const validationHook: Hook<unknown, AppEnv, string, unknown> = (result, _c: Context<AppEnv>) => {
  if (result.success) return;
  const issues = result.error.issues;
  const message = issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "body"}: ${issue.message}`)
    .join("; ");
  throw apiError(400, "validation_failed", message || "Invalid request");
};
