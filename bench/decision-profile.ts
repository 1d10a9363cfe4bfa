/**
 * Where a steady decision's CPU goes, from the inside: a fresh workerd with its inspector open
 * serves `/b` for known visitors (after a warm-up, so the isolate's caches hold site and rules)
 * while bench/cpu-profile.ts samples the Worker's isolate and the local D1's. The phases measured
 * by requests per second and /proc CPU (http-figures.ts) run without the inspector.
 */
import type { CpuProfile } from "./cpu-profile";
import { profileWhile } from "./cpu-profile";
import type { Fixture } from "./generate";
import { BROWSER_UA } from "./load";
import type { BenchWorker } from "./workerd";

export const PROFILE_INSPECTOR_PORT = 9_329;

export type DecisionProfile = { requests: number; isolates: CpuProfile[] };

async function banners(worker: BenchWorker, path: string, cookies: string[], connections = 4) {
  let next = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < cookies.length) {
        const cookie = cookies[next++];
        const res = await fetch(`${worker.url}${path}`, {
          headers: { "user-agent": BROWSER_UA, cookie: `tw_id=${cookie}` },
        });
        await res.arrayBuffer();
      }
    }),
  );
}

export async function profileSteadyDecision(
  worker: BenchWorker,
  bundlePath: string,
  fx: Fixture,
  requests: number,
): Promise<DecisionProfile> {
  const path = `/b/${fx.steadyPlacement}?site=${encodeURIComponent(fx.siteKey)}&format=html`;
  // The last visitors: ones the measured phases did not show the placement to first.
  const cookies = fx.all.slice(-requests);
  await banners(worker, path, cookies.slice(0, 200));
  const isolates = await profileWhile(PROFILE_INSPECTOR_PORT, bundlePath, () => banners(worker, path, cookies));
  return { requests: cookies.length, isolates };
}

/** The profile as Markdown: per isolate, where its sampled CPU went, by module and by function. */
export function profileSection(p: DecisionProfile | undefined): string {
  if (!p) return "";
  const table = (rows: CpuProfile["byModule"]) =>
    [
      "| where | CPU ms | share |",
      "| --- | --- | --- |",
      ...rows.map((r) => `| ${r.where} | ${r.ms.toFixed(1)} | ${(r.share * 100).toFixed(1)} % |`),
    ].join("\n");
  const parts = p.isolates
    .filter((i) => i.totalMs > 1)
    .map(
      (i) =>
        `**${i.target}** — ${i.totalMs.toFixed(0)} ms sampled (${((i.totalMs * 1000) / p.requests).toFixed(0)} µs per request):\n\n${table(i.byModule)}\n\nBy function (self time):\n\n${table(i.byFunction)}`,
    );
  return `
### Where a steady decision's CPU goes (V8 CPU profile)

${p.requests} steady \`/b\` requests of known visitors (4 connections) through a workerd with its inspector open, sampled every 200 µs in the Worker's isolate and in the local D1's (bench/decision-profile.ts). Self time, idle excluded; "(native)" is time in the runtime's own code (fetch, crypto, the D1 binding's calls), "cloudflare-internal:…" the D1 binding's JavaScript. The profiler adds overhead of its own: read the shares, not the absolute times.

${parts.join("\n\n")}
`;
}
