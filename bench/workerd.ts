/**
 * Serves the bundled bench Worker in workerd through Miniflare's API, on loopback. Miniflare hands
 * the port to workerd itself, so nothing in Node sits in the request path — unlike `wrangler dev`,
 * whose dev proxy cuts throughput by two thirds (docs/architecture.md, "Budgets and where they are measured").
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Log, LogLevel, Miniflare } from "miniflare";
import { unstable_readConfig } from "wrangler";
import { QUEUES } from "../worker/pipeline/queues";

export type BenchWorker = {
  mf: Miniflare;
  url: string;
  pid: number | null;
  /** HOME, the `DB` binding: the bench generates its data through it. */
  db: D1Database;
  /** Every D1 binding of wrangler.toml (HOME and any shard), by binding name. */
  databases: Record<string, D1Database>;
  dispose: () => Promise<void>;
};

/** compatibility_date and flags come from the real wrangler.toml, so the bench runs what ships. */
function compatibility(root: string) {
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1] ?? "2026-03-01";
  const flags = [...(/^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1] ?? "").matchAll(/"([^"]+)"/g)].map(
    (m) => m[1],
  );
  return { date, flags };
}

/**
 * The per-IP rate limiters of wrangler.toml, bound as in production (same names and periods) but
 * with a limit the bench cannot reach: all of its load comes from one loopback address, which the
 * real limits would throttle, and the Worker must still pay for asking them on every request.
 */
function rateLimiters(root: string) {
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
  const limiters: Record<string, { simple: { limit: number; period: 10 | 60 } }> = {};
  for (const block of toml.split("[[ratelimits]]").slice(1)) {
    const name = /^name\s*=\s*"([^"]+)"/m.exec(block)?.[1];
    const period = Number(/period\s*=\s*(\d+)/.exec(block)?.[1] ?? 60) === 10 ? 10 : 60;
    if (name) limiters[name] = { simple: { limit: 1_000_000_000, period } };
  }
  return limiters;
}

/**
 * The D1 databases and R2 buckets of wrangler.toml, read with wrangler's own config reader, so
 * that the bench binds whatever storage the Worker declares (shards, the raw-event archive).
 * wrangler's declarations do not resolve under this tsconfig: the fields are typed by hand.
 */
function storage(root: string) {
  const config: {
    d1_databases?: { binding: string; database_name?: string }[];
    r2_buckets?: { binding: string; bucket_name?: string }[];
  } = unstable_readConfig({ config: join(root, "wrangler.toml") });
  return {
    d1Databases: Object.fromEntries(
      (config.d1_databases ?? []).map((d) => [d.binding, `${d.database_name ?? d.binding}-bench`]),
    ),
    r2Buckets: Object.fromEntries((config.r2_buckets ?? []).map((b) => [b.binding, b.bucket_name ?? b.binding])),
  };
}

/** The size of every D1 database, summed: D1 answers it with every result (`meta.size_after`). */
export async function storageBytes(worker: Pick<BenchWorker, "databases">): Promise<number> {
  let bytes = 0;
  for (const db of Object.values(worker.databases)) bytes += (await db.prepare("select 1").run()).meta.size_after;
  return bytes;
}

/** workerd processes of the bench workers still running: two may run side by side (bench/shards.ts). */
const claimed = new Set<number>();

/** The workerd process Miniflare started: a child of this Node process that no other bench worker owns. */
function findWorkerdPid(): number | null {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || claimed.has(Number(entry))) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const match = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
      if (match?.[1].startsWith("workerd") && Number(match[2]) === process.pid) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return null;
}

/** Peak (VmHWM) and current (VmRSS) resident memory of a process, in bytes. */
export function memoryOf(pid: number): { peak: number; rss: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
    return { peak: kb("VmHWM"), rss: kb("VmRSS") };
  } catch {
    return null;
  }
}

/** CPU time (user + system) a process has used, in ms (from /proc; clock ticks of 10 ms). */
export function cpuMsOf(pid: number | null): number {
  if (pid === null) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat(5); `fields` starts at field 3.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

export async function startBenchWorker(opts: {
  root: string;
  scriptPath: string;
  /** Where the local D1 databases and R2 buckets live (`d1/`, `r2/` under it). */
  persistDir: string;
  /** Opens workerd's inspector on this port (bench/cpu-profile.ts profiles through it). */
  inspectorPort?: number;
}): Promise<BenchWorker> {
  const { date, flags } = compatibility(opts.root);
  const { d1Databases, r2Buckets } = storage(opts.root);
  const mf = new Miniflare({
    host: "127.0.0.1",
    // BENCH_WORKERD_LOG=1 prints workerd's own log (every request and queue delivery): for a run
    // whose workerd stops answering, to see the last thing it did.
    ...(process.env.BENCH_WORKERD_LOG ? { log: new Log(LogLevel.DEBUG) } : {}),
    port: 0,
    ...(opts.inspectorPort ? { inspectorPort: opts.inspectorPort } : {}),
    modules: true,
    scriptPath: opts.scriptPath,
    compatibilityDate: date,
    compatibilityFlags: flags,
    d1Databases,
    d1Persist: join(opts.persistDir, "d1"),
    r2Buckets,
    r2Persist: join(opts.persistDir, "r2"),
    // The queues of wrangler.toml (worker/pipeline/queues.ts): /e and impressions go through the
    // events queue; webhooks have their own.
    queueProducers: Object.fromEntries(Object.values(QUEUES).map((q) => [q.binding, { queueName: q.name }])),
    queueConsumers: Object.fromEntries(
      Object.values(QUEUES).map((q) => [
        q.name,
        { maxBatchSize: q.maxBatchSize, maxBatchTimeout: q.maxBatchTimeout, maxRetries: q.maxRetries },
      ]),
    ),
    ratelimits: rateLimiters(opts.root),
    bindings: {
      ENVIRONMENT: "bench",
      OPERATOR_TOKEN: "bench-operator-token",
      SIGNING_SECRET: "bench-signing-secret-0123456789abcdef",
      SESSION_SECRET: "bench-session-secret-0123456789abcdef",
    },
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  const databases: Record<string, D1Database> = {};
  for (const binding of Object.keys(d1Databases)) databases[binding] = await mf.getD1Database(binding);
  const pid = findWorkerdPid();
  if (pid !== null) claimed.add(pid);
  const dispose = async () => {
    await mf.dispose();
    if (pid !== null) claimed.delete(pid);
  };
  return { mf, url, pid, db: databases.DB, databases, dispose };
}
