/**
 * The events queue's part in an operator's move of a site's people (shards/moves.ts,
 * docs/architecture.md, "Shards"): it carries the move's steps (`shard-move` messages, each
 * running a few bounded steps and queueing the next, delayed while the move waits for the
 * isolates' caches), and it puts back, for later, the messages of a site whose person writes the
 * move holds — delayed, never dropped, so that nothing is written to a placement being switched.
 * Without a queue the steps run in the request's `waitUntil` instead (scheduleMove).
 */
import { createDb } from "../db/client";
import type { Db } from "../env";
import { logError } from "../lib/log";
import { driveMove, HOLD_RETRY_SECONDS, heldSites, SETTLE_MS } from "../shards/moves";
import type { ShardEnv } from "../shards/routing";
import type { EventsQueueMessage } from "./messages";
import { type ProducerEnv, queuesOf, sendLater } from "./producers";
import { QUEUES } from "./queues";

function isHeld(body: EventsQueueMessage, sites: { ids: Set<number>; keys: Set<string> }): boolean {
  switch (body.kind) {
    case "deferred-events":
      return sites.keys.has(body.siteKey);
    case "decisions":
      return body.items.some((item) => sites.ids.has(item.siteId));
    case "shard-move":
      return false;
    default:
      return sites.ids.has(body.siteId);
  }
}

/**
 * The hook of the events consumer (events-consumer.ts): runs the delivery's move steps, puts the
 * messages of held sites back for HOLD_RETRY_SECONDS, and returns the messages left to write. A
 * held message that has used its retries is sent again as a new message (its content unchanged: a
 * banner group keeps its ledger ID), so a long hold delays it without landing it in rejected_events.
 */
export async function takeMoveMessages(
  env: Env,
  messages: readonly Message<EventsQueueMessage>[],
  now = Date.now(),
): Promise<Message<EventsQueueMessage>[]> {
  const db = createDb(env.DB);
  const rest: Message<EventsQueueMessage>[] = [];
  let sites: { ids: Set<number>; keys: Set<string> } | undefined;
  for (const message of messages) {
    const body = message.body;
    if (body.kind === "shard-move") {
      await stepFromQueue(env, db, message as Message<typeof body>);
      continue;
    }
    try {
      sites ??= await heldSites(db, now);
    } catch (error) {
      // HOME does not answer: nothing of the delivery could be written now; it all comes back.
      logError("pipeline.held_sites_unreadable", { error });
      for (const m of messages) if (m.body.kind !== "shard-move") m.retry();
      return [];
    }
    if (!isHeld(body, sites)) {
      rest.push(message);
    } else if (message.attempts <= QUEUES.events.maxRetries) {
      message.retry({ delaySeconds: HOLD_RETRY_SECONDS });
    } else if (await sendLater(env, body, HOLD_RETRY_SECONDS)) {
      message.ack();
    } else {
      message.retry({ delaySeconds: HOLD_RETRY_SECONDS });
    }
  }
  return rest;
}

async function stepFromQueue(env: Env, db: Db, message: Message<{ kind: "shard-move"; moveId: number }>) {
  try {
    const result = await driveMove(env, db, message.body.moveId);
    // null: another driver holds the move's lease (a resume, a redelivery), and it goes on from there.
    if (result && (result.state === "running" || result.state === "rolling_back")) {
      if (!(await sendLater(env, message.body, result.waitMs / 1000))) throw new Error("the next step was not queued");
    }
    message.ack();
  } catch (error) {
    logError("pipeline.shard_move_step_failed", { move: message.body.moveId, error });
    message.retry({ delaySeconds: HOLD_RETRY_SECONDS });
  }
}

/**
 * Starts (or resumes) driving a move: a `shard-move` message on the events queue, or — without
 * one, or when it refuses — the steps run directly after the response, waiting out the move's
 * pauses while the runtime keeps the request's background work alive. A direct run cut off there
 * shows as stalled in `GET /api/v1/sites/{key}/shards` and goes on with the resume call.
 */
export async function scheduleMove(
  env: ShardEnv & ProducerEnv,
  db: Db,
  moveId: number,
  waitUntil: (work: Promise<unknown>) => void,
): Promise<void> {
  if (queuesOf(env).events && (await sendLater(env, { kind: "shard-move", moveId }, 0))) return;
  waitUntil(runDirectly(env, db, moveId));
}

async function runDirectly(env: ShardEnv, db: Db, moveId: number) {
  try {
    for (let waits = 0; waits < 4; ) {
      const result = await driveMove(env, db, moveId, Date.now, Number.POSITIVE_INFINITY);
      if (!result || (result.state !== "running" && result.state !== "rolling_back")) return;
      if (result.waitMs > 0) {
        waits += 1;
        await new Promise((resolve) => setTimeout(resolve, Math.min(result.waitMs, SETTLE_MS)));
      }
    }
  } catch (error) {
    logError("shards.move_direct_failed", { move: moveId, error });
  }
}
