/**
 * Audience export at scale: GET /api/v1/audiences/:id/export streamed to the end, rows per second,
 * and the workerd process's memory while it streams (VmRSS sampled every 50 ms, VmHWM at the end —
 * the process includes the local D1's SQLite, so this is an upper bound for the Worker itself).
 */
import { type Fixture, fillAudience } from "./generate";
import { type BenchWorker, memoryOf } from "./workerd";

export type ExportFigures = {
  rows: number;
  expectedRows: number;
  seconds: number;
  rowsPerSecond: number;
  /** workerd RSS right before the export started (bytes). */
  rssBefore: number;
  /** Highest sampled RSS during the export, and VmHWM (peak since start) after it (bytes). */
  rssMaxDuring: number;
  peak: number;
  status: number;
  fillSeconds: number;
};

export async function measureExport(worker: BenchWorker, fx: Fixture, rows: number): Promise<ExportFigures> {
  const fillStarted = performance.now();
  await fillAudience(worker.db, fx.audienceId, rows, Date.now());
  const fillSeconds = (performance.now() - fillStarted) / 1000;
  // Warm the isolate (first request compiles the Worker) so that the sample starts from steady memory.
  await (await fetch(`${worker.url}/healthz`)).arrayBuffer();
  const before = worker.pid ? memoryOf(worker.pid) : null;
  let maxRss = before?.rss ?? 0;
  const sampler = setInterval(() => {
    const m = worker.pid ? memoryOf(worker.pid) : null;
    if (m && m.rss > maxRss) maxRss = m.rss;
  }, 50);
  const started = performance.now();
  const res = await fetch(`${worker.url}/api/v1/audiences/${fx.audienceId}/export?format=csv&id_space=tw`, {
    headers: { authorization: `Bearer ${fx.apiKey}` },
  });
  let lines = 0;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (let i = 0; i < value.length; i++) if (value[i] === 10) lines++;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const after = worker.pid ? memoryOf(worker.pid) : null;
  // The first line is the CSV header.
  const exported = Math.max(0, lines - 1);
  return {
    rows: exported,
    expectedRows: rows,
    seconds,
    rowsPerSecond: exported / seconds,
    rssBefore: before?.rss ?? Number.NaN,
    rssMaxDuring: Math.max(maxRss, after?.rss ?? 0),
    peak: after?.peak ?? Number.NaN,
    status: res.status,
    fillSeconds,
  };
}
