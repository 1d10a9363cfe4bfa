/**
 * The pipeline's producers: every message the Worker puts on a queue is sent here, one function
 * per kind, beside the consumers that take it (docs/architecture.md, "Ingestion pipeline"). No
 * file outside worker/pipeline/ calls `send` or `sendBatch`.
 *
 * Whether a queue is bound is decided once per environment (queuesOf), by the binding names
 * QUEUES defines; each producer then says what happens without it: an /e batch or a deferred
 * batch reports `false` (its caller writes directly or answers 503), an impression or click is
 * written directly, a webhook delivery or profile check is left to the cron's catch-up.
 */

import { DEFAULT_BUDGET_MS, withinBudget } from "../lib/budget";
import { logError } from "../lib/log";
import type { ShardEnv } from "../shards/routing";
import { writeBannerMessages } from "./impressions";
import type {
  BannerGroupMessage,
  BannerMessage,
  DeferredEventsMessage,
  EventsMessage,
  EventsQueueMessage,
  WebhookMessage,
} from "./messages";
import { QUEUES, SEND_BATCH_MAX } from "./queues";

type BoundQueues = { events?: Queue<EventsQueueMessage>; webhooks?: Queue<WebhookMessage> };

/** The queue bindings a producer reads (a test may leave either out or pass a double). */
export type ProducerEnv = Partial<Pick<Env, (typeof QUEUES)[keyof typeof QUEUES]["binding"]>>;

const decided = new WeakMap<object, BoundQueues>();

/** The environment's bound queues, read once per environment object by QUEUES' binding names. */
export function queuesOf(env: ProducerEnv): BoundQueues {
  let queues = decided.get(env);
  if (!queues) {
    queues = {
      events: env[QUEUES.events.binding] as Queue<EventsQueueMessage> | undefined,
      webhooks: env[QUEUES.webhooks.binding] as Queue<WebhookMessage> | undefined,
    };
    decided.set(env, queues);
  }
  return queues;
}

// --- Events queue: /e batches and deferred batches ---------------------------------------------

/**
 * Enqueues an /e batch within `budgetMs`; false when no queue is bound, or it refused or did not
 * answer in time (a beacon cannot wait, and cannot retry after a 503): the caller then writes the
 * batch directly. A send that outlived its budget may still land later: the batch is then applied
 * twice rather than lost (SECURITY.md, Faults).
 */
export async function sendEventBatch(
  env: ProducerEnv,
  message: EventsMessage,
  budgetMs = DEFAULT_BUDGET_MS,
): Promise<boolean> {
  const queue = queuesOf(env).events;
  if (!queue) return false;
  try {
    await withinBudget(queue.send(message), budgetMs, "events queue send");
    return true;
  } catch (error) {
    logError("pipeline.events_send_failed", { site: message.siteId, error });
    return false;
  }
}

/** Enqueues a raw /e batch taken while D1 failed (collect/deferred.ts); false without a queue or when refused. */
export async function sendDeferredBatch(
  env: ProducerEnv,
  message: Omit<DeferredEventsMessage, "kind">,
): Promise<boolean> {
  const queue = queuesOf(env).events;
  if (!queue) return false;
  try {
    await queue.send({ kind: "deferred-events", ...message });
    return true;
  } catch (error) {
    logError("pipeline.deferred_send_failed", { site: message.siteKey, error });
    return false;
  }
}

// --- Events queue: impressions and clicks ------------------------------------------------------

/**
 * How long the first impression of a group waits for others, and how many make a full group. The
 * wait runs inside `waitUntil`, after the response (the runtime keeps waitUntil work alive for up
 * to 30 s after the response), so no banner waits for it. A group is ONE queue message — one
 * `send` per banner cost about a fifth of a decision's CPU (bench/RESULTS.md), and one message is
 * one ledger row for the consumer (impressions.ts) — so its size is bounded by a message's
 * 128 KB: 200 items of about 300 bytes.
 */
const IMPRESSION_FLUSH_MS = 250;
/** @internal Exported for tests; the Worker itself does not import it. */
export const IMPRESSION_FLUSH_MAX = 200;

type PendingGroup = { queue: Queue; env: ShardEnv; messages: BannerMessage[] };
/** The isolate's open group: requests of one isolate share it (module state outlives a request). */
let pending: PendingGroup | null = null;

/** A random ledger ID for a group message: 53 bits, an exact JavaScript and SQLite integer. */
function groupId(): number {
  const [high, low] = crypto.getRandomValues(new Uint32Array(2));
  return (high & 0x1fffff) * 2 ** 32 + low;
}

async function sendGroup(group: PendingGroup): Promise<void> {
  const items = group.messages.splice(0);
  if (items.length === 0) return;
  const message: BannerGroupMessage = { kind: "decisions", id: groupId(), items };
  await sendOrWrite(group.queue, group.env, message, "decision_group");
}

/**
 * Impressions and clicks into the queue, or — without one, or when it refuses them — straight into
 * D1 (idempotent): a refused message would lose every banner in it. Failures are logged, not thrown.
 */
async function sendOrWrite(
  queue: Queue | undefined,
  env: ShardEnv,
  message: BannerMessage | BannerGroupMessage,
  what: string,
): Promise<void> {
  if (queue) {
    try {
      await queue.send(message);
      return;
    } catch (error) {
      logError(`pipeline.${what}_send_failed`, { error });
    }
  }
  try {
    await writeBannerMessages(env, [message]);
  } catch (error) {
    logError(`pipeline.${what}_write_failed`, { error });
  }
}

/**
 * Adds an impression (or click) to the isolate's open group for the events queue. The request
 * that opens a group registers its flush IMPRESSION_FLUSH_MS later with its own `waitUntil`; the
 * request that fills it sends it at once. Every message therefore has a flush registered by a
 * request that was alive when it was added. A group belongs to one queue binding: a different one
 * (another deployment's env, a test double) closes the open group first.
 * @internal Exported for tests; the Worker itself does not import it.
 */
export function bufferBannerMessage(
  queue: Queue,
  env: ShardEnv,
  message: BannerMessage,
  waitUntil: (work: Promise<unknown>) => void,
): void {
  if (pending && pending.queue !== queue) {
    waitUntil(sendGroup(pending));
    pending = null;
  }
  if (!pending) {
    const group: PendingGroup = { queue, env, messages: [] };
    pending = group;
    waitUntil(
      new Promise((resolve) => setTimeout(resolve, IMPRESSION_FLUSH_MS)).then(() => {
        if (pending === group) pending = null;
        return sendGroup(group);
      }),
    );
  }
  const group = pending;
  group.messages.push(message);
  if (group.messages.length >= IMPRESSION_FLUSH_MAX) {
    pending = null;
    waitUntil(sendGroup(group));
  }
}

/**
 * Sends one impression or click on its way: into the events queue, or — without the binding, or
 * when the queue refuses it — straight into D1. Runs after the response; failures are logged, not thrown.
 */
export async function sendBannerMessage(env: ProducerEnv & Pick<Env, "DB">, message: BannerMessage): Promise<void> {
  await sendOrWrite(queuesOf(env).events, env, message, message.kind);
}

/**
 * The banner's impression (or a click): grouped per isolate when the events queue is bound and the
 * request has an execution context, else sent or written on its own — in both cases after the
 * response. `runAfter` is the route's own (lib/after-response.ts).
 */
export function recordBannerMessage(
  env: ProducerEnv & Pick<Env, "DB">,
  message: BannerMessage,
  waitUntil: ((work: Promise<unknown>) => void) | undefined,
  runAfter: (work: Promise<unknown>) => unknown,
): void {
  const queue = queuesOf(env).events;
  if (queue && waitUntil) bufferBannerMessage(queue, env, message, waitUntil);
  else runAfter(sendBannerMessage(env, message));
}

// --- Events queue: moves of a site's people, and messages a move holds ----------------------------

/**
 * Puts a message (back) on the events queue to be delivered after `delaySeconds`: the next steps
 * of a move (shards/moves.ts), or a held site's message whose retries are used up (shard-moves.ts).
 * False without a queue or when it refuses: the caller then drives the move itself, or retries.
 */
export async function sendLater(env: ProducerEnv, body: EventsQueueMessage, delaySeconds: number): Promise<boolean> {
  const queue = queuesOf(env).events;
  if (!queue) return false;
  try {
    await queue.send(body, { delaySeconds: Math.max(0, Math.min(Math.ceil(delaySeconds), 43_200)) });
    return true;
  } catch (error) {
    logError("pipeline.send_later_failed", { kind: body.kind, error });
    return false;
  }
}

// --- Webhooks queue: deliveries and profile checks ---------------------------------------------

/** IDs per check message: well under a queue message's 128 KB. */
const CHECK_IDS = 200;
/** Past this many people a change is checked by a whole-site sync instead of by IDs. */
const CHECK_ALL_ABOVE = 2_000;

async function sendAll<T>(queue: Queue<T>, bodies: T[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += SEND_BATCH_MAX) {
    await queue.sendBatch(bodies.slice(i, i + SEND_BATCH_MAX).map((body) => ({ body })));
  }
}

/** One `delivery` message per webhook delivery row (webhooks/entries.ts), for the webhooks consumer. */
export async function enqueueDeliveries(queue: Queue<WebhookMessage>, ids: number[]): Promise<void> {
  await sendAll<WebhookMessage>(
    queue,
    ids.map((id) => ({ kind: "delivery", delivery_id: id })),
  );
}

/** enqueueDeliveries through the environment's webhooks queue; without one the cron replays pending rows. */
export async function enqueueDeliveriesOf(env: ProducerEnv, ids: number[]): Promise<void> {
  const queue = queuesOf(env).webhooks;
  if (queue) await enqueueDeliveries(queue, ids);
}

/**
 * Asks the webhooks consumer to look at these cookies and customers soon (a queue message, no D1
 * round trip in the caller): after every batch of event writes — /e's direct write, the events
 * consumer, an import. Without the binding, or when the send fails (logged, not thrown: the
 * writes it follows are done), the cron catches the change up.
 */
export async function requestProfileCheck(
  env: ProducerEnv,
  siteId: number,
  changed: { cookies?: string[]; customers?: string[] },
): Promise<void> {
  const queue = queuesOf(env).webhooks;
  if (!queue) return;
  const cookies = [...new Set(changed.cookies ?? [])];
  const customers = [...new Set(changed.customers ?? [])];
  if (cookies.length + customers.length === 0) return;
  try {
    if (cookies.length + customers.length > CHECK_ALL_ABOVE) {
      await queue.send({ kind: "check", siteId, all: true });
      return;
    }
    const messages: WebhookMessage[] = [];
    for (let i = 0; i < cookies.length; i += CHECK_IDS) {
      messages.push({ kind: "check", siteId, cookies: cookies.slice(i, i + CHECK_IDS) });
    }
    for (let i = 0; i < customers.length; i += CHECK_IDS) {
      messages.push({ kind: "check", siteId, customers: customers.slice(i, i + CHECK_IDS) });
    }
    await sendAll(queue, messages);
  } catch (error) {
    logError("pipeline.profile_check_send_failed", { site: siteId, error });
  }
}
