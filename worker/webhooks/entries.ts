/**
 * Segment entries: which visitors entered a webhook's segment since the last check. webhook_members
 * holds who was inside; a range-by-range INSERT ... SELECT ... RETURNING adds the newcomers (the
 * rows it returns are exactly the entries) and a DELETE drops the leavers, so leaving and coming
 * back triggers again. Each entry becomes a `pending` delivery row first and a queue message
 * second: a crash between the two leaves a pending row that a replay sends — never a lost event.
 *
 * A new webhook (or a changed segment) starts from a baseline: visitors already inside are
 * recorded without deliveries — they did not enter, they were there.
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import { batchSql, MEMBERS_FROM, REFRESH_RANGE } from "../audiences/refresh";
import { segmentCondition } from "../audiences/segment-condition";
import { webhooks } from "../db/schema";
import type { Db } from "../env";
import type { Webhook } from "./webhooks";
import { segmentExpression } from "./webhooks";

export type WebhookMessage = { delivery_id: number };

/** Queue.sendBatch takes at most 100 messages. */
const SEND_BATCH = 100;

export async function enqueueDeliveries(queue: Queue<WebhookMessage>, ids: number[]): Promise<void> {
  for (let i = 0; i < ids.length; i += SEND_BATCH) {
    await queue.sendBatch(ids.slice(i, i + SEND_BATCH).map((id) => ({ body: { delivery_id: id } })));
  }
}

async function createDeliveries(db: Db, webhook: Webhook, cookieIds: string[], now: number): Promise<number[]> {
  if (cookieIds.length === 0) return [];
  // One statement for the whole range's entries; the payload is stored exactly as it is sent and signed.
  const rows = await db.all<{ id: number }>(sql`insert into webhook_deliveries
      (site_id, webhook_id, payload, status, attempts, created_at)
    select ${webhook.siteId}, ${webhook.id},
      json_object('event', 'segment.entered', 'webhook_id', ${webhook.id}, 'segment_id', ${webhook.segmentId},
        'visitor', j.value, 'at', ${now}),
      'pending', 0, ${now}
    from json_each(${JSON.stringify(cookieIds)}) j
    returning id`);
  return rows.map((r) => r.id);
}

export async function syncWebhookMembers(
  db: Db,
  webhook: Webhook,
  now: number,
  {
    queue,
    notify = true,
    range = REFRESH_RANGE,
  }: { queue?: Queue<WebhookMessage>; notify?: boolean; range?: number } = {},
): Promise<{ entered: number; deliveries: number[] }> {
  const condition: SQL = segmentCondition(await segmentExpression(db, webhook.siteId, webhook.segmentId), now);
  const siteId = webhook.siteId;
  const [bounds] = await db.all<{ lo: number | null; hi: number | null }>(
    sql`select min(id) as lo, max(id) as hi from visitors where site_id = ${siteId}`,
  );
  const lo = bounds?.lo ?? 0;
  const hi = bounds?.hi ?? -1;
  const deliveries: number[] = [];
  let entered = 0;
  for (let start = lo; start <= hi; start += range) {
    const end = start + range - 1;
    const inRange = sql`v.site_id = ${siteId} and v.id between ${start} and ${end}`;
    const [inserted] = await batchSql(db, [
      sql`insert into webhook_members (webhook_id, cookie_id, entered_at)
        select ${webhook.id}, v.cookie_id, ${now} from ${MEMBERS_FROM} where ${inRange} and ${condition}
        on conflict do nothing returning cookie_id`,
      sql`delete from webhook_members where webhook_id = ${webhook.id} and cookie_id in (
        select v.cookie_id from ${MEMBERS_FROM} where ${inRange} and not coalesce(${condition}, 0))`,
    ]);
    const cookieIds = (inserted.results as { cookie_id: string }[]).map((r) => r.cookie_id);
    entered += cookieIds.length;
    if (notify && cookieIds.length) {
      const ids = await createDeliveries(db, webhook, cookieIds, now);
      deliveries.push(...ids);
      if (queue) await enqueueDeliveries(queue, ids);
    }
  }
  // Erased visitors leave every segment.
  await db.run(sql`delete from webhook_members where webhook_id = ${webhook.id}
    and not exists (select 1 from visitors v where v.site_id = ${siteId} and v.cookie_id = webhook_members.cookie_id)`);
  return { entered, deliveries };
}

/** Cron: every enabled webhook of the site; one failing webhook does not stop the others. */
export async function checkSiteWebhooks(db: Db, siteId: number, queue: Queue<WebhookMessage>, now: number) {
  const rows = await db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.siteId, siteId), eq(webhooks.enabled, true)));
  for (const webhook of rows) {
    try {
      await syncWebhookMembers(db, webhook, now, { queue });
    } catch (error) {
      console.error(
        JSON.stringify({ level: "error", job: "webhook-entries", webhook: webhook.id, error: String(error) }),
      );
    }
  }
}
