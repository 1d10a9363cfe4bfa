/**
 * The cron trigger in local development. `wrangler dev` never fires a Worker's crons on its own;
 * with `--test-scheduled` it runs the scheduled handler when `/__scheduled?cron=EXPR` is called.
 * `npm run dev` calls that on the schedule of wrangler.toml's `[triggers] crons`, so audience sizes,
 * look-alike scores, webhook entries and the retention purge happen locally as they do deployed.
 *
 * The matcher is hand-written because no cron library is a declared dependency of this project,
 * and the five-field subset Cloudflare's triggers use here (`*`, `N`, `A-B`, `*\/N`, `A-B/N`,
 * lists) is small; names (JAN, MON) and the `L`/`W`/`#` extensions are refused with a clear error.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

type Field = { min: number; max: number };
const FIELDS: Field[] = [
  { min: 0, max: 59 }, // minute
  { min: 0, max: 23 }, // hour
  { min: 1, max: 31 }, // day of month
  { min: 1, max: 12 }, // month
  { min: 0, max: 7 }, // day of week (0 and 7 are Sunday)
];

/** The cron expressions of wrangler.toml's `[triggers] crons = [...]`. */
export function readCrons(root: string): string[] {
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
  const list = /^\s*crons\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1] ?? "";
  return [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
}

function values(part: string, field: Field, expression: string): Set<number> {
  const out = new Set<number>();
  for (const item of part.split(",")) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!match) throw new Error(`cron "${expression}": unsupported field "${part}" (numbers, *, ranges, steps only)`);
    const from = match[1] === "*" ? field.min : Number(match[2]);
    const to = match[1] === "*" ? field.max : match[3] !== undefined ? Number(match[3]) : match[4] ? field.max : from;
    const step = match[4] ? Number(match[4]) : 1;
    if (from < field.min || to > field.max || step < 1) throw new Error(`cron "${expression}": "${item}" out of range`);
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

/** A predicate telling whether the expression fires in the UTC minute of a date (Cloudflare crons run in UTC). */
export function cronMatcher(expression: string): (date: Date) => boolean {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`cron "${expression}": expected five fields`);
  const [minute, hour, dom, month, dow] = parts.map((part, i) => values(part, FIELDS[i], expression));
  if (dow.has(7)) dow.add(0);
  const domAny = parts[2] === "*";
  const dowAny = parts[4] === "*";
  return (date) => {
    const dayOk =
      domAny || dowAny
        ? dom.has(date.getUTCDate()) && dow.has(date.getUTCDay())
        : // Both restricted: either matches (the classic cron rule).
          dom.has(date.getUTCDate()) || dow.has(date.getUTCDay());
    return (
      minute.has(date.getUTCMinutes()) && hour.has(date.getUTCHours()) && month.has(date.getUTCMonth() + 1) && dayOk
    );
  };
}

/**
 * Calls `/__scheduled` of the running `wrangler dev --test-scheduled` at every minute its crons
 * match, and once at start so the demo's audiences and scores are fresh. Returns a stop function.
 */
export function runCronLocally(edgeUrl: string, crons: string[], log = console.log): () => void {
  const schedules = crons.map((cron) => ({ cron, matches: cronMatcher(cron) }));
  const fire = async (cron: string) => {
    try {
      const res = await fetch(`${edgeUrl}/__scheduled?cron=${encodeURIComponent(cron)}`);
      log(`[cron ${new Date().toISOString().slice(11, 16)} UTC] scheduled handler (${cron}): ${res.status}`);
    } catch (error) {
      log(`[cron] scheduled handler (${cron}) failed: ${String(error)}`);
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    const now = new Date();
    for (const { cron, matches } of schedules) if (matches(now)) void fire(cron);
    // The next whole minute (plus a little, so the clock has really turned).
    timer = setTimeout(tick, 60_000 - (Date.now() % 60_000) + 50);
  };
  if (schedules[0]) void fire(schedules[0].cron);
  timer = setTimeout(tick, 60_000 - (Date.now() % 60_000) + 50);
  return () => clearTimeout(timer);
}
