/**
 * Local development plumbing shared by `npm run dev` and the browser tests: migrate and seed a
 * persisted local D1, and run the Worker with `wrangler dev` on a given port.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { unstable_readConfig } from "wrangler";
import type { SeedRequest, SeedResult } from "./seed/seed-worker";

export const ROOT = resolve(import.meta.dirname, "..");
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");

/** `.dev.vars` holds local secrets; it is created from the committed example when missing. */
export function ensureDevVars() {
  const target = join(ROOT, ".dev.vars");
  if (!existsSync(target)) copyFileSync(join(ROOT, ".dev.vars.example"), target);
}

export function buildTag() {
  if (!existsSync(join(ROOT, "tag", "build.mjs"))) return;
  const result = spawnSync(process.execPath, [join(ROOT, "tag", "build.mjs")], { cwd: ROOT, stdio: "inherit" });
  if (result.status !== 0) throw new Error("building the tag failed");
}

/** Applies the migrations to the local D1 under `persistTo` (wrangler's own state layout). */
/**
 * The D1 databases of wrangler.toml: HOME (`DB`, migrated from migrations/) and every PEOPLE shard
 * (migrated from migrations/people/: docs/architecture.md, "Shards"), so that adding a shard there
 * is all `npm run dev` needs.
 */
function d1Databases() {
  const config = unstable_readConfig({ config: join(ROOT, "wrangler.toml") });
  return config.d1_databases.map((d: { binding: string; database_id?: string; preview_database_id?: string }) => ({
    binding: d.binding,
    // wrangler dev keeps local D1 under <persist-to>/v3/d1, keyed by the database ID.
    id: d.preview_database_id ?? d.database_id ?? d.binding,
  }));
}

function migrateLocal(persistTo: string) {
  for (const { binding } of d1Databases()) {
    const result = spawnSync(
      WRANGLER,
      ["d1", "migrations", "apply", binding, "--local", "--persist-to", persistTo],
      // CI=true keeps wrangler from asking for confirmation.
      { cwd: ROOT, encoding: "utf8", env: { ...process.env, CI: "true" } },
    );
    if (result.status !== 0) throw new Error(`migrations of ${binding} failed:\n${result.stdout}\n${result.stderr}`);
  }
}

/**
 * Runs the demo seed (scripts/seed/seed-worker.ts) inside workerd on the local D1 under `persistTo`:
 * the same files, database ID and compatibility settings `wrangler dev` uses (wrangler.toml).
 */
async function seedInWorkerd(persistTo: string, request: SeedRequest): Promise<SeedResult> {
  const bundle = await build({
    entryPoints: [join(ROOT, "scripts", "seed", "seed-worker.ts")],
    bundle: true,
    format: "esm",
    // As wrangler bundles a Worker: workerd's export conditions, node: built-ins from nodejs_compat.
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    external: ["node:*", "cloudflare:*"],
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  const config = unstable_readConfig({ config: join(ROOT, "wrangler.toml") });
  const mf = new Miniflare({
    modules: true,
    script: bundle.outputFiles[0].text,
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    d1Persist: join(persistTo, "v3", "d1"),
    // HOME and every shard, as `wrangler dev` binds them.
    d1Databases: Object.fromEntries(d1Databases().map((d: { binding: string; id: string }) => [d.binding, d.id])),
  });
  try {
    const res = await mf.dispatchFetch("http://seed.local/", { method: "POST", body: JSON.stringify(request) });
    if (!res.ok) throw new Error(`seeding the demo data failed:\n${await res.text()}`);
    return (await res.json()) as SeedResult;
  } finally {
    await mf.dispose();
  }
}

/** `demoOnly`: the demo site, its API key and customers, without campaigns and 30 days of history (faster). */
export async function prepareLocalDatabase(
  persistTo: string,
  shopOrigins: string[],
  options: { demoOnly?: boolean } = {},
) {
  migrateLocal(persistTo);
  return seedInWorkerd(persistTo, { shopOrigins, demoOnly: options.demoOnly });
}

/** True when nothing on this machine listens on `port` (127.0.0.1) right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export type RunningWorker = { url: string; process: ChildProcess; stop: () => Promise<void> };

type StartOptions = {
  port: number;
  /** wrangler's devtools inspector otherwise takes 9229 and dies when another program holds it. */
  inspectorPort: number;
  persistTo: string;
  quiet?: boolean;
  vars?: Record<string, string>;
  /** Expose `/__scheduled` so the scheduled handler can be run on demand (scripts/dev-cron.ts). */
  testScheduled?: boolean;
};

/**
 * Starts `wrangler dev` (workerd, local D1, queues, cron) and resolves once /healthz answers and
 * the start's second tag build is served. A start that dies because a port of workerd's own (not
 * `port`: callers check that one first) was taken between being picked and being bound — two
 * `wrangler dev` starting at once in `npm test` — is tried again, twice at most.
 */
export async function startWorker(opts: StartOptions): Promise<RunningWorker> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startWorkerOnce(opts);
    } catch (error) {
      const message = String(error);
      const internalPortTaken = message.includes("Address already in use") && !message.includes(`:${opts.port})`);
      if (!(error instanceof EarlyExit) || !internalPortTaken || attempt === 3) throw error;
      console.warn(`wrangler dev lost one of workerd's ports to another program while starting; starting again`);
    }
  }
}

class EarlyExit extends Error {}

async function startWorkerOnce(opts: StartOptions): Promise<RunningWorker> {
  const args = ["dev", "--port", String(opts.port), "--ip", "127.0.0.1", "--persist-to", opts.persistTo];
  if (opts.testScheduled) args.push("--test-scheduled");
  args.push("--inspector-port", String(opts.inspectorPort));
  args.push("--show-interactive-dev-session=false");
  for (const [name, value] of Object.entries(opts.vars ?? {})) args.push("--var", `${name}:${value}`);
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so that stop() ends wrangler and the workerd processes it starts.
    detached: true,
  });
  // Whatever way this process ends (a signal, process.exit from a library's own signal handler —
  // miniflare's exit hook exits with 0 before ours runs —, an exception), the server goes with it:
  // a left-over workerd would keep serving the port with stale code.
  const endGroup = () => {
    if (child.exitCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  };
  process.once("exit", endGroup);
  // The last output is kept so that an early exit can say why (it used to print nothing).
  let output = "";
  // wrangler runs wrangler.toml's [build] command once more when its file watcher is ready and
  // then reloads workerd (BundlerController in wrangler's cli.js), sometimes after /healthz has
  // already answered: a test starting then would meet the reload. The start counts as done once
  // that build is served ("Ready on" or "Local server updated and ready" after it).
  let startLog = "";
  let rebuildServed = false;
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_000);
    if (!rebuildServed) {
      startLog += chunk.toString();
      const rebuild = startLog.lastIndexOf("changed, restarting build");
      rebuildServed = rebuild >= 0 && /Ready on |Local server updated and ready/.test(startLog.slice(rebuild));
    }
    if (!opts.quiet) process.stdout.write(chunk);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const url = `http://localhost:${opts.port}`;
  const deadline = Date.now() + 90_000;
  // Should a later wrangler stop building twice, the start waits this long for it, no longer.
  let healthySince: number | undefined;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      process.off("exit", endGroup);
      throw new EarlyExit(
        `wrangler dev exited early (code ${child.exitCode}). Its last output:\n${output.trim() || "(none)"}\n` +
          "Check that nothing else serves this port and that `npm install` completed.",
      );
    }
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) {
        healthySince ??= Date.now();
        if (rebuildServed || Date.now() - healthySince > 20_000) break;
      }
    } catch {
      // not listening yet, or reloading
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  if (Date.now() >= deadline) throw new Error(`wrangler dev did not become healthy:\n${output}`);
  const stop = async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise((r) => child.once("exit", r));
    // wrangler starts workerd as a child: end the whole process group.
    endGroup();
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (child.exitCode === null) process.kill(-child.pid, "SIGKILL");
    process.off("exit", endGroup);
  };
  return { url, process: child, stop };
}
