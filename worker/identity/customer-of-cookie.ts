/**
 * The CRM customer a cookie is linked to, read where the cookie's visitor row is: on its shard
 * (docs/architecture.md, "Shards"), which no HOME statement can read. What a redemption asks of the
 * claiming or purchasing cookie, and a trusted order of the cookie it names.
 */
import { peopleFor, type ShardEnv, type ShardSet } from "../shards/routing";

export async function customerOfCookie(
  env: ShardEnv,
  site: { id: number; shards: ShardSet },
  cookieId: string | null,
): Promise<string | null> {
  if (cookieId === null) return null;
  const row = await peopleFor(env, site, cookieId)
    .d1.prepare("select customer_id from visitors where site_id = ?1 and cookie_id = ?2")
    .bind(site.id, cookieId)
    .first<{ customer_id: string | null }>();
  return row?.customer_id ?? null;
}
