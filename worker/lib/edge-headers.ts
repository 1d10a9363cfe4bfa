/**
 * The headers every response of the Worker carries, as Hono middleware: the request ID
 * (`X-Request-Id`) and the security headers. Mounted by the app (worker/index.ts) and run by the
 * banner's fast path ahead of it (worker/decide/fast-path.ts), so that both answer alike.
 */
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";

export const requestIds = requestId();

export const edgeSecureHeaders = secureHeaders({
  // Creatives (/b) are framed by ad networks and the tag (/t.js) is loaded by shops: both are
  // cross-origin by design. The admin UI sets its own stricter frame and CSP headers.
  xFrameOptions: false,
  crossOriginResourcePolicy: "cross-origin",
  crossOriginOpenerPolicy: false,
});
