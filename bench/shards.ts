/**
 * The shard comparison (`npm run bench -- --shards`; docs/architecture.md, "Budgets and where they are measured"): the same
 * generated bench shop twice, once with its people on one PEOPLE shard (`sites.shards = [0]`) and
 * once spread over four (`[0,1,2,3]`), each in its own workerd with its own local D1s, both up at
 * once and loaded in turn (the order alternating between runs), so that the two layouts share
 * whatever else the machine does. Per layout: `/b` steady state for returning visitors, events
 * through POST /e and the queue consumer, and events written directly (the queue refused); workerd
 * CPU per request and per event from /proc; the D1 round trips of a steady `/b` per binding and
 * the rows they answered (one read of one row, on the shard the routing module names for the
 * cookie); and the bytes a visitor takes on a shard (D1's `meta.size_after`).
 *
 * Budget: over 4 shards at most 5 % more workerd CPU per request (and per event) than on 1.
 */
import { join } from "node:path";
import { QUEUES } from "../worker/pipeline/queues";
import { shardBindingName, shardOf } from "../worker/shards/routing";
import { type Fixture, generateBenchData, type Scale } from "./generate";
import { BATCH_SIZE, EVENTS_PER_PAGE, eventBatch, medianFigure } from "./http-figures";
import { drained, snapshot, writesSince } from "./ledger";
import { BROWSER_UA, type Figure, type LoadOptions, runPhase } from "./load";
import { fmt, median, verdict, writeSection } from "./results";
import { type BenchWorker, cpuMsOf, startBenchWorker } from "./workerd";

/** The two layouts compared: the shop on one shard, and the same people over four. */
const LAYOUTS = [
  { key: "one", shards: [0] },
  { key: "four", shards: [0, 1, 2, 3] },
] as const;
type LayoutKey = (typeof LAYOUTS)[number]["key"];

/** At most this much more workerd CPU per request or event over 4 shards than over 1 (docs/architecture.md, "Budgets and where they are measured"). */
const CPU_BUDGET = 1.05;

/** Returning visitors of the steady phase, as in bench/http-figures.ts. */
const STEADY_VISITORS = 5_000;

/** D1's limit per database (Cloudflare's D1 limits: 10 GB), in the bytes `meta.size_after` counts. */
const D1_LIMIT_BYTES = 10e9;

/** The phases measured per layout. */
const PHASES = ["b_steady", "e_queue", "e_direct"] as const;
type PhaseKey = (typeof PHASES)[number];

/** One steady `/b` as the meter saw it: round trips per binding and the rows they answered. */
type ReadSample = {
  calls: number;
  rowsReturned: number;
  bindings: Record<string, number>;
  /** The binding the routing module names for the cookie (HOME's `DB` for a null set). */
  expected: string;
};

type LayoutFigures = {
  shards: number[];
  generationMs: number;
  /** Bytes of every D1 after loading the people: HOME's `DB` and each `PEOPLE_k`. */
  bytes: Record<string, number>;
  runs: Record<PhaseKey, Figure[]>;
  median: Record<PhaseKey, Figure>;
  /** D1 round trips per answered request, the consumer's included, per run: in all and per binding. */
  trips: Record<PhaseKey, { calls: number; byBinding: Record<string, number> }[]>;
  reads: ReadSample[];
  statuses: Record<string, number>;
};

export type ShardFigures = {
  scale: Pick<Scale, "visitors" | "customers">;
  load: Omit<LoadOptions, "url"> & { runs: number };
  /** Bytes of a migrated PEOPLE shard that holds nobody (a shard outside the one-shard set). */
  emptyShardBytes: number;
  layouts: Record<LayoutKey, LayoutFigures>;
  move: MoveFigures | null;
  /** When the measurement ended (ISO), and the machine it ran on (bench/results.ts, machine()). */
  measuredAt: string;
  machine?: Record<string, unknown>;
};

/** A D1 binding of a PEOPLE shard (not HOME's `DB`). */
const isShardBinding = (name: string) => name !== "DB";
const bindingOf = shardBindingName;

async function sizes(worker: BenchWorker): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, db] of Object.entries(worker.databases)) {
    out[name] = Number((await db.prepare("select 1").run()).meta.size_after ?? 0);
  }
  return out;
}

/** What the people of the set take, beyond what each of its shards takes empty. */
function peopleBytes(f: ShardFigures, key: LayoutKey) {
  const l = f.layouts[key];
  return l.shards.reduce((sum, k) => sum + (l.bytes[bindingOf(k)] ?? 0) - f.emptyShardBytes, 0);
}

/** The comparison's verdicts: CPU ratio per phase, and /b's reads. */
export function shardVerdicts(f: ShardFigures) {
  const one = f.layouts.one.median;
  const four = f.layouts.four.median;
  const phases = PHASES.map((key) => {
    const cpuRatio = four[key].cpuMicros / one[key].cpuMicros;
    const rpsRatio = four[key].rps / one[key].rps;
    return { key, cpuRatio, rpsRatio, pass: cpuRatio <= CPU_BUDGET };
  });
  // As the decision bench counts round trips (bench/http-figures.ts): the median request is one
  // statement answering one row; and every request reads the cookie's own shard exactly once and
  // no other shard. HOME may be asked now and then: the isolates refresh what they cache of it.
  const readsOf = (key: LayoutKey) => {
    const samples = f.layouts[key].reads;
    const onOwnShard = samples.every(
      (s) =>
        s.bindings[s.expected] === 1 && Object.keys(s.bindings).every((b) => b === s.expected || !isShardBinding(b)),
    );
    const oneRead =
      samples.length > 0 &&
      onOwnShard &&
      median(samples.map((s) => s.calls)) === 1 &&
      median(samples.map((s) => s.rowsReturned)) <= 1;
    return { samples: samples.length, oneRead, home: samples.filter((s) => (s.bindings.DB ?? 0) > 0).length };
  };
  const reads = { one: readsOf("one"), four: readsOf("four") };
  const pass = phases.every((p) => p.pass) && reads.one.oneRead && reads.four.oneRead;
  return { phases, reads, pass };
}

export async function measureShards(opts: {
  root: string;
  scriptPath: string;
  dataDir: string;
  scale: Scale;
  load: Omit<LoadOptions, "url">;
  runs: number;
  now: number;
  /** The smoke run: shorter settling, a small steady set. */
  smoke: boolean;
  log: (msg: string) => void;
}): Promise<ShardFigures> {
  const { scale, load, runs, smoke, log } = opts;
  const settleMs = smoke
    ? QUEUES.events.maxBatchTimeout * 1000 + 200
    : Math.max(...Object.values(QUEUES).map((q) => q.maxBatchTimeout * 1000)) + 500;
  const workers: Partial<Record<LayoutKey, BenchWorker>> = {};
  const fixtures: Partial<Record<LayoutKey, Fixture>> = {};
  const layouts: Partial<Record<LayoutKey, LayoutFigures>> = {};
  let emptyShardBytes = Number.NaN;
  let move: MoveFigures | null = null;
  try {
    for (const layout of LAYOUTS) {
      const worker = await startBenchWorker({
        root: opts.root,
        scriptPath: opts.scriptPath,
        persistDir: join(opts.dataDir, `shards-${layout.key}`),
      });
      workers[layout.key] = worker;
      log(
        `shards: workerd ${worker.pid ?? "?"} for the site on [${layout.shards.join(",")}]: generating ${fmt(scale.visitors)} visitors, ${fmt(scale.customers)} customers`,
      );
      const started = performance.now();
      fixtures[layout.key] = await generateBenchData(worker.db, join(opts.root, "migrations"), scale, opts.now, {
        databases: worker.databases,
        shards: [...layout.shards],
      });
      const bytes = await sizes(worker);
      if (layout.key === "one") emptyShardBytes = bytes[bindingOf(1)] ?? Number.NaN;
      layouts[layout.key] = {
        shards: [...layout.shards],
        generationMs: performance.now() - started,
        bytes,
        runs: { b_steady: [], e_queue: [], e_direct: [] },
        trips: { b_steady: [], e_queue: [], e_direct: [] },
        median: {} as Record<PhaseKey, Figure>,
        reads: [],
        statuses: {},
      };
    }

    const site = (fx: Fixture) => encodeURIComponent(fx.siteKey);
    const bPath = (fx: Fixture) => `/b/${fx.steadyPlacement}?site=${site(fx)}&format=html`;
    const eHeaders = { "content-type": "text/plain", origin: "https://shop.bench.example" };
    const batch = (fx: Fixture) => JSON.stringify({ site: fx.siteKey, events: eventBatch(BATCH_SIZE, opts.now) });

    for (const layout of LAYOUTS) {
      const worker = workers[layout.key] as BenchWorker;
      const fx = fixtures[layout.key] as Fixture;
      const figures = layouts[layout.key] as LayoutFigures;
      const steadySet = fx.all.slice(0, Math.min(fx.all.length, smoke ? 200 : STEADY_VISITORS));
      // Returning visitors: each is shown the placement once before the runs (bench/http-figures.ts).
      let next = 0;
      await Promise.all(
        Array.from({ length: load.connections }, async () => {
          while (next < steadySet.length) {
            const cookie = steadySet[next++];
            const res = await fetch(`${worker.url}${bPath(fx)}`, {
              headers: { "user-agent": BROWSER_UA, cookie: `tw_id=${cookie}` },
            });
            await res.arrayBuffer();
          }
        }),
      );
      await drained(worker, settleMs);
      // Twenty steady decisions one at a time: what each asked of which database.
      for (const cookie of steadySet.slice(-20)) {
        const res = await fetch(`${worker.url}${bPath(fx)}`, {
          headers: { "user-agent": BROWSER_UA, cookie: `tw_id=${cookie}` },
        });
        await res.arrayBuffer();
        figures.statuses.b_steady = res.status;
        figures.reads.push({
          calls: Number(res.headers.get("x-bench-d1-calls") ?? Number.NaN),
          rowsReturned: Number(res.headers.get("x-bench-d1-rows-returned") ?? Number.NaN),
          bindings: JSON.parse(res.headers.get("x-bench-d1-bindings") ?? "{}") as Record<string, number>,
          expected: bindingOf(shardOf(layout.shards, cookie)),
        });
      }
      await drained(worker, settleMs);
    }

    log(
      `shards: ${runs} run(s) × ${PHASES.length} phases × ${LAYOUTS.length} layouts, ${load.duration} s × ${load.connections} connections each`,
    );
    for (let run = 0; run < runs; run++) {
      // Alternate which layout goes first, so that a drift of the machine's load favours neither.
      const order = run % 2 === 0 ? LAYOUTS : [...LAYOUTS].reverse();
      for (const layout of order) {
        const worker = workers[layout.key] as BenchWorker;
        const fx = fixtures[layout.key] as Fixture;
        const figures = layouts[layout.key] as LayoutFigures;
        const steadySet = fx.all.slice(0, Math.min(fx.all.length, smoke ? 200 : STEADY_VISITORS));
        const phase = async (name: PhaseKey, p: Parameters<typeof runPhase>[1]) => {
          const before = await snapshot(worker);
          const cpu = cpuMsOf(worker.pid);
          const f = await runPhase({ ...load, url: worker.url }, p);
          // The consumer's work for the phase (impressions, queued events) is charged to it.
          const w = await writesSince(worker, before, settleMs);
          const answered = Math.max(1, f.ok + f.non2xx);
          f.cpuMicros = ((cpuMsOf(worker.pid) - cpu) * 1000) / answered;
          figures.runs[name].push(f);
          figures.trips[name].push({
            calls: w.calls / answered,
            byBinding: Object.fromEntries(Object.entries(w.callsByBinding).map(([k, n]) => [k, n / answered])),
          });
        };
        await drained(worker, settleMs);
        await phase("b_steady", { path: () => bPath(fx), cookies: steadySet });
        await phase("e_queue", {
          method: "POST",
          path: () => "/e",
          cookies: fx.all,
          headers: eHeaders,
          body: batch(fx),
        });
        await phase("e_direct", {
          method: "POST",
          path: () => "/bench/direct/e",
          cookies: fx.all,
          headers: eHeaders,
          body: batch(fx),
        });
        log(
          `shards [${layout.shards.join(",")}] run ${run + 1}: ` +
            PHASES.map((k) => {
              const f = figures.runs[k][run];
              return `${k} ${fmt(f.rps)} req/s ${fmt(f.cpuMicros)} µs CPU/req`;
            }).join(", "),
        );
      }
    }
    for (const layout of LAYOUTS) {
      const figures = layouts[layout.key] as LayoutFigures;
      figures.median = Object.fromEntries(PHASES.map((k) => [k, medianFigure(figures.runs[k])])) as Record<
        PhaseKey,
        Figure
      >;
    }

    // A move of the bench site under load, once the moves API is on this branch.
    move = await measureMoveUnderLoad(workers.one as BenchWorker, fixtures.one as Fixture, {
      to: [0, 1, 2, 3],
      settleMs,
      log,
    });
  } finally {
    for (const worker of Object.values(workers)) await worker?.dispose();
  }
  return {
    scale: { visitors: scale.visitors, customers: scale.customers },
    load: { ...load, runs },
    emptyShardBytes,
    layouts: layouts as Record<LayoutKey, LayoutFigures>,
    move,
    measuredAt: new Date().toISOString(),
  };
}

/** What a move under load did to the site's people: counts before and after, and the verdict's parts. */
export type MoveFigures = {
  from: number[] | null;
  to: number[];
  state: string;
  /** The move's error, when it failed (GET /api/v1/sites/:key/shards). */
  error: string | null;
  /** The site's set once the move ended: where `after` and `strays` are counted. */
  placedOn: number[] | null;
  ms: number;
  /** Rows of the site per table, summed over every database, before the move and after it settled. */
  before: Record<string, number>;
  after: Record<string, number>;
  /** Page views the accepted /e batches carried during the move (each adds one to `visitors.pageviews`). */
  pageviewsSent: number;
  /** sum(visitors.pageviews) after − before: equal to pageviewsSent when nothing was lost or doubled. */
  pageviewsAdded: number;
  /** Rows of the site left on shards outside the new set (or in HOME). */
  strays: number;
};

/** POST /e batches per second while the move runs (each of 20 events, 5 of them page views). */
const MOVE_LOAD_RATE = 20;

/** Tables whose rows a move carries, counted per site (docs/architecture.md, "Shards"). */
const MOVE_COUNTED = ["visitors", "decision_rows", "customers", "person_codes"] as const;

async function siteCounts(worker: BenchWorker, names: string[]) {
  const out: Record<string, number> = {};
  for (const table of MOVE_COUNTED) {
    out[table] = 0;
    for (const name of names) {
      const db = worker.databases[name];
      const where = table === "customers" ? "site_id = 1 and not copy" : "site_id = 1";
      const row = await db.prepare(`select count(*) as n from ${table} where ${where}`).first<{ n: number }>();
      out[table] += row?.n ?? 0;
    }
  }
  let pageviews = 0;
  for (const name of names) {
    const row = await worker.databases[name]
      .prepare("select coalesce(sum(pageviews), 0) as n from visitors where site_id = 1")
      .first<{ n: number }>();
    pageviews += row?.n ?? 0;
  }
  out.pageviews = pageviews;
  return out;
}

/**
 * Moves the bench site to `to` through the operator's `POST /api/v1/sites/:key/shards` while POST
 * /e batches keep coming, waits for the move to finish and the queue to drain, and compares the
 * site's rows before and after: the same people (no row lost, none doubled), every page view the
 * accepted batches carried counted once, and nothing left outside the new set. Answers null when
 * the Worker has no moves API (a branch without it): the bench then says the move was not measured.
 */
async function measureMoveUnderLoad(
  worker: BenchWorker,
  fx: Fixture,
  opts: { to: number[]; settleMs: number; log: (msg: string) => void },
): Promise<MoveFigures | null> {
  const auth = { authorization: "Bearer bench-operator-token" };
  const api = `${worker.url}/api/v1/sites/${encodeURIComponent(fx.siteKey)}/shards`;
  const probe = await fetch(api, { headers: auth });
  await probe.arrayBuffer();
  if (probe.status === 404) {
    opts.log("shards: no moves API in this Worker (POST /api/v1/sites/:key/shards): the move was not measured");
    return null;
  }
  const shown = (await (await fetch(api, { headers: auth })).json()) as { shards: number[] | null };
  const from = shown.shards;
  const all = Object.keys(worker.databases);
  await drained(worker, opts.settleMs);
  const before = await siteCounts(worker, from === null ? ["DB"] : from.map(bindingOf));
  const eHeaders = { "content-type": "text/plain", origin: "https://shop.bench.example" };
  const body = JSON.stringify({ site: fx.siteKey, events: eventBatch(BATCH_SIZE, Date.now()) });
  const started = performance.now();
  let state = "not started";
  let sent = 0;
  let stop = false;
  // A steady stream of batches for as long as the move runs, from a few senders each pacing its
  // own: the shop's traffic, not a flood (a queue that never drains would only measure how long
  // held messages wait). Every answer is awaited, so `sent` counts exactly the accepted batches.
  const senders = 4;
  const sendersDone = Array.from({ length: senders }, async (_, k) => {
    for (let i = k; !stop; i += senders) {
      const at = performance.now();
      const answer = await fetch(`${worker.url}/e`, {
        method: "POST",
        headers: { ...eHeaders, "user-agent": BROWSER_UA, cookie: `tw_id=${fx.all[i % fx.all.length]}` },
        body,
      });
      await answer.arrayBuffer();
      if (answer.status === 202 || answer.status === 204) sent += BATCH_SIZE / EVENTS_PER_PAGE;
      const pause = (1000 * senders) / MOVE_LOAD_RATE - (performance.now() - at);
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    }
  });
  const loadRuns = Promise.all(sendersDone);
  const res = await fetch(api, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ shards: opts.to }),
  });
  if (res.status !== 202) {
    stop = true;
    await loadRuns;
    throw new Error(`POST ${api} answered ${res.status}: ${await res.text()}`);
  }
  await res.arrayBuffer();
  let phaseName = "";
  let error: string | null = null;
  let current: number[] | null = from;
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1_000));
    const now = (await (await fetch(api, { headers: auth })).json()) as {
      shards: number[] | null;
      move: { state: string; phase: string; error: string | null } | null;
    };
    state = now.move?.state ?? "none";
    error = now.move?.error ?? null;
    current = now.shards;
    if (now.move && now.move.phase !== phaseName) {
      phaseName = now.move.phase;
      opts.log(`shards: move ${state}, ${phaseName} after ${fmt((performance.now() - started) / 1000, 1)} s`);
    }
    if (state !== "running" && state !== "rolling_back") break;
  }
  stop = true;
  await loadRuns;
  const ms = performance.now() - started;
  // The site's people where its set now says they are (the new set if the move switched, else the
  // old one): a failed move's copies on the new set are not the site's rows.
  const placed = (set: number[] | null) => (set === null ? ["DB"] : set.map(bindingOf));
  // Messages the move held come back after HOLD_RETRY_SECONDS: wait until the counts stop moving.
  let after = await siteCounts(worker, placed(current));
  for (let stable = 0, waited = 0; stable < 3 && waited < 120; waited += 5) {
    await new Promise((r) => setTimeout(r, 5_000));
    await drained(worker, opts.settleMs);
    const again = await siteCounts(worker, placed(current));
    stable = JSON.stringify(again) === JSON.stringify(after) ? stable + 1 : 0;
    after = again;
  }
  // HOME included: a site on shards keeps no person rows there.
  const outside = all.filter((name) => !placed(current).includes(name));
  const strayCounts = await siteCounts(worker, outside);
  const strays = MOVE_COUNTED.reduce((sum, t) => sum + (strayCounts[t] ?? 0), 0);
  opts.log(`shards: move [${from?.join(",") ?? "HOME"}] → [${opts.to.join(",")}] ${state} in ${fmt(ms / 1000, 1)} s`);
  return {
    from,
    to: opts.to,
    state,
    error,
    placedOn: current,
    ms,
    before,
    after,
    pageviewsSent: sent,
    pageviewsAdded: after.pageviews - before.pageviews,
    strays,
  };
}

/** The move's verdict: done, the same rows, every page view once, nothing outside the new set. */
function moveVerdict(m: MoveFigures) {
  const same = MOVE_COUNTED.every((t) => m.before[t] === m.after[t]);
  return {
    same,
    pageviewsOnce: m.pageviewsAdded === m.pageviewsSent,
    pass: m.state === "done" && same && m.pageviewsAdded === m.pageviewsSent && m.strays === 0,
  };
}

const mib = (bytes: number) => `${fmt(bytes / 2 ** 20, 1)} MiB`;

/** The shard section of bench/RESULTS.md (`<!-- shards:start -->` … `<!-- shards:end -->`). */
export function writeShardsSection(file: string, f: ShardFigures, machine: Record<string, unknown>, note: string) {
  const v = shardVerdicts(f);
  const one = f.layouts.one;
  const four = f.layouts.four;
  const perVisitor = peopleBytes(f, "one") / f.scale.visitors;
  const perVisitorFour = peopleBytes(f, "four") / f.scale.visitors;
  const label: Record<PhaseKey, string> = {
    b_steady: "/b steady state, returning known visitor",
    e_queue: `POST /e, ${BATCH_SIZE} events, through the queue consumer`,
    e_direct: `POST /e, ${BATCH_SIZE} events, written directly (queue refused)`,
  };
  const rows = v.phases.map((p) => {
    const perEvent = p.key === "b_steady" ? 1 : BATCH_SIZE;
    const unit = p.key === "b_steady" ? "req" : "event";
    return [
      label[p.key],
      `${fmt(one.median[p.key].rps)} / ${fmt(four.median[p.key].rps)}`,
      fmt(p.rpsRatio, 2),
      `${fmt(one.median[p.key].cpuMicros / perEvent)} / ${fmt(four.median[p.key].cpuMicros / perEvent)} µs per ${unit}`,
      fmt(p.cpuRatio, 3),
      `≤ ${CPU_BUDGET}`,
      verdict(p.pass),
    ];
  });
  const readsLine = (key: LayoutKey) => {
    const samples = f.layouts[key].reads;
    const calls = median(samples.map((s) => s.calls));
    const rowsReturned = median(samples.map((s) => s.rowsReturned));
    const own = samples.filter((s) => s.bindings[s.expected] === 1).length;
    const others = samples.filter((s) =>
      Object.keys(s.bindings).some((b) => b !== s.expected && isShardBinding(b)),
    ).length;
    const home = samples.filter((s) => (s.bindings.DB ?? 0) > 0).length;
    return `[${f.layouts[key].shards.join(",")}]: median ${fmt(calls)} statement answering ${fmt(rowsReturned)} row; the cookie's own shard read once in ${own} of ${samples.length}, another shard in ${others}, HOME in ${home}`;
  };
  const paired = (k: PhaseKey) =>
    one.runs[k].map((f, i) => fmt((four.runs[k][i]?.cpuMicros ?? Number.NaN) / f.cpuMicros, 2)).join(", ");
  const trips = (key: LayoutKey, k: PhaseKey) => {
    const t = f.layouts[key].trips[k];
    const per = median(t.map((x) => x.calls));
    const bindings = [...new Set(t.flatMap((x) => Object.keys(x.byBinding)))].sort();
    const split = bindings.map((b) => `${b} ${fmt(median(t.map((x) => x.byBinding[b] ?? 0)), 2)}`).join(", ");
    return `${fmt(per, 2)} (${split})`;
  };
  const tripLines = PHASES.map(
    (k) => `  - ${label[k]}: 1 shard ${trips("one", k)}; 4 shards ${trips("four", k)}; CPU 4 ÷ 1 per run ${paired(k)}`,
  ).join("\n");
  const spread = four.shards
    .map((k) => `${bindingOf(k)} ${mib((four.bytes[bindingOf(k)] ?? 0) - f.emptyShardBytes)}`)
    .join(", ");
  let moveText =
    "- **Move under load**: not measured — the operator's moves API (`POST /api/v1/sites/:key/shards`, branch `moves`) is not in this Worker yet; `measureMoveUnderLoad` (bench/shards.ts) runs it as soon as it is.";
  if (f.move) {
    const mv = moveVerdict(f.move);
    moveText = `- **Move under load** [${f.move.from?.join(",") ?? "HOME"}] → [${f.move.to.join(",")}] while POST /e batches kept coming (${MOVE_LOAD_RATE} batches of ${BATCH_SIZE} events per second): ${f.move.state}${f.move.error ? ` (${f.move.error})` : ""} in ${fmt(f.move.ms / 1000, 1)} s, the site then on [${f.move.placedOn?.join(",") ?? "HOME"}]; rows before → after: ${MOVE_COUNTED.map((t) => `${t} ${fmt(f.move?.before[t] ?? 0)} → ${fmt(f.move?.after[t] ?? 0)}`).join(", ")}; page views sent ${fmt(f.move.pageviewsSent)}, counted ${fmt(f.move.pageviewsAdded)}; rows left outside the site's set ${fmt(f.move.strays)} — ${verdict(mv.pass)}.`;
  }
  const body = `## Shards (\`npm run bench -- --shards\`)

Measured ${f.measuredAt.slice(0, 16).replace("T", " ")} UTC on ${machine.cpu}, ${machine.cores} cores, ${machine.memory} (Node ${machine.node}, ${machine.workerd}); load average at start ${machine.load}. ${note}

The same generated bench shop (${fmt(f.scale.visitors)} visitors, ${fmt(f.scale.customers)} customers, fixed seed) twice, each in its own workerd with its own local D1s: once with its people on one shard (\`sites.shards = [0]\`), once spread over four (\`[0,1,2,3]\`), every person's rows placed by the Worker's routing module (worker/shards/routing.ts: visitors and decision rows by cookie, customers by customer ID with copies where their cookies are, codes by holder). Both workerds run side by side and are loaded in turn, the first layout alternating between runs; autocannon, ${f.load.connections} connections, ${f.load.duration} s per phase, each figure the median of ${f.load.runs} run(s). workerd CPU per request from /proc around each phase, queue consumer included.

| phase | req/s, 1 / 4 shards | req/s 4 ÷ 1 | workerd CPU, 1 / 4 shards | CPU 4 ÷ 1 | budget | verdict |
| --- | --- | --- | --- | --- | --- | --- |
${rows.map((r) => `| ${r.join(" | ")} |`).join("\n")}

- **Budget** (docs/architecture.md, "Budgets and where they are measured"): over 4 shards at most 5 % more workerd CPU per request and per event than on 1, and \`/b\` still one read of one row — **${v.pass ? "PASS" : "FAIL"}**.
- D1 reads of a steady \`/b\` (${v.reads.four.samples} sequential requests per layout, counted per binding by bench/d1-meter.ts; a HOME read is an isolate refreshing what it caches of HOME, not part of the decision): ${readsLine("one")}; ${readsLine("four")} — ${verdict(v.reads.one.oneRead && v.reads.four.oneRead)}.
- D1 round trips per answered request, the queue consumer's included (median over runs, per binding), and the CPU ratio of each run's pair:
${tripLines}
- **Bytes per visitor on a shard**: ${fmt(perVisitor, 0)} B (one shard: ${mib(peopleBytes(f, "one"))} of people for ${fmt(f.scale.visitors)} visitors with the bench's ${fmt(f.scale.customers)} customers, their codes and decision rows, beyond an empty migrated shard's ${mib(f.emptyShardBytes)}; D1's \`meta.size_after\`). Over four shards ${fmt(perVisitorFour, 0)} B per visitor (customer copies on the shards of their other cookies): ${spread}. One shard of ${fmt(D1_LIMIT_BYTES / 1e9, 0)} GB holds about **${fmt(D1_LIMIT_BYTES / perVisitor / 1e6, 1)} M visitors**, or **${fmt(D1_LIMIT_BYTES / peopleBytes(f, "one"), 0)} shops** of the bench's size; HOME holds the shop's configuration and codes (${mib(one.bytes.DB ?? 0)} for this shop, its 2 × ${fmt(f.scale.visitors)} codes most of it).
${moveText}
`;
  writeSection(file, "shards", body);
}
