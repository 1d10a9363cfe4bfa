/**
 * Local development plumbing shared by `npm run dev` and the browser tests: migrate and seed a
 * persisted local D1, and run the Worker with `wrangler dev` on a given port.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { getPlatformProxy } from "wrangler";
import { seedCampaigns } from "./seed/campaigns";
import { seedDemo } from "./seed/demo";

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
function migrateLocal(persistTo: string) {
  const result = spawnSync(
    WRANGLER,
    ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo],
    // CI=true keeps wrangler from asking for confirmation.
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, CI: "true" } },
  );
  if (result.status !== 0) throw new Error(`migrations failed:\n${result.stdout}\n${result.stderr}`);
}

/** Runs `fn` with the local D1 binding (through wrangler's platform proxy, same files as wrangler dev). */
async function withLocalDb<T>(persistTo: string, fn: (db: D1Database) => Promise<T>): Promise<T> {
  const proxy = await getPlatformProxy<Env>({
    configPath: join(ROOT, "wrangler.toml"),
    persist: { path: join(persistTo, "v3") },
  });
  try {
    return await fn(proxy.env.DB);
  } finally {
    await proxy.dispose();
  }
}

export async function prepareLocalDatabase(persistTo: string, shopOrigins: string[]) {
  migrateLocal(persistTo);
  return withLocalDb(persistTo, async (db) => {
    const seeded = await seedDemo(db, { shopOrigins });
    await seedCampaigns(db, { shopUrl: shopOrigins[0] });
    return seeded;
  });
}

export type RunningWorker = { url: string; process: ChildProcess; stop: () => Promise<void> };

/** Starts `wrangler dev` (workerd, local D1, queues, cron) and resolves once /healthz answers. */
export async function startWorker(opts: {
  port: number;
  persistTo: string;
  quiet?: boolean;
  vars?: Record<string, string>;
}): Promise<RunningWorker> {
  const args = ["dev", "--port", String(opts.port), "--ip", "127.0.0.1", "--persist-to", opts.persistTo];
  args.push("--show-interactive-dev-session=false");
  for (const [name, value] of Object.entries(opts.vars ?? {})) args.push("--var", `${name}:${value}`);
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
    stdio: opts.quiet ? ["ignore", "pipe", "pipe"] : ["ignore", "inherit", "inherit"],
    detached: true,
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const url = `http://localhost:${opts.port}`;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${output}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  if (Date.now() >= deadline) throw new Error(`wrangler dev did not become healthy:\n${output}`);
  const stop = async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise((r) => child.once("exit", r));
    // wrangler starts workerd as a child: end the whole process group.
    process.kill(-child.pid, "SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (child.exitCode === null) process.kill(-child.pid, "SIGKILL");
  };
  return { url, process: child, stop };
}
