/**
 * The "What a request writes" part of bench/RESULTS.md: D1 rows written per 1,000 fully logged
 * impressions and per event applied, and storage growth per 1,000 impressions, against the budgets
 * of docs/architecture.md, "Budgets and where they are measured" (≤ 50 rows per 1,000 impressions,
 * ≤ 0.5 per event, ≤ 5 KB per 1,000 impressions). Rows are D1's own `meta.rows_written` (index
 * entries included), summed by bench/d1-meter.ts over the requests and the queue consumers' work.
 */
import type { HttpFigures } from "./http-figures";
import type { Writes } from "./ledger";
import { fmt, median, table, verdict } from "./results";

const ROWS_PER_1000_IMPRESSIONS_BUDGET = 50;
const ROWS_PER_EVENT_BUDGET = 0.5;
const BYTES_PER_1000_IMPRESSIONS_BUDGET = 5 * 1024;

const perImpressions = (w: Writes) => {
  const per1000 = (n: number) => (w.impressions > 0 ? (n / w.impressions) * 1000 : Number.NaN);
  return {
    impressions: w.impressions,
    rows: w.rowsWritten,
    rowsPer1000: per1000(w.rowsWritten),
    growth: w.bytesAfter - w.bytesBefore,
    bytesPer1000: per1000(w.bytesAfter - w.bytesBefore),
  };
};

const perEvent = (w: Writes) => {
  const events = w.eventsQueued + w.eventsDirect;
  return { events, rows: w.rowsWritten, rowsPerEvent: events > 0 ? w.rowsWritten / events : Number.NaN };
};

/** The write figures, medians over runs, with their verdicts (a NaN figure fails). */
export function writeFigures(http: Pick<HttpFigures, "writes">) {
  const steadyRuns = (http.writes.b_steady ?? []).map(perImpressions);
  const queueRuns = (http.writes.e_queue ?? []).map(perEvent);
  const directRuns = (http.writes.e_direct ?? []).map(perEvent);
  const m = (values: number[]) => (values.length ? median(values) : Number.NaN);
  // The budget is the steady state: returning visitors, already exposed to the placement's rule
  // (http-figures.ts shows a fixed set of visitors the placement once before the runs, and every
  // run's steady phase shows it to them again). That first pass is what first exposures cost: a
  // first exposure is a fact about a person, one row.
  const rowsPer1000Impressions = m(steadyRuns.map((r) => r.rowsPer1000));
  const bytesPer1000Impressions = m(steadyRuns.map((r) => r.bytesPer1000));
  const first = http.writes.b_first?.[0];
  const firstExposure = first ? perImpressions(first) : null;
  const rowsPerEventQueued = m(queueRuns.map((r) => r.rowsPerEvent));
  const rowsPerEventDirect = m(directRuns.map((r) => r.rowsPerEvent));
  const unmetered = Object.values(http.writes)
    .flat()
    .reduce((sum, w) => sum + w.unmetered, 0);
  return {
    steadyRuns,
    queueRuns,
    directRuns,
    rowsPer1000Impressions,
    bytesPer1000Impressions,
    firstExposure,
    rowsPerEventQueued,
    rowsPerEventDirect,
    unmetered,
    rowsPass: rowsPer1000Impressions <= ROWS_PER_1000_IMPRESSIONS_BUDGET,
    bytesPass: bytesPer1000Impressions <= BYTES_PER_1000_IMPRESSIONS_BUDGET,
    eventsPass: rowsPerEventQueued <= ROWS_PER_EVENT_BUDGET && rowsPerEventDirect <= ROWS_PER_EVENT_BUDGET,
  };
}

const PHASES: [string, string][] = [
  ["b_steady", "/b steady state, known visitor"],
  ["b_holder", "/b, visitor holds a code"],
  ["b_claim", "/b first coupon claim"],
  ["b_anon", "/b anonymous"],
  ["part_queue", "impression messages alone (/bench/part/queue)"],
];

const kb = (bytes: number) => `${fmt(bytes / 1024, 1)} KB`;
const runsOf = (values: number[], digits: number) => values.map((v) => fmt(v, digits)).join(" / ");

export function writesSection(http: Pick<HttpFigures, "writes" | "requestRowsWritten">) {
  const w = writeFigures(http);
  const impressionRows = PHASES.filter(([key]) => http.writes[key]?.length).map(([key, name]) => {
    const runs = http.writes[key].map(perImpressions);
    const mid = (pick: (r: (typeof runs)[number]) => number) => median(runs.map(pick));
    return [
      name,
      fmt(mid((r) => r.impressions)),
      fmt(mid((r) => r.rows)),
      `${fmt(
        mid((r) => r.rowsPer1000),
        1,
      )} (runs: ${runsOf(
        runs.map((r) => r.rowsPer1000),
        1,
      )})`,
      kb(mid((r) => r.growth)),
      kb(mid((r) => r.bytesPer1000)),
      key === "b_steady" ? `≤ ${ROWS_PER_1000_IMPRESSIONS_BUDGET} rows, ≤ 5 KB` : "—",
      key === "b_steady" ? `${verdict(w.rowsPass)} rows, ${verdict(w.bytesPass)} storage` : "—",
    ];
  });
  const eventRow = (name: string, runs: ReturnType<typeof perEvent>[], figure: number, key: string) => [
    name,
    fmt(median(runs.map((r) => r.events))),
    fmt(median(runs.map((r) => r.rows))),
    `${fmt(figure, 3)} (runs: ${runsOf(
      runs.map((r) => r.rowsPerEvent),
      3,
    )})`,
    fmt(http.requestRowsWritten[key]),
    `≤ ${ROWS_PER_EVENT_BUDGET}`,
    verdict(figure <= ROWS_PER_EVENT_BUDGET),
  ];
  return `
### What a request writes (D1 \`meta.rows_written\`, index entries included)

Every D1 binding the Worker gets — in requests and in the queue consumers, which run in the same workerd — is wrapped by bench/d1-meter.ts, which sums D1's own \`meta.rows_written\` of every statement and batch; a phase's figure runs from its start until the consumers have drained its messages, so the consumer's writes of a phase's impressions and events are charged to it. Impressions are the impression messages the consumer applied; storage is the sum of every D1 database's \`meta.size_after\` before the phase and after the drain. No table is counted by name.

| phase (median per run) | impressions logged | rows written | rows per 1,000 impressions | storage growth | storage per 1,000 impressions | budget | verdict |
| --- | --- | --- | --- | --- | --- | --- | --- |
${impressionRows.map((r) => `| ${r.join(" | ")} |`).join("\n")}

${table(
  [
    "POST /e, batches of 20",
    "events applied",
    "rows written",
    "rows per event",
    "rows written in the request",
    "budget",
    "verdict",
  ],
  [
    eventRow("through the events queue (consumer included)", w.queueRuns, w.rowsPerEventQueued, "e_queue"),
    eventRow("direct writes (no queue binding)", w.directRuns, w.rowsPerEventDirect, "e_direct"),
  ],
)}

- **Rows written per 1,000 fully logged impressions** (/b steady, consumer included: returning visitors): **${fmt(w.rowsPer1000Impressions, 1)}** (budget ≤ ${ROWS_PER_1000_IMPRESSIONS_BUDGET}) — ${verdict(w.rowsPass)}.${
    w.firstExposure
      ? ` Showing the same ${fmt(w.firstExposure.impressions)} visitors the placement for the first time, before the runs, wrote ${fmt(w.firstExposure.rowsPer1000, 1)} rows and grew storage by ${kb(w.firstExposure.bytesPer1000)} per 1,000 impressions: a first exposure is a fact about a person, one exposures row with its two index entries.`
      : ""
  }
- **Rows written per event applied**: **${fmt(w.rowsPerEventQueued, 3)}** through the queue, **${fmt(w.rowsPerEventDirect, 3)}** direct (budget ≤ ${ROWS_PER_EVENT_BUDGET}) — ${verdict(w.eventsPass)}.
- **Storage growth per 1,000 impressions** (/b steady, returning visitors): **${kb(w.bytesPer1000Impressions)}** (budget ≤ 5 KB) — ${verdict(w.bytesPass)}. SQLite grows by whole pages (4 KB), so one run's growth is exact only over a few thousand impressions.
- Rows written before the response, per request (medians of 20 sequential requests): ${Object.entries(
    http.requestRowsWritten,
  )
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(", ")}.
- Statements whose rows_written D1 did not report (exec, or a runtime without the internals raw() is metered through): ${fmt(w.unmetered)}${w.unmetered ? " — **the row figures above undercount**" : ""}.
- The steady phase rotates through a fixed set of visitors who were shown the placement once before the runs (the generated data holds no impression history): every run measures returning visitors, whatever its throughput.
`;
}
