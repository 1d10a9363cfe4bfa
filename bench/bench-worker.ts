/**
 * Bench-only Worker entry (never shipped: wrangler.toml's `main` stays worker/index.ts). It wraps
 * the real Worker so that, in the same workerd and the same run, the benchmark can compare a
 * decision with the floors it is measured against:
 *   /bench/empty      — answers without touching anything (the runtime's own ceiling);
 *   /bench/one-read   — one keyed D1 read of a visitor (the floor of any personalised decision);
 *   /bench/direct/e   — POST /e with the queue binding removed, i.e. the direct-write path;
 *   /bench/d1-count   — D1 round trips counted since the isolate started (GET) or reset (DELETE);
 *   /bench/consume    — POST a JSON array of events-queue messages: the real consumer
 *                       (consumeEventsBatch) writes them as one delivery; answers how many it acked.
 *                       The look-alike bench applies its generated tag batches through it.
 *   /bench/part/NAME  — one piece of a decision on its own, to see where a decision's time goes:
 *                       `load` (the decision's D1 read), `decide` (decide() for an anonymous
 *                       browser, outside the app, impression not recorded), `reads?n=` (n keyed
 *                       reads of a whole visitor row in one batch), `sign` (the click
 *                       token), `queue` (sending the impression message), `app` (/healthz through
 *                       the Hono app: routing, middleware, one trivial D1 statement).
 * Every other request goes to the real Worker with a D1 binding that counts round trips; each
 * response carries `x-bench-d1-calls`, the round trips made before the response was returned.
 */
import { mintClickToken } from "../worker/clicks/tokens";
import { createDb } from "../worker/db/client";
import { decide } from "../worker/decide/decision-path";
import { loadDecisionState } from "../worker/decide/load";
import worker from "../worker/index";
import { consumeEventsBatch } from "../worker/pipeline/events-consumer";
import type { EventsQueueMessage } from "../worker/pipeline/messages";
import { recordDecisionMessage } from "../worker/pipeline/producers";
import { QUEUES } from "../worker/pipeline/queues";

/** `sql` is filled only for a request sent with `x-bench-trace: 1` (the round trips' SQL, for the report). */
type Counter = { calls: number; sql?: string[] };
const total: Counter = { calls: 0 };

function note(counters: Counter[], what: string) {
  for (const c of counters) {
    c.calls++;
    c.sql?.push(what.replace(/\s+/g, " ").slice(0, 6000));
  }
}

/**
 * Counts every D1 round trip: a statement's first/all/run/raw, a batch, an exec. D1's statement
 * objects carry private state that `batch` reads, so the wrapper unwraps them before batching.
 */
class CountingStatement {
  constructor(
    readonly real: D1PreparedStatement,
    private readonly counters: Counter[],
    private readonly query: string,
    private readonly values: unknown[] = [],
  ) {}
  /** The statement with its bound values, for a traced request. */
  traced() {
    return `${this.query} -- ${JSON.stringify(this.values)}`;
  }
  private count() {
    note(this.counters, this.traced());
  }
  bind(...values: unknown[]) {
    return new CountingStatement(this.real.bind(...values), this.counters, this.query, values);
  }
  first(column?: string) {
    this.count();
    return column === undefined ? this.real.first() : this.real.first(column);
  }
  all() {
    this.count();
    return this.real.all();
  }
  run() {
    this.count();
    return this.real.run();
  }
  raw(options?: { columnNames?: boolean }) {
    this.count();
    // biome-ignore lint/suspicious/noExplicitAny: D1's raw() overloads differ only in their options type.
    return this.real.raw(options as any);
  }
}

type Batchable = Pick<D1Database, "prepare" | "batch">;

function unwrap(statements: (D1PreparedStatement | CountingStatement)[]) {
  return statements.map((s) => (s instanceof CountingStatement ? s.real : s));
}

function describeBatch(statements: (D1PreparedStatement | CountingStatement)[]) {
  const parts = statements.map((s) => (s instanceof CountingStatement ? s.traced() : "?"));
  return `batch[${statements.length}]: ${parts.join(" ;; ")}`;
}

/** What a D1 binding and a D1 session share: statements and batches, both counted. */
class CountingBatcher<T extends Batchable> {
  constructor(
    protected readonly real: T,
    protected readonly counters: Counter[],
  ) {}
  prepare(query: string) {
    return new CountingStatement(this.real.prepare(query), this.counters, query);
  }
  batch(statements: (D1PreparedStatement | CountingStatement)[]) {
    note(this.counters, describeBatch(statements));
    return this.real.batch(unwrap(statements));
  }
}

class CountingSession extends CountingBatcher<D1DatabaseSession> {
  getBookmark() {
    return this.real.getBookmark();
  }
}

class CountingDb extends CountingBatcher<D1Database> {
  exec(query: string) {
    note(this.counters, query);
    return this.real.exec(query);
  }
  dump() {
    return this.real.dump();
  }
  withSession(constraintOrBookmark?: string) {
    return new CountingSession(this.real.withSession(constraintOrBookmark), this.counters);
  }
}

function countingEnv(env: Env, request: Counter): Env {
  const db = new CountingDb(env.DB, [total, request]) as unknown as D1Database & Batchable;
  return { ...env, DB: db };
}

async function part(url: URL, env: Env): Promise<Response> {
  const cookie = url.searchParams.get("c") ?? "";
  const now = Date.now();
  switch (url.pathname.slice("/bench/part/".length)) {
    case "load": {
      const state = await loadDecisionState(createDb(env.DB), "bench", { cookieId: cookie, partner: null }, now);
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
    case "queue": {
      const uid = crypto.randomUUID().replaceAll("-", "");
      // The producer /b's ungrouped path uses (worker/pipeline/producers.ts): one send.
      await recordDecisionMessage(env, {
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
  await consumeEventsBatch(batch, env);
  return Response.json({ acked, messages: bodies.length });
}

export default {
  async fetch(req: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === "/bench/empty") return new Response("ok");
    if (url.pathname === "/bench/one-read") {
      // The same kind of keyed read the decision starts with: one visitor by (site, cookie).
      const row = await env.DB.prepare("select id, visits from visitors where site_id = ? and cookie_id = ?")
        .bind(Number(url.searchParams.get("s") ?? 1), url.searchParams.get("c") ?? "")
        .first();
      total.calls++;
      return Response.json(row);
    }
    if (url.pathname.startsWith("/bench/part/")) return part(url, env);
    if (url.pathname === "/bench/consume" && req.method === "POST") return consume(req, env);
    if (url.pathname === "/bench/d1-count") {
      if (req.method === "DELETE") total.calls = 0;
      return Response.json({ calls: total.calls });
    }
    const request: Counter = { calls: 0, sql: req.headers.get("x-bench-trace") ? [] : undefined };
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
    if (request.sql) counted.headers.set("x-bench-d1-sql", JSON.stringify(request.sql));
    return counted;
  },
  queue(batch: MessageBatch, env: Env) {
    return worker.queue(batch as Parameters<typeof worker.queue>[0], countingEnv(env, { calls: 0 }));
  },
} satisfies ExportedHandler<Env>;
