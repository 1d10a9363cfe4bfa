/**
 * A rendered creative as its own document, for the admin's preview frames (the creative editor's
 * and the explain page's). It gets its own sandboxed policy instead of the admin's: an inline
 * `srcdoc` would inherit the admin page's CSP and lose the creative's inline styles, and the
 * creative's markup must never run with the admin origin's privileges.
 */
import type { Context } from "hono";
import { html, raw } from "hono/html";

const FRAME_CSP =
  "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; font-src https: data:; sandbox; frame-ancestors 'self'";

/** Paths that serve such frames: the admin's own CSP and X-Frame-Options are not applied to them. */
export const PREVIEW_FRAME_PATH = "/admin/creatives/preview-frame";
export const EXPLAIN_FRAME_PATH = "/admin/explain/frame";
export const FRAME_PATHS = new Set([PREVIEW_FRAME_PATH, EXPLAIN_FRAME_PATH]);

export function creativeFrame(
  c: Context,
  format: string,
  body: string | Record<string, unknown>,
): Response | Promise<Response> {
  c.header("Content-Security-Policy", FRAME_CSP);
  c.header("Cache-Control", "no-store");
  if (format === "svg") return c.body(String(body), 200, { "Content-Type": "image/svg+xml; charset=utf-8" });
  if (format === "json") {
    return c.html(
      html`<!doctype html><meta charset="utf-8"><pre style="margin:8px;font:12px monospace">${JSON.stringify(body, null, 2)}</pre>`,
    );
  }
  // The rendered creative is the decision path's output: its values are already escaped.
  return c.html(
    html`<!doctype html><meta charset="utf-8"><style>html,body{margin:0}</style><body>${raw(String(body))}</body>`,
  );
}

/** A message in place of a creative (invalid template, nothing to show). */
export function frameMessage(c: Context, message: string, status: 200 | 400 = 400): Response | Promise<Response> {
  c.header("Content-Security-Policy", FRAME_CSP);
  c.header("Cache-Control", "no-store");
  return c.html(
    html`<!doctype html><meta charset="utf-8"><body style="font:14px sans-serif;color:#5b6475;margin:8px">${message}</body>`,
    status,
  );
}
