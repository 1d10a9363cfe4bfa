/**
 * Turns the figures of one `npm run bench` into bench/RESULTS.md's `bench` section: the machine,
 * every figure with its budget from docs/architecture.md, "Budgets and where they are measured", and a pass/miss verdict. Notes written by hand go
 * outside the markers and survive the next run.
 */

import type { DecisionFigures } from "./decision-logic";
import { type DecisionProfile, profileSection } from "./decision-profile";
import type { ExportFigures } from "./export";
import type { Scale } from "./generate";
import type { HttpFigures } from "./http-figures";
import type { LookalikeEventFigures } from "./lookalike-events";
import type { OfferFigures } from "./offers";
import { writesSection } from "./report-writes";
import { fmt, type machine, verdict, writeSection } from "./results";
import type { SegmentFigures } from "./segment-throughput";
import type { Size } from "./tag-size";

export type Figures = {
  tiny: boolean;
  scale: Scale;
  generationMs: number;
  dbBytes: number;
  machine: { before: ReturnType<typeof machine>; after: ReturnType<typeof machine> };
  load: { connections: number; duration: number; runs: number };
  http: HttpFigures;
  /** Absent in figures written before the profile existed. */
  profile?: DecisionProfile;
  export: ExportFigures;
  decision: DecisionFigures;
  segments: SegmentFigures;
  tags: Size[];
  lookalike: LookalikeEventFigures;
  offers: OfferFigures;
};

/** Revive Adserver's full logged impressions per second on this machine class (docs/architecture.md, "Budgets and where they are measured"). */
const REVIVE_IMPRESSIONS_PER_SECOND = 1_050;
const RATIO_BUDGET = 0.8;
/**
 * The decision path's budgets (docs/architecture.md, "Budgets and where they are measured"), each against the one-keyed-read handler and
 * held in requests per second AND in workerd CPU per request: the steady state (a known visitor,
 * with or without a code held) at least 0.8 of it in one round trip, a first claim 0.5 in two, an
 * anonymous browser 3 times in none.
 */
const DECISION_BUDGETS = [
  { key: "b_steady", name: "/b steady state, known visitor (rules without pools)", ratio: RATIO_BUDGET, trips: 1 },
  { key: "b_holder", name: "/b steady state, visitor holds a code", ratio: RATIO_BUDGET, trips: 1 },
  { key: "b_claim", name: "/b first coupon claim", ratio: 0.5, trips: 2 },
  { key: "b_anon", name: "/b anonymous (no cookie, partner ID or token)", ratio: 3, trips: 0 },
] as const;

/** One decision phase against the one-read floor, in both measures, with its verdicts. */
export function decisionVerdicts(f: Pick<Figures, "http">) {
  const m = f.http.median;
  return DECISION_BUDGETS.filter((d) => m[d.key]).map((d) => {
    const rpsRatio = m[d.key].rps / m.one_read.rps;
    const cpuRatio = m.one_read.cpuMicros / m[d.key].cpuMicros;
    const trips = f.http.roundTrips[d.key];
    return {
      ...d,
      rpsRatio,
      cpuRatio,
      measuredTrips: trips,
      rpsPass: rpsRatio >= d.ratio,
      cpuPass: cpuRatio >= d.ratio,
      tripsPass: trips <= d.trips,
    };
  });
}
const DECISION_MICROS_BUDGET = 50;
const TAG_GZIP_BUDGET = 1_024;
/** "Flat memory": the export may not grow workerd's RSS by more than this for a million rows. */
const EXPORT_GROWTH_BUDGET = 64 * 2 ** 20;

const mib = (bytes: number) => `${fmt(bytes / 2 ** 20, 1)} MiB`;

function budgets(f: Figures) {
  const growth = f.export.rssMaxDuring - f.export.rssBefore;
  const tag = f.tags[0];
  return {
    steadyTripsPass: f.http.roundTrips.b_steady === 1 && f.http.roundTrips.b_holder === 1,
    claimTripsPass: f.http.roundTrips.b_claim <= 2,
    anonTripsPass: f.http.roundTrips.b_anon === 0,
    revivePass: f.http.loggedImpressionsPerSecond > REVIVE_IMPRESSIONS_PER_SECOND,
    decisionPass: f.decision.worstCaseMicros <= DECISION_MICROS_BUDGET,
    bestPass: f.decision.bestMicros <= DECISION_MICROS_BUDGET,
    bestAllPass: f.decision.bestAllEligibleMicros <= DECISION_MICROS_BUDGET,
    ingestPass: f.http.roundTrips.e_direct === 1,
    exportGrowth: growth,
    exportPass: f.export.rows === f.export.expectedRows && growth <= EXPORT_GROWTH_BUDGET,
    tagPass: "gzip" in tag ? tag.gzip <= TAG_GZIP_BUDGET : null,
  };
}

export function writeReport(file: string, f: Figures) {
  const m = f.http.median;
  const b = budgets(f);
  const mc = f.machine.before;
  const busy = Number(mc.load.split(" / ")[0]) > 1 || Number(f.machine.after.load.split(" / ")[0]) > 2.5;
  const verdicts = decisionVerdicts(f);
  const row = (name: string, key: keyof typeof m, trips: string, budget: string, rps: string, cpu: string) => [
    name,
    fmt(m[key].rps),
    `${fmt(m[key].p50, 1)} / ${fmt(m[key].p99, 1)}`,
    fmt(m[key].rps / m.one_read.rps, 2),
    fmt(m[key].cpuMicros),
    fmt(m.one_read.cpuMicros / m[key].cpuMicros, 2),
    trips,
    budget,
    rps,
    cpu,
  ];
  const t = f.http.roundTrips;
  const body = `
## Benchmarks (\`npm run bench\`)

Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC${f.tiny ? " — **tiny smoke run, figures meaningless**" : ""}.

| machine | |
| --- | --- |
| CPU | ${mc.cpu}, ${mc.cores} cores |
| memory | ${mc.memory} |
| Node / workerd / Miniflare / wrangler / autocannon | ${mc.node} / ${mc.workerd} / ${mc.miniflare} / ${mc.wrangler} / ${mc.autocannon} |
| load average (1 / 5 / 15 min) at start, at end | ${mc.load}; ${f.machine.after.load} |

${busy ? "**The machine was not idle when the run started** (1-minute load average above 1: earlier work, possibly other jobs sharing the 2 cores): absolute figures may be lower and noisier than on an idle machine; the ratios measured within one run are the figures to read.\n" : ""}
Data (fixed seed): ${fmt(f.scale.visitors)} visitors (40 % linked), ${fmt(f.scale.customers)} CRM customers across 8 clusters, ${f.scale.rules} rules with segments over ${f.scale.placements} placements, 2 list pools of ${fmt(f.scale.poolCodes)} codes (a fifth of the visitors already hold one), generated into a local D1 in ${fmt(f.generationMs / 1000, 1)} s (${mib(f.dbBytes)} on disk: one D1 database of 10 GB holds about ${fmt(10e9 / f.dbBytes, 0)} shops of this size). The Worker is the production bundle (\`wrangler deploy --dry-run\`) wrapped by bench/bench-worker.ts, served by workerd through Miniflare's API on 127.0.0.1 with the events queue bound as in wrangler.toml; load from autocannon, ${f.load.connections} connections, ${f.load.duration} s per phase, each figure the median of ${f.load.runs} run(s) interleaved in one workerd.

### Decision path \`GET /b/:placement\`

| handler | req/s | latency p50 / p99 (ms) | req/s ÷ one-read | workerd CPU µs/req | one-read CPU ÷ this | D1 round trips | budget | verdict, req/s | verdict, CPU |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${[
  row("empty handler (/bench/empty)", "empty", "0", "—", "—", "—"),
  row("one keyed D1 read (/bench/one-read)", "one_read", "1", "the floor", "—", "—"),
  ...verdicts.map((v) =>
    row(
      v.name,
      v.key,
      `${fmt(v.measuredTrips)} ${v.tripsPass ? "" : "(**over**)"}`.trim(),
      `≥ ${v.ratio} × one-read, ${v.trips === 0 ? "no" : v.trips === 1 ? "1" : `≤ ${v.trips}`} D1 trip${v.trips === 1 ? "" : "s"}`,
      verdict(v.rpsPass && v.tripsPass),
      verdict(v.cpuPass && v.tripsPass),
    ),
  ),
]
  .map((cells) => `| ${cells.join(" | ")} |`)
  .join("\n")}

${verdicts.map((v) => `- **${v.name}**: ${fmt(v.rpsRatio, 2)} × one-read in requests per second, ${fmt(v.cpuRatio, 2)} × in workerd CPU per request (budget ≥ ${v.ratio} in both) — ${verdict(v.rpsPass && v.cpuPass && v.tripsPass)}.`).join("\n")}
- workerd CPU per request is read from /proc around each phase and includes the queue consumer's work for the phase's impressions (other load on the machine does not distort it as it does requests per second).
- Full logged impressions per second (impression messages of the steady phase the queue consumer applied to D1, from load start until it has applied the last one): **${fmt(f.http.loggedImpressionsPerSecond)}/s** against Revive Adserver's ≈${fmt(REVIVE_IMPRESSIONS_PER_SECOND)}/s — ${verdict(b.revivePass)}.
- D1 round trips are counted by the bench worker's counting wrapper of the D1 binding, per request, before the response (medians of 20 sequential requests): steady ${fmt(t.b_steady)}, holder ${fmt(t.b_holder)}, first claim ${fmt(t.b_claim)}, anonymous ${fmt(t.b_anon)} — ${verdict(b.steadyTripsPass && b.claimTripsPass && b.anonTripsPass)}.
- The per-IP rate limiters are bound as in wrangler.toml (same names and periods) with a limit of 10⁹ that one loopback client cannot reach, so every request still asks them.
- Status codes of the sampled requests: ${Object.entries(f.http.statuses)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ")}; non-2xx under load (median per phase): ${Object.entries(m)
    .map(([k, v]) => `${k} ${fmt(v.non2xx)}`)
    .join(", ")}.

Where a decision's time goes — its pieces served on their own by the same workerd (bench/bench-worker.ts, \`/bench/part/*\`):

| piece | req/s | latency p50 / p99 (ms) | req/s ÷ one-read | workerd CPU µs/req |
| --- | --- | --- | --- | --- |
${[
  ["/healthz through the Hono app (routing, middleware, drizzle, `select 1`)", "part_app"],
  ["GET /t.js through the Hono app (routing, middleware, ETag; no D1)", "part_app0"],
  ["the decision's D1 read alone (loadDecisionState)", "part_load"],
  ["decide() for an anonymous browser alone (no app, no D1, impression not recorded)", "part_decide"],
  ["one keyed read of a whole visitor row, as a batch of 1", "part_reads1"],
  ["seven such reads in one batch", "part_reads7"],
  ["minting one click token alone (HMAC-SHA256, key cached per isolate)", "part_sign"],
  ["asking the banner rate limiter alone (a binding call, as every /b does)", "part_limit"],
  ["sending one impression to the events queue alone", "part_queue"],
]
  .filter(([, k]) => m[k])
  .map(
    ([name, k]) =>
      `| ${name} | ${fmt(m[k].rps)} | ${fmt(m[k].p50, 1)} / ${fmt(m[k].p99, 1)} | ${fmt(m[k].rps / m.one_read.rps, 2)} | ${fmt(m[k].cpuMicros)} |`,
  )
  .join("\n")}
${profileSection(f.profile)}
### Decision logic alone (Node ${mc.node})

| figure | value | budget | verdict |
| --- | --- | --- | --- |
| ${f.decision.rulesWorst} rules on one placement, only the last matches: choose + render, per decision | ${fmt(f.decision.worstCaseMicros, 2)} µs | ≤ ${DECISION_MICROS_BUDGET} µs | ${verdict(b.decisionPass)} |
| ${f.decision.rulesTypical} rules per placement (as generated): choose + render | ${fmt(f.decision.typicalMicros, 2)} µs | ≤ ${DECISION_MICROS_BUDGET} µs | ${verdict(f.decision.typicalMicros <= DECISION_MICROS_BUDGET)} |
| the same ${f.decision.rulesWorst} rules under \`arbitration: "best"\`: every rule checked, the eligible ones sampled (worker/decide/offers.ts) | ${fmt(f.decision.bestMicros, 2)} µs | ≤ ${DECISION_MICROS_BUDGET} µs | ${verdict(b.bestPass)} |
| ${f.decision.rulesWorst} rules that all match, under \`best\`: ${f.decision.rulesWorst} Beta samples per decision | ${fmt(f.decision.bestAllEligibleMicros, 2)} µs | ≤ ${DECISION_MICROS_BUDGET} µs | ${verdict(b.bestAllPass)} |
| minting the click token (HMAC-SHA256 through WebCrypto, key cached), per decision | ${fmt(f.decision.clickTokenMicros, 1)} µs | — | — |

Timed over ${fmt(f.decision.profiles)} generated profiles, median of 5 passes after a warm-up pass (bench/decision-logic.ts).

### Ingestion \`POST /e\` (batches of 20 events)

| path | batches/s | events/s | latency p50 / p99 (ms) | workerd CPU µs/batch (consumer included) | D1 round trips in the request | budget | verdict |
| --- | --- | --- | --- | --- | --- | --- | --- |
| through the events queue (default) | ${fmt(m.e_queue.rps)} | ${fmt(m.e_queue.rps * 20)} accepted, ${fmt(f.http.queuedEventsAppliedPerSecond)} written | ${fmt(m.e_queue.p50, 1)} / ${fmt(m.e_queue.p99, 1)} | ${fmt(m.e_queue.cpuMicros)} | ${fmt(t.e_queue)} | — | — |
| direct writes (no queue binding) | ${fmt(m.e_direct.rps)} | ${fmt(m.e_direct.rps * 20)} | ${fmt(m.e_direct.p50, 1)} / ${fmt(m.e_direct.p99, 1)} | ${fmt(m.e_direct.cpuMicros)} | ${fmt(t.e_direct)} | 1 trip per batch | ${verdict(b.ingestPass)} |

"Written" counts the events the queue consumer applied, from load start until it has drained the queue.
${writesSection(f.http)}
### Audience export

| figure | value | budget | verdict |
| --- | --- | --- | --- |
| rows exported (CSV, tagwerk ID space) | ${fmt(f.export.rows)} of ${fmt(f.export.expectedRows)} (HTTP ${f.export.status}) | all | ${verdict(f.export.rows === f.export.expectedRows)} |
| rows per second | ${fmt(f.export.rowsPerSecond)} (${fmt(f.export.seconds, 1)} s) | — | — |
| workerd RSS before → highest while streaming (growth) | ${mib(f.export.rssBefore)} → ${mib(f.export.rssMaxDuring)} (${mib(b.exportGrowth)}) | flat: growth ≤ ${mib(EXPORT_GROWTH_BUDGET)} | ${verdict(b.exportPass)} |
| workerd peak RSS (VmHWM) after the export | ${mib(f.export.peak)} | — | — |

A fresh workerd serves the export, so its peak is the export's own; the process holds the local D1's SQLite too, so these are upper bounds for the Worker.

### Segment evaluation (Node)

${f.segments.segments} compiled segments × ${fmt(f.segments.profiles)} profiles: **${fmt(f.segments.evaluationsPerSecond)} evaluations/s** (${fmt(f.segments.microsPerProfile, 1)} µs per profile against all ${f.segments.segments}; compiling costs ${fmt(f.segments.compileMicrosPerSegment, 1)} µs per segment, once per rules version).

### Tag size (bundled and minified by esbuild the same way; gzip -9, brotli q11)

| package | version | raw | gzip | brotli |
| --- | --- | --- | --- | --- |
${f.tags.map((s) => ("error" in s ? `| ${s.name} | — | not measured: ${s.error.replace(/\|/g, "/")} | | |` : `| ${s.name} | ${s.version} | ${fmt(s.raw)} B | ${fmt(s.gzip)} B | ${fmt(s.brotli)} B |`)).join("\n")}

Budget: the tag ≤ ${fmt(TAG_GZIP_BUDGET)} B gzip — ${verdict(b.tagPass)}.
`;
  writeSection(file, "bench", body);
}
