/**
 * Same-origin serving in `npm run dev` (docs/architecture.md, "Same-origin serving"): the demo shop forwards
 * everything under its `/_tw` to the Worker, as a Workers route `shop.example/_tw/*` does in
 * production. The tag, its cookie, banners and clicks are then all of the shop's own origin.
 * The Worker runs with BASE_PATH=/_tw and takes the prefix off itself. The shop's Host header is
 * passed on, so the URLs the Worker mints (click URLs) name the shop's origin as behind a route —
 * through node:http, because fetch (undici) replaces a Host header with the target's.
 */
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import type { Context } from "hono";

/** Headers that describe the hop, not the message (RFC 9110 §7.6.1). */
const HOP_HEADERS = ["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection"];

function responseHeaders(incoming: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_HEADERS.includes(name)) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return headers;
}

export function proxyToEdge(workerUrl: string) {
  const target = new URL(workerUrl);
  return async function proxy(c: Context): Promise<Response> {
    const incoming = new URL(c.req.url);
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((value, name) => {
      if (!HOP_HEADERS.includes(name)) headers[name] = value;
    });
    headers.host = incoming.host;
    const body = c.req.method === "GET" || c.req.method === "HEAD" ? null : Buffer.from(await c.req.arrayBuffer());
    if (body) headers["content-length"] = String(body.length);
    return new Promise<Response>((resolve, reject) => {
      const upstream = httpRequest(
        {
          hostname: target.hostname,
          port: target.port,
          method: c.req.method,
          path: incoming.pathname + incoming.search,
          headers,
        },
        (res) => {
          const status = res.statusCode ?? 502;
          const empty = status === 204 || status === 304 || c.req.method === "HEAD";
          resolve(
            new Response(empty ? null : (Readable.toWeb(res) as ReadableStream), {
              status,
              headers: responseHeaders(res.headers),
            }),
          );
        },
      );
      upstream.on("error", reject);
      upstream.end(body ?? undefined);
    });
  };
}
