/**
 * Segment-compatible ingestion (README.md, "Integrate with your stack"): `POST /v1/batch`, `/v1/track`, `/v1/identify`,
 * `/v1/page`, so that shops already running Segment, RudderStack or Jitsu forward their events
 * unchanged. Authenticated as Segment's clients do (HTTP Basic, user name = a site API key, empty
 * password); answers `200 {"success": true}` as Segment's API does, also when some messages were
 * refused — those are listed with their reason in `GET /api/v1/rejected-events` (source `segment`
 * for messages that do not map, `server` for events ingestion refuses) and on the admin's Install page.
 *
 * Messages are mapped (mapping.ts) onto the trusted server-event path `ingestServerEvents`: the
 * same trust, validation and storage as `POST /api/v1/events`.
 *
 * `messageId` makes a retry harmless: each message's ID is claimed in `segment_messages` before
 * it is ingested (insert … on conflict do nothing returning), so a retried batch — or the same
 * batch arriving twice at once — is ingested once. Only an accepted message keeps its claim: the
 * IDs of refused messages are released after ingestion, so the corrected resend under the same ID
 * is applied; if ingestion fails, every claim is released so that the client's retry is not lost.
 */

import { z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { basicUser, findSiteByApiKey } from "../auth/api-keys";
import { rejectedStatement } from "../collect/apply-events";
import { scrubPayload } from "../collect/scrub";
import { runBatch, toD1 } from "../db/raw";
import type { AppEnv, Db, Site } from "../env";
import { apiError } from "../errors";
import { errorResponses, jsonBody, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { ingestServerEvents, MAX_SERVER_EVENTS } from "../server-events/ingest";
import { refuseWhileHeld } from "../shards/moves";
import type { ShardEnv } from "../shards/routing";
import { mapSegmentMessage } from "./mapping";

/** Segment's own limits: 500 KB per batch request (32 KB per message). */
const MAX_SEGMENT_BODY_BYTES = 500 * 1024;
const MAX_MESSAGE_ID = 200;

const UNAUTHORIZED_HEADERS = { "WWW-Authenticate": 'Basic realm="tagwerk"' };

/** HTTP Basic with the site's API key as user name (the Segment/RudderStack write key). */
const requireWriteKey = createMiddleware<AppEnv>(async function requireWriteKey(c, next) {
  const key = basicUser(c.req.header("Authorization"));
  if (!key) {
    throw apiError(
      401,
      "unauthorized",
      "Missing write key: send HTTP Basic with the site's API key as user name",
      UNAUTHORIZED_HEADERS,
    );
  }
  const found = await findSiteByApiKey(c.var.db, key);
  if (!found) throw apiError(401, "unauthorized", "Unknown or revoked API key", UNAUTHORIZED_HEADERS);
  c.set("site", found.site);
  // Admin and ingest-only keys alike send events (worker/auth/api-keys.ts); sending is a marketer's right.
  c.set("role", found.scope === "admin" ? "admin" : "marketer");
  await next();
});

/** Reads at most `max` bytes of a stream; more is a 413 (also guards against gzip bombs). */
async function readCapped(stream: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw apiError(413, "payload_too_large", `Body larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/**
 * RudderStack's Node client gzips its batches (`Content-Encoding: gzip`) and sends them without a
 * JSON content type: this hands the route's validator the plain JSON body it expects.
 */
const plainJsonBody = createMiddleware<AppEnv>(async function plainJsonBody(c, next) {
  const encoding = (c.req.header("Content-Encoding") ?? "identity").trim().toLowerCase();
  if (encoding !== "identity" && encoding !== "gzip") {
    throw apiError(400, "unsupported_encoding", "Content-Encoding must be gzip or absent");
  }
  let stream = c.req.raw.body ?? new Response("").body!;
  if (encoding === "gzip") stream = stream.pipeThrough(new DecompressionStream("gzip"));
  let body: Uint8Array;
  try {
    body = await readCapped(stream, MAX_SEGMENT_BODY_BYTES);
  } catch (error) {
    if (error instanceof TypeError) throw apiError(400, "invalid_body", "Body is not valid gzip");
    throw error;
  }
  const headers = new Headers(c.req.raw.headers);
  headers.delete("Content-Encoding");
  headers.set("Content-Type", "application/json");
  c.req.raw = new Request(c.req.raw.url, { method: "POST", headers, body });
  await next();
});

const Message = z.record(z.string(), z.unknown()).openapi("SegmentMessage", {
  description:
    "A message of the Segment spec: `type` (track, identify, page), `event`, `properties`, `userId` (the CRM " +
    "customer ID), `anonymousId` (the visitor's tw_id), `timestamp`, `messageId`. Each message is checked on " +
    "its own; a refused one is listed in GET /api/v1/rejected-events.",
  example: {
    type: "track",
    event: "Order Completed",
    userId: "C-1",
    anonymousId: "0123456789abcdef0123456789abcdef",
    messageId: "m-1",
    timestamp: "2026-01-01T00:00:00.000Z",
    properties: { order_id: "O-1", revenue: 99, currency: "EUR", coupon: "SAVE10", products: [{ product_id: "R-1" }] },
  },
});
/**
 * `{batch: [...]}` as the SDKs send it; a single message (with `type`) is taken too, as the
 * Segment Webhooks and RudderStack Webhook destinations post one event per request.
 */
const Batch = z
  .object({ batch: z.array(Message).max(5_000).optional() })
  .passthrough()
  .openapi("SegmentBatch", { description: "`{batch: [messages]}`, or one message" });
const Success = z.object({ success: z.literal(true) }).openapi("SegmentSuccess");

type Raw = Record<string, unknown>;

/** Claims the messageIds not seen before; returns the messages to ingest (in order) and the claims. */
async function claimMessages(db: Db, siteId: number, messages: unknown[], now: number) {
  const ids = messages.map((m) => {
    const messageId = typeof m === "object" && m !== null ? (m as Raw).messageId : undefined;
    return typeof messageId === "string" && messageId !== "" && messageId.length <= MAX_MESSAGE_ID ? messageId : null;
  });
  const wanted = [...new Set(ids.filter((id): id is string => id !== null))];
  const claimed = new Set<string>();
  if (wanted.length > 0) {
    const { results } = await toD1(db)
      .prepare(
        `insert into segment_messages (site_id, message_id, received_at)
         select ?1, value, ?2 from json_each(?3) where true
         on conflict (site_id, message_id) do nothing returning message_id`,
      )
      .bind(siteId, now, JSON.stringify(wanted))
      .all<{ message_id: string }>();
    for (const row of results) claimed.add(row.message_id);
  }
  // A message without a usable messageId cannot be recognised again: it is always ingested.
  const fresh: unknown[] = [];
  const taken = new Set<string>();
  messages.forEach((message, i) => {
    const id = ids[i];
    if (id === null) fresh.push(message);
    else if (claimed.has(id) && !taken.has(id)) {
      taken.add(id);
      fresh.push(message);
    }
  });
  return { fresh, claimed: [...claimed] };
}

async function releaseClaims(db: Db, siteId: number, claimed: string[]) {
  if (claimed.length === 0) return;
  await toD1(db)
    .prepare("delete from segment_messages where site_id = ?1 and message_id in (select value from json_each(?2))")
    .bind(siteId, JSON.stringify(claimed))
    .run();
}

/**
 * Maps, then ingests through the trusted server-event path; unmappable messages are recorded as rejected.
 * @internal Exported for tests; the Worker itself does not import it.
 */
export async function ingestSegmentMessages(
  env: ShardEnv,
  db: Db,
  archive: R2Bucket,
  site: Pick<Site, "id" | "key" | "consentMode" | "shards">,
  messages: unknown[],
  implied?: string,
  now = Date.now(),
) {
  const { fresh, claimed } = await claimMessages(db, site.id, messages, now);
  try {
    const events: unknown[] = [];
    /** The messageId of each mapped event, and those of refused messages (released again). */
    const eventIds: unknown[] = [];
    const unclaim: unknown[] = [];
    const refused: { message: unknown; reason: string }[] = [];
    for (const message of fresh) {
      const mapped = mapSegmentMessage(message, now, implied);
      const id = (message as Raw | null)?.messageId;
      if ("event" in mapped) {
        events.push(mapped.event);
        eventIds.push(id);
      } else {
        refused.push({ message, reason: mapped.reason });
        unclaim.push(id);
      }
    }
    let rejected = refused.length;
    for (let start = 0; start < events.length; start += MAX_SERVER_EVENTS) {
      const result = await ingestServerEvents(env, archive, site, events.slice(start, start + MAX_SERVER_EVENTS), now);
      rejected += result.rejected.length;
      for (const r of result.rejected) unclaim.push(eventIds[start + r.index]);
    }
    await releaseClaims(
      db,
      site.id,
      claimed.filter((id) => unclaim.includes(id)),
    );
    if (refused.length > 0) {
      const rows = await Promise.all(
        refused.map(async (r) => ({
          reason: r.reason,
          ...(await scrubPayload(r.message, site.id)),
          siteKey: site.key,
        })),
      );
      await runBatch(db, [rejectedStatement(site.id, "segment", rows, now)]);
    }
    return { received: messages.length, duplicates: messages.length - fresh.length, rejected };
  } catch (error) {
    await releaseClaims(db, site.id, claimed);
    throw error;
  }
}

export const segmentComIngestRoutes = createRouter();

const ENDPOINTS = [
  {
    path: "/v1/batch",
    operationId: "segmentBatch",
    type: undefined,
    summary: "Segment-compatible batch of track, identify and page messages",
  },
  {
    path: "/v1/track",
    operationId: "segmentTrack",
    type: "track",
    summary: "Segment-compatible track (e-commerce v2 names map onto tagwerk events)",
  },
  {
    path: "/v1/identify",
    operationId: "segmentIdentify",
    type: "identify",
    summary: "Segment-compatible identify (links anonymousId to userId)",
  },
  { path: "/v1/page", operationId: "segmentPage", type: "page", summary: "Segment-compatible page view" },
] as const;

for (const endpoint of ENDPOINTS) {
  const schema = endpoint.type === undefined ? Batch : Message;
  segmentComIngestRoutes.openapi(
    createRoute({
      method: "post",
      path: endpoint.path,
      operationId: endpoint.operationId,
      tags: ["Collect"],
      summary: endpoint.summary,
      description:
        "For Segment, RudderStack and Jitsu destinations and their server clients (`@segment/analytics-node` " +
        "with `host`, `@rudderstack/rudder-sdk-node` with `dataPlaneUrl`). Product Viewed → view, Product " +
        "Added/Removed → cart add/remove, Order Completed → purchase (CRM orders and revenue, coupon redeemed), " +
        "identify → trusted identify, other track → custom event, page → page. A message whose `messageId` was " +
        "seen in the last 7 days is skipped. Gzip bodies are accepted.",
      security: [{ segmentWriteKey: [] }],
      middleware: [requireWriteKey, plainJsonBody] as const,
      request: { body: jsonBody(schema) },
      responses: {
        200: jsonContent(Success, "Received (refused messages are listed in rejected events)"),
        ...errorResponses(400, 401, 413),
      },
    }),
    async (c) => {
      // A move holds the site's person writes for a few seconds (README.md, "Shards").
      refuseWhileHeld(c.var.site);
      const body = c.req.valid("json") as { batch?: unknown[] } & Raw;
      const single = body.batch === undefined && body.type !== undefined;
      const messages = endpoint.type === undefined && !single ? (body.batch ?? []) : [body];
      await ingestSegmentMessages(c.env, c.var.db, c.env.ARCHIVE, c.var.site, messages, endpoint.type);
      return c.json({ success: true as const }, 200);
    },
  );
}
