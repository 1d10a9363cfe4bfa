/**
 * Bench-only Worker entry (never shipped: wrangler.toml's `main` stays worker/index.ts). It wraps
 * the real Worker so that, in the same workerd and the same run, the benchmark can compare a
 * decision with the floors it is measured against:
 *   /bench/empty      — answers without touching anything (the runtime's own ceiling);
 *   /bench/one-read   — one keyed D1 read of a visitor (the floor of any personalised decision);
 *   /bench/direct/e   — POST /e with the queue binding removed, i.e. the direct-write path;
 *   /bench/ledger     — since the isolate started (GET) or since reset (DELETE): D1 round trips and
 *                       rows written (D1's meta.rows_written, bench/d1-meter.ts) by requests and
 *                       queue consumers together, and what the consumers applied (messages by
 *                       kind, events) with the deliveries still running;
 *   /bench/forget-learned — POST: the isolate's learned offers are read again on the next banner,
 *                       as they are 30 s later (decide/offers.ts); the next-best-offer simulation
 *                       (bench/offers.ts) ends each simulated day — far more than 30 s — with it.
 *   /bench/consume    — POST a JSON array of events-queue messages: the real consumer
 *                       (consumeEventsBatch) writes them as one delivery; answers how many it acked.
 *                       The look-alike bench applies its generated tag batches through it.
 *   /bench/part/NAME  — one piece of a decision on its own, to see where a decision's time goes:
 *                       `load` (the decision's D1 read), `decide` (decide() for an anonymous
 *                       browser, outside the app, impression not recorded), `reads?n=` (n keyed
 *                       reads of a whole visitor row in one batch), `sign` (the click
 *                       token), `limit` (asking the banner rate limiter), `queue` (sending the
 *                       impression message), `app` (/healthz through
 *                       the Hono app: routing, middleware, one trivial D1 statement).
 * Every other request, and every queue delivery, goes to the real Worker with its D1 bindings
 * metered; each response carries `x-bench-d1-calls` and `x-bench-d1-rows-written`, the round trips
 * made and the rows they wrote before the response was returned, and `x-bench-d1-bindings` (round
 * trips per D1 binding) and `x-bench-d1-rows-returned` (rows the statements answered).
 */
import { mintClickToken } from "../worker/clicks/tokens";
import { createDb } from "../worker/db/client";
import { decide } from "../worker/decide/decision-path";
import { loadDecisionState } from "../worker/decide/load";
import { clearLearnedOffers } from "../worker/decide/offers";
import worker from "../worker/index";
import { consumeEventsBatch } from "../worker/pipeline/events-consumer";
import type { EventsQueueMessage } from "../worker/pipeline/messages";
import { sendBannerMessage } from "../worker/pipeline/producers";
import { QUEUES } from "../worker/pipeline/queues";
import { type Meter, meteredEnv, newMeter } from "./d1-meter";

/** Every D1 round trip and row written since the isolate started (or /bench/ledger was reset). */
const total = newMeter();

/**
 * What the queue consumers applied since then: messages by `kind` (acknowledged, explicitly or by
 * returning), the events those messages carried, and deliveries still running — the bench reads it
 * to know when the consumer has drained a phase's work, without counting any table's rows.
 */
const consumed = { deliveries: 0, inFlight: 0, messages: {} as Record<string, number>, events: 0 };

function resetLedger() {
  Object.assign(total, newMeter());
  Object.assign(consumed, { deliveries: 0, messages: {}, events: 0 });
}

/** Counts what a delivery applied: the messages neither retried nor left unacknowledged by a throw. */
function noteApplied(messages: readonly Message<unknown>[], applied: (i: number) => boolean) {
  messages.forEach((message, i) => {
    if (!applied(i)) return;
    const body = message.body as { kind?: unknown; events?: unknown; items?: unknown } | null;
    const kind = typeof body?.kind === "string" ? body.kind : "untyped";
    consumed.messages[kind] = (consumed.messages[kind] ?? 0) + 1;
    // An isolate's impressions and clicks travel as one group message (worker/pipeline/producers.ts).
    if (kind === "decisions" && Array.isArray(body?.items)) {
      for (const item of body.items as { kind: string }[]) {
        consumed.messages[item.kind] = (consumed.messages[item.kind] ?? 0) + 1;
      }
    }
    if (Array.isArray(body?.events)) consumed.events += body.events.length;
  });
}

/** Hands a delivery to `consume` through a batch that remembers which messages were acked or retried. */
async function metered(batch: MessageBatch, consume: (batch: MessageBatch) => Promise<void>) {
  const acked = new Set<number>();
  const retried = new Set<number>();
  let all: "acked" | "retried" | null = null;
  const messages = batch.messages.map((m, i) => ({
    id: m.id,
    timestamp: m.timestamp,
    body: m.body,
    attempts: m.attempts,
    ack: () => {
      acked.add(i);
      m.ack();
    },
    retry: (options?: QueueRetryOptions) => {
      retried.add(i);
      m.retry(options);
    },
  }));
  const view = {
    queue: batch.queue,
    messages,
    ackAll: () => {
      all ??= "acked";
      batch.ackAll();
    },
    retryAll: (options?: QueueRetryOptions) => {
      all ??= "retried";
      batch.retryAll(options);
    },
  } as unknown as MessageBatch;
  consumed.inFlight++;
  try {
    await consume(view);
    noteApplied(messages, (i) => all !== "retried" && !retried.has(i));
  } catch (error) {
    noteApplied(messages, (i) => all === "acked" || acked.has(i));
    throw error;
  } finally {
    consumed.deliveries++;
    consumed.inFlight--;
  }
}

function countingEnv(env: Env, request: Meter): Env {
  return meteredEnv(env, [total, request]);
}

async function part(url: URL, env: Env): Promise<Response> {
  const cookie = url.searchParams.get("c") ?? "";
  const now = Date.now();
  switch (url.pathname.slice("/bench/part/".length)) {
    case "load": {
      const state = await loadDecisionState(createDb(env.DB), env, "bench", { cookieId: cookie, partner: null }, now);
      return Response.json({ visitor: state.visitor?.id ?? null });
    }
    case "decide": {
      // decide() for an anonymous browser, outside the Hono app and without recording the
      // impression: rules from the isolate, choice, click token, render — no D1 once warm.
      const out = await decide(env, createDb(env.DB), {
        siteKey: "bench",
        placement: url.searchParams.get("p") ?? "p0",
        format: "html",
        cookie: undefined,
        token: undefined,
        partner: null,
        clickMacro: undefined,
        userAgent: undefined,
        country: undefined,
        origin: url.origin,
        now,
      });
      if (out.kind !== "banner") return new Response("unknown site", { status: 404 });
      return new Response(out.rendered.body, { headers: { "content-type": out.rendered.contentType } });
    }
    case "reads": {
      // n keyed reads in one batch: what a statement costs inside one round trip.
      const n = Number(url.searchParams.get("n") ?? 7);
      const read = env.DB.prepare("select * from visitors where site_id = ? and cookie_id = ?").bind(1, cookie);
      const results = await env.DB.batch(Array.from({ length: n }, () => read));
      return Response.json({ n: results.length });
    }
    case "sign": {
      const claims = {
        site: "bench",
        siteId: 1,
        impression: cookie,
        ruleId: 1,
        landingUrl: "https://shop.bench.example/",
        coupon: null,
        couponParam: "coupon",
      };
      return new Response(await mintClickToken(env.SIGNING_SECRET, claims, now));
    }
    case "limit": {
      // The per-IP banner limiter every /b asks (a binding call; in Miniflare a call into its own worker).
      const { success } = await env.BANNER_RATE_LIMITER.limit({ key: `bench|${cookie}` });
      return new Response(success ? "allowed" : "limited");
    }
    case "queue": {
      const uid = crypto.randomUUID().replaceAll("-", "");
      // The producer /b's ungrouped path uses (worker/pipeline/producers.ts): one send.
      await sendBannerMessage(env, {
        kind: "impression",
        siteId: 1,
        uid,
        placement: "p0",
        ruleId: null,
        creativeId: null,
        cookieId: cookie,
        couponId: null,
        holdout: false,
        ts: now,
      });
      return new Response("queued");
    }
    default:
      return new Response("unknown part", { status: 404 });
  }
}

/** One queue delivery of the posted messages, through the Worker's own consumer. */
async function consume(req: Request, env: Env): Promise<Response> {
  const bodies = (await req.json()) as EventsQueueMessage[];
  let acked = 0;
  const messages = bodies.map((body, i) => ({
    id: String(i),
    timestamp: new Date(),
    body,
    attempts: 1,
    ack: () => {
      acked++;
    },
    retry: () => {},
  }));
  // A delivery as the runtime hands it over, minus what the consumer never reads (metadata).
  const batch = {
    queue: QUEUES.events.name,
    messages,
    ackAll() {},
    retryAll() {},
  } as unknown as MessageBatch<EventsQueueMessage>;
  await metered(batch, (view) =>
    consumeEventsBatch(view as MessageBatch<EventsQueueMessage>, countingEnv(env, newMeter())),
  );
  return Response.json({ acked, messages: bodies.length });
}

export default {
  async fetch(req: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === "/bench/empty") return new Response("ok");
    if (url.pathname === "/bench/one-read") {
      // The same kind of keyed read the decision starts with: one visitor by (site, cookie),
      // through the same metering wrapper of the binding that every /b request goes through.
      const db = countingEnv(env, newMeter()).DB;
      const row = await db
        .prepare("select id, visits from visitors where site_id = ? and cookie_id = ?")
        .bind(Number(url.searchParams.get("s") ?? 1), url.searchParams.get("c") ?? "")
        .first();
      return Response.json(row);
    }
    if (url.pathname.startsWith("/bench/part/")) return part(url, env);
    if (url.pathname === "/bench/consume" && req.method === "POST") return consume(req, env);
    if (url.pathname === "/bench/forget-learned" && req.method === "POST") {
      clearLearnedOffers();
      return new Response(null, { status: 204 });
    }
    if (url.pathname === "/bench/ledger") {
      if (req.method === "DELETE") resetLedger();
      const { sql: _sql, ...d1 } = total;
      return Response.json({ d1, consumed });
    }
    const request = newMeter(req.headers.get("x-bench-trace") !== null);
    let target = req;
    let workerEnv = countingEnv(env, request);
    if (url.pathname === "/bench/direct/e") {
      target = new Request(new URL(`/e${url.search}`, url), req);
      const { EVENTS_QUEUE: _queue, ...direct } = workerEnv as Env & { EVENTS_QUEUE?: unknown };
      workerEnv = direct as Env;
    }
    const res = await worker.fetch(target, workerEnv, ctx);
    const counted = new Response(res.body, res);
    counted.headers.set("x-bench-d1-calls", String(request.calls));
    counted.headers.set("x-bench-d1-rows-written", String(request.rowsWritten));
    // Which databases the request asked (round trips per binding) and how many rows they answered.
    counted.headers.set("x-bench-d1-bindings", JSON.stringify(request.byBinding));
    counted.headers.set("x-bench-d1-rows-returned", String(request.rowsReturned));
    if (request.sql) counted.headers.set("x-bench-d1-sql", JSON.stringify(request.sql));
    return counted;
  },
  queue(batch: MessageBatch, env: Env) {
    return metered(batch, (view) =>
      worker.queue(view as Parameters<typeof worker.queue>[0], countingEnv(env, newMeter())),
    );
  },
} satisfies ExportedHandler<Env>;
