/**
 * Where a request's workerd CPU goes: V8's sampling profiler, through workerd's inspector (the
 * Chrome DevTools Protocol that `wrangler dev` exposes too), over the Worker's isolate and the
 * local D1's isolate while a phase runs. Timers inside a Worker do not advance during CPU work
 * (Spectre mitigation), so a profile is the only way to split a request's CPU from the inside.
 *
 * Samples are charged to the source module they fall in: the bundle is esbuild's unminified
 * output, which marks the start of each module with a `// path` comment line.
 */
import { readFileSync } from "node:fs";
import WebSocket from "ws";

type ProfileNode = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
};
type Profile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

/** One DevTools session on an inspector target (a workerd worker). */
async function session(url: string) {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let next = 1;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.on("message", (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.result);
  });
  const send = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve) => {
      const id = next++;
      waiting.set(id, (result) => resolve(result as T));
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => ws.close() };
}

/** The bundle's module boundaries: [first line (0-based), module path], in line order. */
function moduleMap(bundlePath: string): [number, string][] {
  const lines = readFileSync(bundlePath, "utf8").split("\n");
  const map: [number, string][] = [];
  lines.forEach((line, i) => {
    const m = /^\/\/ ((?:node_modules|worker|bench|tag)\/\S+)$/.exec(line);
    if (m) map.push([i, m[1]]);
  });
  return map;
}

function moduleAt(map: [number, string][], line: number): string {
  let lo = 0;
  let hi = map.length - 1;
  let found = "(bundle prelude)";
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (map[mid][0] <= line) {
      found = map[mid][1];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  // A package's files count as the package: what a reader can act on.
  const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(found);
  return pkg ? pkg[1] : found;
}

type CpuShare = { where: string; ms: number; share: number };
export type CpuProfile = { target: string; totalMs: number; byModule: CpuShare[]; byFunction: CpuShare[] };

/** Sums self time per key over a profile (the time between a sample and the next is the sample's). */
function selfTimes(profile: Profile, key: (node: ProfileNode) => string) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const times = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const micros = profile.timeDeltas[i + 1] ?? 0;
    if (!node) return;
    const k = key(node);
    times.set(k, (times.get(k) ?? 0) + micros);
  });
  return times;
}

function shares(times: Map<string, number>, top: number): { total: number; list: CpuShare[] } {
  const busy = [...times].filter(([k]) => !k.startsWith("(idle)") && !k.startsWith("(program)"));
  const total = busy.reduce((sum, [, t]) => sum + t, 0);
  const list = busy
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([where, t]) => ({ where, ms: t / 1000, share: total ? t / total : 0 }));
  return { total: total / 1000, list };
}

/**
 * Profiles `run` in the Worker's isolate (`core:user:`) and in every D1 database's isolate of the
 * workerd listening for the inspector on `port`; answers per isolate the CPU split by module and
 * by function (self time, idle excluded; "(garbage collector)" is V8's own).
 */
export async function profileWhile(
  port: number,
  bundlePath: string,
  run: () => Promise<void>,
  top = 12,
): Promise<CpuProfile[]> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as {
    id: string;
    webSocketDebuggerUrl: string;
  }[];
  const chosen = targets.filter((t) => t.id === "core:user:" || t.id.startsWith("d1:"));
  const sessions = await Promise.all(chosen.map(async (t) => ({ id: t.id, s: await session(t.webSocketDebuggerUrl) })));
  for (const { s } of sessions) {
    await s.send("Profiler.enable");
    // 200 µs: fine enough for a request of a millisecond, coarse enough not to change what it measures much.
    await s.send("Profiler.setSamplingInterval", { interval: 200 });
    await s.send("Profiler.start");
  }
  await run();
  const modules = moduleMap(bundlePath);
  const bundleName = bundlePath.slice(bundlePath.lastIndexOf("/") + 1);
  const out: CpuProfile[] = [];
  for (const { id, s } of sessions) {
    const { profile } = await s.send<{ profile: Profile }>("Profiler.stop");
    s.close();
    const isUser = id === "core:user:";
    const moduleOf = (n: ProfileNode) => {
      const f = n.callFrame;
      if (!f.url) return f.functionName.startsWith("(") ? f.functionName : "(native)";
      if (!isUser) return "(D1 simulator)";
      // The bundle's own lines map to its modules; workerd's built-in modules (the D1 and queue
      // bindings' JavaScript, `cloudflare-internal:…`) keep their own names.
      return f.url.endsWith(bundleName) ? moduleAt(modules, f.lineNumber) : f.url;
    };
    const byModule = shares(selfTimes(profile, moduleOf), top);
    const byFunction = shares(
      selfTimes(profile, (n) => {
        const where = moduleOf(n);
        return `${n.callFrame.functionName || "(anonymous)"} · ${where}`;
      }),
      top,
    );
    out.push({
      target: isUser ? "Worker" : `D1 ${id}`,
      totalMs: byModule.total,
      byModule: byModule.list,
      byFunction: byFunction.list,
    });
  }
  return out;
}
