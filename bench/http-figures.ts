/**
 * The HTTP figures, all in one workerd and one run: the floors (empty handler, one keyed D1 read)
 * next to GET /b in the steady state, for a holder of a code, on first coupon claims and for an
 * anonymous browser, the D1 round trips per decision,
 * full logged impressions per second, and POST /e batches through the queue and direct.
 */
import { QUEUES } from "../worker/pipeline/queues";
import type { Fixture } from "./generate";
import { drained, snapshot, type Writes, writesSince } from "./ledger";
import { BROWSER_UA, type Figure, type LoadOptions, runPhase } from "./load";
import { median } from "./results";
import { type BenchWorker, cpuMsOf } from "./workerd";

/** Returning visitors of the steady phase: more than one 8-second phase shows on this machine. */
const STEADY_VISITORS = 5_000;

export type HttpFigures = {
  runs: Record<string, Figure[]>;
  median: Record<string, Figure>;
  /** D1 round trips made before the response, per request kind (median over samples). */
  roundTrips: Record<string, number>;
  /** D1 rows written before the response, per request kind (median over samples). */
  requestRowsWritten: Record<string, number>;
  /** What each phase that feeds D1 wrote, its consumer's work included, one entry per run. */
  writes: Record<string, Writes[]>;
  /** Impressions the consumer applied per second, load start to queue drained (median over runs). */
  loggedImpressionsPerSecond: number;
  /** Events the consumer applied per second through the queue (load start to drained). */
  queuedEventsAppliedPerSecond: number;
  statuses: Record<string, number>;
};

/** eventBatch sends one page view in every EVENTS_PER_PAGE events. */
export const EVENTS_PER_PAGE = 4;

/** Events per POST /e batch: the batch the ingest budget names (docs/architecture.md, "Budgets and where they are measured"). */
export const BATCH_SIZE = 20;

export function medianFigure(figures: Figure[]): Figure {
  const pick = (k: keyof Figure) => median(figures.map((f) => f[k]));
  return {
    rps: pick("rps"),
    p50: pick("p50"),
    p99: pick("p99"),
    ok: pick("ok"),
    non2xx: pick("non2xx"),
    errors: pick("errors"),
    sent: pick("sent"),
    cpuMicros: pick("cpuMicros"),
  };
}

export function eventBatch(n: number, now: number) {
  const events = [];
  for (let i = 0; i < n; i++) {
    const kind = i % EVENTS_PER_PAGE;
    const url = `https://shop.bench.example/p/${i}`;
    if (kind === 0) events.push({ type: "page", ts: now, url, ref: "" });
    else if (kind === 3)
      events.push({
        type: "cart",
        ts: now,
        url,
        props: { action: "add", sku: `SKU-${i}`, category: "rings", price: 49, qty: 1 },
      });
    else events.push({ type: "view", ts: now, url, props: { sku: `SKU-${i}`, category: "earrings", price: 120 } });
  }
  return events;
}

export async function measureHttp(
  worker: BenchWorker,
  fx: Fixture,
  load: Omit<LoadOptions, "url">,
  runs: number,
  /**
   * `smoke` (the tiny run inside `npm test`): of the pieces only the decision's D1 read, and a
   * shorter wait for the queues to settle — the figures of a smoke run mean nothing anyway.
   */
  smoke = false,
): Promise<HttpFigures> {
  // A phase has drained when nothing moved for longer than a queue holds a partial batch: the
  // events queue's timeout in a smoke run, every queue's (webhook checks follow event batches) otherwise.
  const timeouts = Object.values(QUEUES).map((q) => q.maxBatchTimeout * 1000);
  const settleMs = smoke ? QUEUES.events.maxBatchTimeout * 1000 + 200 : Math.max(...timeouts) + 500;
  const opts = { ...load, url: worker.url };
  const site = encodeURIComponent(fx.siteKey);
  const b = (placement: string) => () => `/b/${placement}?site=${site}&format=html`;
  // Fresh visitors: a slice for the round-trip samples, the rest split between the claim runs.
  const sampleFresh = fx.fresh.slice(0, 20);
  const perRun = Math.floor((fx.fresh.length - 20) / runs);
  const statuses: Record<string, number> = {};

  const probe = async (name: string, path: string, cookie?: string, init?: RequestInit) => {
    const res = await fetch(`${worker.url}${path}`, {
      ...init,
      headers: { "user-agent": BROWSER_UA, ...(init?.headers ?? {}), ...(cookie ? { cookie: `tw_id=${cookie}` } : {}) },
    });
    await res.arrayBuffer();
    statuses[name] = res.status;
    const header = (h: string) => Number(res.headers.get(h) ?? Number.NaN);
    return { calls: header("x-bench-d1-calls"), rows: header("x-bench-d1-rows-written") };
  };

  // Round trips and rows written per request, measured one request at a time (response headers
  // the bench worker adds).
  const roundTrips: Record<string, number> = {};
  const requestRowsWritten: Record<string, number> = {};
  const sample = async (name: string, path: string, cookies: string[], init?: RequestInit) => {
    const counted = [];
    for (const c of cookies.slice(0, 20)) counted.push(await probe(name, path, c, init));
    roundTrips[name] = median(counted.map((c) => c.calls));
    requestRowsWritten[name] = median(counted.map((c) => c.rows));
  };
  await sample("b_steady", b(fx.steadyPlacement)(), fx.all.slice(-20));
  await sample("b_holder", b(fx.claimPlacement)(), fx.holders.slice(0, 20));
  await sample("b_claim", b(fx.claimPlacement)(), sampleFresh);
  // A browser tagwerk does not know: no cookie (nor partner ID, nor token).
  await sample(
    "b_anon",
    b(fx.steadyPlacement)(),
    Array.from({ length: 20 }, () => ""),
  );
  const batch = JSON.stringify({ site: fx.siteKey, events: eventBatch(BATCH_SIZE, Date.now()) });
  const post = {
    method: "POST",
    body: batch,
    headers: { "content-type": "text/plain", origin: "https://shop.bench.example" },
  };
  await sample("e_queue", "/e", fx.all.slice(0, 20), post);
  await sample("e_direct", "/bench/direct/e", fx.all.slice(0, 20), post);
  await drained(worker, settleMs);

  const figures: Record<string, Figure[]> = {};
  const add = (name: string, f: Figure) => {
    figures[name] ??= [];
    figures[name].push(f);
  };
  const writes: Record<string, Writes[]> = {};
  /**
   * Runs a phase and charges it the workerd CPU time it caused, queue consumer included (phases
   * that feed D1 wait for the consumer to drain first, and record what they wrote). CPU per
   * request does not depend on what else the machine runs, unlike requests per second.
   */
  const phase = async (
    name: string,
    p: Parameters<typeof runPhase>[1],
    drain = false,
    /** Events each answered request wrote itself (the direct-write path). */
    eventsPerRequest = 0,
  ) => {
    const before = drain ? await snapshot(worker) : null;
    const cpu = cpuMsOf(worker.pid);
    const f = await runPhase(opts, p);
    const w = before ? await writesSince(worker, before, settleMs) : null;
    f.cpuMicros = ((cpuMsOf(worker.pid) - cpu) * 1000) / Math.max(1, f.ok + f.non2xx);
    add(name, f);
    if (w) {
      w.eventsDirect = f.ok * eventsPerRequest;
      writes[name] ??= [];
      writes[name].push(w);
    }
    return w;
  };
  // The steady state is returning visitors: a fixed set of them is shown the placement once
  // before the runs (what first exposures cost, recorded as `b_first`), and every run's steady
  // phase rotates through that set again — whatever each run's throughput on a busy machine.
  const steadySet = fx.all.slice(0, Math.min(fx.all.length, smoke ? 200 : STEADY_VISITORS));
  {
    const before = await snapshot(worker);
    const ms = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: load.connections }, async () => {
        while (next < steadySet.length) {
          const cookie = steadySet[next++];
          const res = await fetch(`${worker.url}${b(fx.steadyPlacement)()}`, {
            headers: { "user-agent": BROWSER_UA, cookie: `tw_id=${cookie}` },
          });
          await res.arrayBuffer();
        }
      }),
    );
    const w = await writesSince(worker, before, settleMs);
    writes.b_first = [{ ...w, ms: performance.now() - ms }];
  }
  const logged: number[] = [];
  const applied: number[] = [];
  const eHeaders = { "content-type": "text/plain", origin: "https://shop.bench.example" };
  for (let run = 0; run < runs; run++) {
    await phase("empty", { path: () => "/bench/empty" });
    await phase("one_read", { path: (i) => `/bench/one-read?s=${fx.siteId}&c=${fx.all[i % fx.all.length]}` });

    // Where a decision's time goes: its pieces on their own, in the same workerd.
    const cookie = (i: number) => fx.all[i % fx.all.length];
    await phase("part_load", { path: (i) => `/bench/part/load?c=${cookie(i)}` });
    if (!smoke) {
      await phase("part_app", { path: () => "/healthz" });
      await phase("part_app0", { path: () => "/t.js" });
      await phase("part_decide", { path: () => `/bench/part/decide?p=${fx.steadyPlacement}` });
      await phase("part_reads1", { path: (i) => `/bench/part/reads?n=1&c=${cookie(i)}` });
      await phase("part_reads7", { path: (i) => `/bench/part/reads?n=7&c=${cookie(i)}` });
      await phase("part_sign", { path: (i) => `/bench/part/sign?c=${cookie(i)}` });
      await phase("part_limit", { path: (i) => `/bench/part/limit?c=${cookie(i)}` });
      await phase("part_queue", { path: (i) => `/bench/part/queue?c=${cookie(i)}` }, true);
    }

    await drained(worker, settleMs);
    const steady = await phase("b_steady", { path: b(fx.steadyPlacement), cookies: steadySet }, true);
    if (steady) logged.push(steady.impressions / (steady.ms / 1000));

    await phase("b_holder", { path: b(fx.claimPlacement), cookies: fx.holders }, true);
    const fresh = fx.fresh.slice(20 + run * perRun, 20 + (run + 1) * perRun);
    await phase("b_claim", { path: b(fx.claimPlacement), cookies: fresh, once: true }, true);
    await phase("b_anon", { path: b(fx.steadyPlacement) }, true);

    await phase(
      "e_direct",
      { method: "POST", path: () => "/bench/direct/e", cookies: fx.all, headers: eHeaders, body: batch },
      true,
      BATCH_SIZE,
    );
    const queued = await phase(
      "e_queue",
      { method: "POST", path: () => "/e", cookies: fx.all, headers: eHeaders, body: batch },
      true,
    );
    if (queued) applied.push(queued.eventsQueued / (queued.ms / 1000));
  }
  const medians = Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, medianFigure(v)]));
  return {
    runs: figures,
    median: medians,
    roundTrips,
    requestRowsWritten,
    writes,
    loggedImpressionsPerSecond: median(logged),
    queuedEventsAppliedPerSecond: median(applied),
    statuses,
  };
}
