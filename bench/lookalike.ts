/**
 * `npx tsx bench/lookalike.ts`: measures the look-alike model on the generated population (fixed
 * seed) and writes the figures into bench/RESULTS.md between the look-alike markers, leaving the
 * other benchmarks' sections of that file alone.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { evaluateLookalike } from "./lookalike-evaluate";

const START = "<!-- lookalike:start -->";
const END = "<!-- lookalike:end -->";
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), "RESULTS.md");

/** A Markdown table with padded columns, as the formatter (Biome) would write it. */
function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  return [line(rows[0]), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)];
}

const started = performance.now();
const f = evaluateLookalike(20_000, 42, 0.7);
const ms = performance.now() - started;

const section = [
  START,
  "## Look-alikes",
  "",
  "Logistic regression (worker/audiences/lookalike.ts) on a generated population with a hidden",
  "logistic ground truth (bench/lookalike-population.ts, seed 42). Trained on the first 70 %",
  "(positives: converters who arrived from display or a banner; the rest: visitors without a",
  "purchase), measured on the held-out 30 %.",
  "",
  ...table([
    ["figure", "value"],
    ["population", String(f.population)],
    ["training examples (positives)", `${f.trainSize} (${f.trainPositives})`],
    ["held-out visitors", String(f.testSize)],
    ["held-out conversion rate", `${(f.baseRate * 100).toFixed(1)} %`],
    ["AUC, held-out (random = 0.500)", f.auc.toFixed(3)],
    ["AUC of the true propensity (ceiling)", f.oracleAuc.toFixed(3)],
    ["lift in the top decile (random = 1.00)", f.liftTopDecile.toFixed(2)],
    [`train + score time (Node ${process.versions.node})`, `${ms.toFixed(0)} ms`],
  ]),
  "",
  `Measured ${new Date().toISOString().slice(0, 10)} with \`npx tsx bench/lookalike.ts\`.`,
  END,
].join("\n");

const current = existsSync(RESULTS) ? readFileSync(RESULTS, "utf8") : "# Benchmark results\n";
const pattern = new RegExp(`${START}[\\s\\S]*?${END}`);
const next = pattern.test(current) ? current.replace(pattern, section) : `${current.trimEnd()}\n\n${section}\n`;
writeFileSync(RESULTS, next);
console.log(section);
