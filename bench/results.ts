/**
 * bench/RESULTS.md is shared by several benchmarks: each owns the section between its
 * `<!-- NAME:start -->` and `<!-- NAME:end -->` markers and leaves the others alone.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";

export function writeSection(file: string, name: string, body: string) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const section = `${start}\n${body.trim()}\n${end}`;
  const current = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmark results\n";
  const at = current.indexOf(start);
  const stop = current.indexOf(end);
  const next =
    at >= 0 && stop > at
      ? current.slice(0, at) + section + current.slice(stop + end.length)
      : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
}

export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

export const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "n/a";

export function verdict(pass: boolean | null) {
  return pass === null ? "—" : pass ? "**PASS**" : "**FAIL**";
}

function version(root: string, pkg: string) {
  try {
    return JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8")).version as string;
  } catch {
    return "n/a";
  }
}

export function machine(root: string) {
  let workerd = version(root, "workerd");
  try {
    workerd = execFileSync(join(root, "node_modules/.bin/workerd"), ["--version"], { encoding: "utf8" }).trim();
  } catch {
    // keep the package version
  }
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.versions.node,
    workerd,
    miniflare: version(root, "miniflare"),
    wrangler: version(root, "wrangler"),
    autocannon: version(root, "autocannon"),
    load: loadavg()
      .map((l) => l.toFixed(2))
      .join(" / "),
  };
}
