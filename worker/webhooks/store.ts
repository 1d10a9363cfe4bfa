/**
 * Webhooks per site: a URL that hears when a person enters or leaves a segment. The signing secret
 * of a webhook is derived (HMAC of SIGNING_SECRET with the webhook's ID and its secret version), so
 * no secret is stored; it is shown on creation, in the Standard Webhooks form `whsec_BASE64` (32
 * random-looking bytes), which receivers' libraries take as it is. `POST /api/v1/webhooks/:id/secret`
 * rotates it: the next version becomes the secret, and the previous one keeps signing beside it
 * (Standard Webhooks allows several signatures in `webhook-signature`) for a grace period, so the
 * receiver can switch without losing a delivery.
 */
import { and, asc, desc, eq, sql } from "drizzle-orm";
import { toBase64 } from "../auth/crypto";
import { deriveKeyBytes } from "../auth/signing";
import { segments, webhookDeliveries, webhookMemberships, webhooks } from "../db/schema";
import type { Db } from "../env";
import { apiError } from "../errors";
import type { PeopleDb } from "../shards/routing";

export type Webhook = typeof webhooks.$inferSelect;
export type Delivery = typeof webhookDeliveries.$inferSelect;

/**
 * The key bytes that sign the webhook's deliveries; version 0 is the secret a webhook is created with.
 * @internal Exported for tests; the Worker itself does not import it.
 */
export function webhookKey(signingSecret: string, webhookId: number, version = 0): Promise<Uint8Array> {
  return deriveKeyBytes(signingSecret, "webhook", version === 0 ? webhookId : `${webhookId}.v${version}`);
}

/** The secret as the tenant sees it: `whsec_` + Base64 of the key (Standard Webhooks). */
export async function webhookSecret(signingSecret: string, webhookId: number, version = 0): Promise<string> {
  return `whsec_${toBase64(await webhookKey(signingSecret, webhookId, version))}`;
}

/** The keys that sign a delivery now: the current version, and the previous one during its grace period. */
export async function signingKeys(
  signingSecret: string,
  webhook: Pick<Webhook, "id" | "secretVersion" | "previousSecretUntil">,
  now: number,
): Promise<Uint8Array[]> {
  const keys = [await webhookKey(signingSecret, webhook.id, webhook.secretVersion)];
  if (webhook.secretVersion > 0 && (webhook.previousSecretUntil ?? 0) > now) {
    keys.push(await webhookKey(signingSecret, webhook.id, webhook.secretVersion - 1));
  }
  return keys;
}

/** Moves the webhook to its next secret version; the previous one signs too for `graceHours`. */
export async function rotateWebhookSecret(
  db: Db,
  siteId: number,
  id: number,
  graceHours: number,
  now: number,
): Promise<Webhook> {
  await getWebhook(db, siteId, id);
  const [row] = await db
    .update(webhooks)
    .set({
      secretVersion: sql`${webhooks.secretVersion} + 1`,
      previousSecretUntil: graceHours > 0 ? now + graceHours * 3_600_000 : null,
      updatedAt: now,
    })
    .where(and(eq(webhooks.siteId, siteId), eq(webhooks.id, id)))
    .returning();
  return row;
}

export function webhookToJson(w: Webhook) {
  return {
    id: w.id,
    url: w.url,
    segment_id: w.segmentId,
    enabled: w.enabled,
    created_at: w.createdAt,
    updated_at: w.updatedAt,
  };
}

export function deliveryToJson(d: Delivery) {
  return {
    id: d.id,
    webhook_id: d.webhookId,
    status: d.status,
    attempts: d.attempts,
    last_error: d.lastError,
    payload: JSON.parse(d.payload) as Record<string, unknown>,
    created_at: d.createdAt,
    delivered_at: d.deliveredAt,
  };
}

export function listWebhooks(db: Db, siteId: number) {
  return db.select().from(webhooks).where(eq(webhooks.siteId, siteId)).orderBy(asc(webhooks.id));
}

export async function getWebhook(db: Db, siteId: number, id: number): Promise<Webhook> {
  const [row] = await db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.siteId, siteId), eq(webhooks.id, id)));
  if (!row) throw apiError(404, "not_found", `No webhook ${id} in this site`);
  return row;
}

export async function segmentExpression(db: Db, siteId: number, segmentId: number): Promise<string> {
  const [row] = await db
    .select({ expression: segments.expression })
    .from(segments)
    .where(and(eq(segments.siteId, siteId), eq(segments.id, segmentId)));
  if (!row) throw apiError(400, "validation_failed", `segment_id: no segment ${segmentId} in this site`);
  return row.expression;
}

export async function insertWebhook(
  db: Db,
  siteId: number,
  input: { url: string; segment_id: number; enabled?: boolean },
  now: number,
): Promise<Webhook> {
  await segmentExpression(db, siteId, input.segment_id);
  const [row] = await db
    .insert(webhooks)
    .values({
      siteId,
      url: input.url,
      segmentId: input.segment_id,
      enabled: input.enabled ?? true,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  return row;
}

export async function patchWebhook(
  db: Db,
  people: readonly PeopleDb[],
  siteId: number,
  id: number,
  patch: { url?: string; segment_id?: number; enabled?: boolean },
  now: number,
): Promise<{ webhook: Webhook; segmentChanged: boolean }> {
  const current = await getWebhook(db, siteId, id);
  if (patch.segment_id !== undefined) await segmentExpression(db, siteId, patch.segment_id);
  const segmentChanged = patch.segment_id !== undefined && patch.segment_id !== current.segmentId;
  const [row] = await db
    .update(webhooks)
    .set({
      url: patch.url ?? current.url,
      segmentId: patch.segment_id ?? current.segmentId,
      enabled: patch.enabled ?? current.enabled,
      updatedAt: now,
    })
    .where(and(eq(webhooks.siteId, siteId), eq(webhooks.id, id)))
    .returning();
  if (segmentChanged) {
    await forgetMembers(people, id);
    await db.delete(webhookMemberships).where(eq(webhookMemberships.webhookId, id));
  }
  return { webhook: row, segmentChanged };
}

/** The webhook's members on the shards of the site's set (HOME's go with the caller's own statement). */
async function forgetMembers(people: readonly PeopleDb[], webhookId: number) {
  for (const shard of people.filter((p) => p.shard !== null)) {
    await shard.db.delete(webhookMemberships).where(eq(webhookMemberships.webhookId, webhookId));
  }
}

/** Its members are on every database of the site's set (`people`): a shard's go first (see deleteAudience). */
export async function deleteWebhook(db: Db, people: readonly PeopleDb[], siteId: number, id: number): Promise<void> {
  await getWebhook(db, siteId, id);
  await forgetMembers(people, id);
  await db.batch([
    db.delete(webhookMemberships).where(eq(webhookMemberships.webhookId, id)),
    db.delete(webhookDeliveries).where(eq(webhookDeliveries.webhookId, id)),
    db.delete(webhooks).where(and(eq(webhooks.siteId, siteId), eq(webhooks.id, id))),
  ]);
}

export function listDeliveries(db: Db, webhookId: number, status?: Delivery["status"], limit = 100) {
  const where = status
    ? and(eq(webhookDeliveries.webhookId, webhookId), eq(webhookDeliveries.status, status))
    : eq(webhookDeliveries.webhookId, webhookId);
  return db.select().from(webhookDeliveries).where(where).orderBy(desc(webhookDeliveries.id)).limit(limit);
}

export async function getDelivery(db: Db, webhookId: number, deliveryId: number): Promise<Delivery> {
  const [row] = await db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.webhookId, webhookId), eq(webhookDeliveries.id, deliveryId)));
  if (!row) throw apiError(404, "not_found", `No delivery ${deliveryId} of webhook ${webhookId}`);
  return row;
}
