// `npm run bench`: runs each benchmark in turn; each writes its own section of bench/RESULTS.md.
import { spawnSync } from "node:child_process";

const BENCHMARKS = ["bench/lookalike.ts"];

for (const file of BENCHMARKS) {
  console.log(`\n▶ ${file}`);
  const result = spawnSync("npx", ["tsx", file], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
