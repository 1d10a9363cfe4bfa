/**
 * The cron's privacy work (wrangler.toml `[triggers]`): the retention purge. Kept in its own
 * function so the `scheduled` handler can run it beside the audience refresh and webhooks.
 */
import { createDb } from "../db/client";
import { type PurgeResult, purgeExpired } from "./retention";

export async function runScheduled(env: Env, now: number): Promise<PurgeResult> {
  const result = await purgeExpired(createDb(env.DB), now);
  console.log(JSON.stringify({ level: "info", where: "retention purge", ...result }));
  return result;
}
