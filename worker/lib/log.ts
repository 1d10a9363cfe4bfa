/**
 * The Worker's one logger: a JSON line per entry with the same keys everywhere — `level`, `event`
 * (a fixed name, never request text), `requestId`, `site`, `error` — so that Workers Logs and
 * `wrangler tail` show them as fields to filter on instead of text to grep. Console output is what
 * Workers Logs collect (a JSON object logged as one string is parsed into fields), which is why
 * this is a dozen lines rather than a logging library. No personal data: callers pass IDs, keys
 * and error messages, never payloads, addresses or cookies (SECURITY.md).
 */

type LogFields = {
  /** The request's X-Request-Id (hono/request-id), when the entry belongs to a request. */
  requestId?: string;
  /** The site's ID (or, before it is known, its key). */
  site?: number | string;
  error?: unknown;
  [detail: string]: unknown;
};

/** Logs a failure that was handled (a fallback ran, a retry will follow) or answered 500. */
export function logError(event: string, fields: LogFields = {}) {
  const { error, ...details } = fields;
  const entry: Record<string, unknown> = { level: "error", event, ...details };
  if (error !== undefined) entry.error = String(error);
  console.error(JSON.stringify(entry));
}
