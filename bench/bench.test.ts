/**
 * `npm test` runs the benchmark harness once on a tiny data set so that it cannot rot: every
 * figure must come out as a number. No timed assertions — the values of a tiny run mean nothing.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { Figures } from "./report";
import { writeFigures } from "./report-writes";

const ROOT = resolve(import.meta.dirname, "..");

describe("the benchmark harness", () => {
  it("builds, generates, serves, loads and measures every figure on a tiny data set", () => {
    const run = spawnSync(process.execPath, [join(ROOT, "node_modules/tsx/dist/cli.mjs"), "bench/run.ts", "--tiny"], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 170_000,
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    const f = JSON.parse(readFileSync(join(ROOT, "bench/.data/tiny/figures.json"), "utf8")) as Figures;
    for (const name of [
      "empty",
      "one_read",
      "b_steady",
      "b_holder",
      "b_claim",
      "b_anon",
      "e_queue",
      "e_direct",
      "part_load",
    ]) {
      const figure = f.http.median[name];
      expect(figure?.rps, name).toBeGreaterThan(0);
      expect(Number.isFinite(figure.p99), name).toBe(true);
      expect(figure.ok, `${name}: every request answered 2xx`).toBeGreaterThan(0);
      expect(figure.non2xx + figure.errors, name).toBe(0);
    }
    // Round trips are counted, not timed: these are the budgets themselves.
    expect(f.http.roundTrips).toMatchObject({ b_steady: 1, b_holder: 1, b_claim: 2, b_anon: 0 });
    // Every decision budget is reported in both measures (verdicts, not asserted: a tiny run means nothing).
    const results = readFileSync(join(ROOT, "bench/.data/tiny/RESULTS.md"), "utf8");
    for (const phase of ["known visitor", "holds a code", "first coupon claim", "anonymous"]) {
      expect(results).toMatch(
        new RegExp(
          `\\| /b [^|]*${phase}[^|]*\\|(?:[^|\\n]*\\|){7}\\s*\\*\\*(PASS|FAIL)\\*\\* \\| \\*\\*(PASS|FAIL)\\*\\* \\|`,
        ),
      );
    }
    expect(f.http.loggedImpressionsPerSecond).toBeGreaterThan(0);
    // What a request writes, from D1's meta.rows_written: every figure measured, every statement metered.
    const writes = writeFigures(f.http);
    expect(writes.steadyRuns[0]?.impressions, "the consumer applied the steady phase's impressions").toBeGreaterThan(0);
    expect(writes.queueRuns[0]?.events, "the consumer applied the queued events").toBeGreaterThan(0);
    expect(writes.directRuns[0]?.events).toBeGreaterThan(0);
    for (const [name, value] of Object.entries({
      rowsPer1000Impressions: writes.rowsPer1000Impressions,
      rowsPerEventQueued: writes.rowsPerEventQueued,
      rowsPerEventDirect: writes.rowsPerEventDirect,
      bytesPer1000Impressions: writes.bytesPer1000Impressions,
    })) {
      expect(Number.isFinite(value), `${name} is a number`).toBe(true);
    }
    // Events are rows somewhere: a meter that read no rows_written would report zero.
    expect(writes.directRuns[0].rows).toBeGreaterThan(0);
    expect(writes.queueRuns[0].rows).toBeGreaterThan(0);
    expect(writes.unmetered, "statements whose rows_written could not be read").toBe(0);
    expect(f.http.requestRowsWritten.e_direct).toBeGreaterThan(0);
    expect(Number.isFinite(f.http.requestRowsWritten.b_steady)).toBe(true);
    for (const line of ["rows per 1,000 impressions", "rows per event", "storage per 1,000 impressions"]) {
      expect(results).toContain(line);
    }
    expect(results).toMatch(
      /Rows written per 1,000 fully logged impressions[^\n]*\*\*\d[\d,.]*\*\*[^\n]*\*\*(PASS|FAIL)\*\*/,
    );
    expect(results).toMatch(/Rows written per event applied[^\n]*\*\*\d[\d,.]*\*\*[^\n]*\*\*(PASS|FAIL)\*\*/);
    expect(results).toMatch(
      /Storage growth per 1,000 impressions[^\n]*\*\*-?\d[\d,.]* KB\*\*[^\n]*\*\*(PASS|FAIL)\*\*/,
    );
    expect(f.http.queuedEventsAppliedPerSecond).toBeGreaterThan(0);
    expect(f.export.rows).toBe(f.scale.audienceRows);
    expect(f.export.peak).toBeGreaterThan(0);
    expect(f.decision.worstCaseMicros).toBeGreaterThan(0);
    expect(f.decision.bestAllEligibleMicros).toBeGreaterThan(0);
    // Next best offer: every simulated visit got a banner from both arms through /b.
    expect(f.offers.total.best.impressions).toBe(f.offers.total.oracle.impressions);
    expect(f.offers.total.priority.impressions).toBe(f.offers.total.oracle.impressions);
    expect(f.offers.total.oracle.impressions).toBeGreaterThan(0);
    expect(f.segments.evaluationsPerSecond).toBeGreaterThan(0);
    expect(f.tags[0]).toMatchObject({ name: "tagwerk (tag/src)" });
    // Look-alike positives come out of the event path (acquisition from the landing page, then a purchase).
    expect(f.lookalike.positivesInD1).toBe(f.lookalike.expectedPositives);
    expect(f.lookalike.positivesInD1).toBeGreaterThan(0);
    expect(Number.isFinite(f.lookalike.auc) && Number.isFinite(f.lookalike.liftTopDecile)).toBe(true);
    // The CPU profile sampled the Worker's own modules while it served steady banners.
    const worker = f.profile?.isolates.find((i) => i.target === "Worker");
    expect(worker?.totalMs, "the profile sampled the Worker's isolate").toBeGreaterThan(0);
    expect(worker?.byModule.some((m) => m.where.startsWith("worker/"))).toBe(true);
    expect(results).toContain("Where a steady decision's CPU goes");
    expect(results).toContain("<!-- bench:end -->");
    expect(results).toContain("<!-- lookalike:end -->");
    expect(results).toContain("<!-- offers:end -->");
  }, 180_000);
});
