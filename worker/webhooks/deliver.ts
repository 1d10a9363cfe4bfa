/**
 * The WEBHOOKS_QUEUE consumer: signs and POSTs one delivery per message.
 *
 * Signature (Stripe-style, so receivers can refuse replays): `X-Tagwerk-Timestamp: UNIX_SECONDS`
 * and `X-Tagwerk-Signature: v1=HEX(HMAC-SHA256(secret, timestamp + "." + body))`. A receiver
 * recomputes it over the raw body and rejects timestamps older than a few minutes.
 *
 * Retries: a non-2xx answer or a network error retries the message with exponential backoff
 * (30 s, 1, 2, 4, 8 min) up to MAX_ATTEMPTS; the last failure leaves the row `failed` with its
 * last error, listed by the API and replayable. Queues deliver at least once, so a row already
 * `delivered` is acknowledged without sending again.
 */
import { and, eq, sql } from "drizzle-orm";
import { hmacSha256Hex, signingSecretOf } from "../auth/signing";
import { createDb } from "../db/client";
import { webhookDeliveries, webhooks } from "../db/schema";
import type { Db } from "../env";
import type { WebhookMessage } from "./entries";
import { webhookSecret } from "./webhooks";

export const MAX_ATTEMPTS = 6;
const TIMEOUT_MS = 10_000;

export function backoffSeconds(attempt: number): number {
  return Math.min(30 * 2 ** (attempt - 1), 3_600);
}

export async function signatureHeaders(secret: string, body: string, now: number): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(now / 1000));
  return {
    "X-Tagwerk-Timestamp": timestamp,
    "X-Tagwerk-Signature": `v1=${await hmacSha256Hex(secret, `${timestamp}.${body}`)}`,
  };
}

export type Outcome = "delivered" | "retry" | "failed" | "skipped";

/** One attempt at one delivery; `attempt` is the queue message's attempt number (1-based). */
async function attemptDelivery(
  db: Db,
  signingSecret: string,
  deliveryId: number,
  attempt: number,
  now: number,
): Promise<Outcome> {
  const [row] = await db
    .select({ delivery: webhookDeliveries, url: webhooks.url, enabled: webhooks.enabled })
    .from(webhookDeliveries)
    .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
    .where(eq(webhookDeliveries.id, deliveryId));
  if (!row || row.delivery.status === "delivered") return "skipped";

  const body = row.delivery.payload;
  let error: string | undefined;
  if (!row.enabled) {
    error = "webhook disabled";
  } else {
    try {
      const secret = await webhookSecret(signingSecret, row.delivery.webhookId);
      const response = await fetch(row.url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "User-Agent": "tagwerk-webhooks/1",
          ...(await signatureHeaders(secret, body, now)),
        },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      // The receiver's body is not needed; release it.
      await response.body?.cancel();
      if (response.status < 200 || response.status > 299) error = `HTTP ${response.status}`;
    } catch (caught) {
      error = caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught);
    }
  }

  const final = attempt >= MAX_ATTEMPTS;
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

export async function handleWebhookBatch(batch: MessageBatch<WebhookMessage>, env: Env): Promise<void> {
  const db = createDb(env.DB);
  const secret = signingSecretOf(env);
  for (const message of batch.messages) {
    const outcome = await attemptDelivery(db, secret, message.body.delivery_id, message.attempts, Date.now());
    if (outcome === "retry") message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    else message.ack();
  }
}
