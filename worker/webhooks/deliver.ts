/**
 * One webhook delivery: signed and POSTed by the webhooks queue's consumer
 * (pipeline/webhooks-consumer.ts), one attempt per queue message.
 *
 * Signature: the Standard Webhooks specification (standardwebhooks.com), so that receivers verify
 * with any of its libraries: `webhook-id` (the delivery's ID, the same on every retry and replay —
 * the receiver's idempotency key), `webhook-timestamp` (UNIX seconds of this attempt) and
 * `webhook-signature: v1,BASE64(HMAC-SHA256(key, id + "." + timestamp + "." + body))`, where the key
 * is the Base64-decoded part of the webhook's `whsec_` secret — after a rotation, during its grace
 * period, a second `v1,…` signature (space-separated) under the previous secret, so a receiver
 * verifies with either (store.ts). Receivers refuse timestamps more than five minutes off, which
 * stops replays.
 *
 * Retries: a non-2xx answer or a network error retries the message with exponential backoff
 * (30 s, 1, 2, 4, 8 min) up to MAX_ATTEMPTS; the last failure leaves the row `failed` with its
 * last error (a category such as "HTTP 5xx from receiver", public-url.ts), listed by the API and
 * replayable. Queues deliver at least once, so a row already
 * `delivered` is acknowledged without sending again.
 */
import { and, eq, sql } from "drizzle-orm";
import { toBase64 } from "../auth/crypto";
import { hmacSha256 } from "../auth/signing";
import { webhookDeliveries, webhooks } from "../db/schema";
import type { Db } from "../env";
import { postToReceiver, type ReceiverAnswer, sendToReceiver } from "./public-url";
import { signingKeys, type Webhook } from "./store";

export const MAX_ATTEMPTS = 6;

export function backoffSeconds(attempt: number): number {
  return Math.min(30 * 2 ** (attempt - 1), 3_600);
}

/**
 * The Standard Webhooks headers for one attempt at `body`: one signature per key.
 * @internal Exported for tests; the Worker itself does not import it.
 */
export async function signatureHeaders(
  keys: Uint8Array[],
  messageId: string,
  body: string,
  now: number,
): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(now / 1000));
  const signatures = await Promise.all(
    keys.map(async (key) => `v1,${toBase64(await hmacSha256(key, `${messageId}.${timestamp}.${body}`))}`),
  );
  return { "webhook-id": messageId, "webhook-timestamp": timestamp, "webhook-signature": signatures.join(" ") };
}

/**
 * `webhook-id` of a delivery: unique per deployment, stable across retries and replays.
 * @internal Exported for tests; the Worker itself does not import it.
 */
export function messageIdOf(deliveryId: number): string {
  return `msg_${deliveryId}`;
}

/** The request every delivery sends: JSON, our user agent, the Standard Webhooks headers. */
async function signedRequest(keys: Uint8Array[], messageId: string, body: string, now: number) {
  return {
    headers: {
      "Content-Type": "application/json",
      "User-Agent": "tagwerk-webhooks/1",
      ...(await signatureHeaders(keys, messageId, body, now)),
    },
    body,
  };
}

/** A test delivery's payload: its own type, so a receiver can acknowledge it and change nothing. */
function testPayload(webhook: Pick<Webhook, "id" | "segmentId">, now: number) {
  return { type: "webhook.test", webhook_id: webhook.id, segment_id: webhook.segmentId, at: now };
}

/**
 * Sends one signed test delivery now, outside the queue and without a delivery row (nothing to
 * retry or replay), signed exactly as real deliveries are, so the owner sees at once whether the
 * receiver accepts tagwerk's signature: its answer's status, or why there was none.
 */
export async function sendTestDelivery(
  env: Env,
  signingSecret: string,
  webhook: Webhook,
  now: number,
): Promise<ReceiverAnswer & { message_id: string }> {
  const messageId = `msg_test_${crypto.randomUUID().replaceAll("-", "")}`;
  const keys = await signingKeys(signingSecret, webhook, now);
  const body = JSON.stringify(testPayload(webhook, now));
  return {
    message_id: messageId,
    ...(await postToReceiver(webhook.url, await signedRequest(keys, messageId, body, now), env)),
  };
}

type Outcome = "delivered" | "retry" | "failed" | "skipped";

/** One attempt at one delivery; `attempt` is the queue message's attempt number (1-based). */
export async function attemptDelivery(
  db: Db,
  env: Env,
  signingSecret: string,
  deliveryId: number,
  attempt: number,
  now: number,
): Promise<Outcome> {
  const [row] = await db
    .select({
      delivery: webhookDeliveries,
      url: webhooks.url,
      enabled: webhooks.enabled,
      secretVersion: webhooks.secretVersion,
      previousSecretUntil: webhooks.previousSecretUntil,
    })
    .from(webhookDeliveries)
    .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
    .where(eq(webhookDeliveries.id, deliveryId));
  // An erasure empties and fails a pending delivery (privacy/erasure.ts): its queued message sends nothing.
  if (!row || row.delivery.status === "delivered" || row.delivery.lastError === "erased") return "skipped";

  const body = row.delivery.payload;
  let error: string | undefined;
  if (!row.enabled) {
    error = "webhook disabled";
  } else {
    const keys = await signingKeys(signingSecret, { ...row, id: row.delivery.webhookId }, now);
    // Checked again here (public-url.ts); the error kept is a category, not the receiver's answer.
    error = await sendToReceiver(row.url, await signedRequest(keys, messageIdOf(deliveryId), body, now), env);
  }

  // A receiver whose address is not allowed is refused for good (no retries): replaying the
  // delivery tries again once its owner fixed the URL or its DNS.
  const final = attempt >= MAX_ATTEMPTS || error?.startsWith("address not allowed") === true;
  const status = error === undefined ? "delivered" : final ? "failed" : "pending";
  await db
    .update(webhookDeliveries)
    .set({
      status,
      attempts: sql`${webhookDeliveries.attempts} + 1`,
      lastError: error === undefined ? null : error.slice(0, 500),
      deliveredAt: error === undefined ? now : null,
    })
    .where(and(eq(webhookDeliveries.id, deliveryId)));
  if (error === undefined) return "delivered";
  return final ? "failed" : "retry";
}
