/**
 * The webhooks queue's consumer (QUEUES.webhooks): runs the profile checks that event batches and
 * imports ask for (webhooks/entries.ts, within seconds of the change), then signs and POSTs one
 * delivery per message (webhooks/deliver.ts), retrying a failed one with backoff.
 */
import { signingSecretOf } from "../auth/signing";
import { createDb } from "../db/client";
import type { Db } from "../env";
import { logError } from "../lib/log";
import { attemptDelivery, backoffSeconds } from "../webhooks/deliver";
import { checkSiteWebhooks } from "../webhooks/entries";
import type { WebhookMessage } from "./messages";
import { queuesOf } from "./producers";

type CheckMessage = Extract<WebhookMessage, { kind: "check" }>;

/** A check; anything else is a delivery, with `kind: "delivery"` or (queued before kinds) without a kind. */
function isCheck(body: WebhookMessage): body is CheckMessage {
  return "kind" in body && body.kind === "check";
}

/** The profile checks of one consumer batch, merged per site (one sync per site and webhook). */
async function runChecks(db: Db, env: Env, messages: readonly Message<WebhookMessage>[]) {
  const bySite = new Map<number, { cookies: string[]; customers: string[]; all: boolean }>();
  for (const { body } of messages) {
    if (!isCheck(body)) continue;
    const site = bySite.get(body.siteId) ?? { cookies: [], customers: [], all: false };
    site.cookies.push(...(body.cookies ?? []));
    site.customers.push(...(body.customers ?? []));
    site.all ||= body.all === true;
    bySite.set(body.siteId, site);
  }
  const now = Date.now();
  for (const [siteId, changed] of bySite) {
    // With env, a site on shards asks every shard of its set (webhooks/entries-shards.ts).
    await checkSiteWebhooks(db, siteId, queuesOf(env).webhooks, now, changed.all ? undefined : changed, env);
  }
}

export async function consumeWebhooksBatch(batch: MessageBatch<WebhookMessage>, env: Env): Promise<void> {
  const db = createDb(env.DB);
  const secret = signingSecretOf(env);
  const checks = batch.messages.filter((m) => isCheck(m.body));
  if (checks.length > 0) {
    try {
      await runChecks(db, env, checks);
      for (const message of checks) message.ack();
    } catch (error) {
      logError("webhooks.check_failed", { error });
      for (const message of checks) message.retry({ delaySeconds: 30 });
    }
  }
  for (const message of batch.messages) {
    const body = message.body;
    if (isCheck(body)) continue;
    const outcome = await attemptDelivery(db, env, secret, body.delivery_id, message.attempts, Date.now());
    if (outcome === "retry") message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    else message.ack();
  }
}
