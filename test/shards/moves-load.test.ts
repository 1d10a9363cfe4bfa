/**
 * A move under load (worker/shards/moves.ts, docs/architecture.md, "Shards"): page views sent
 * through `/e` and the events queue while the move's steps run end at the new placement exactly as
 * sent — nothing lost, nothing doubled — and while the move holds the site's writes the consumer
 * puts the site's messages back for later instead of writing or rejecting them.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb } from "../../worker/db/client";
import { clearIsolateCaches } from "../../worker/lib/isolate-cache";
import type { EventsQueueMessage } from "../../worker/pipeline/messages";
import { runMoveStep, SETTLE_MS } from "../../worker/shards/moves";
import { peopleOfSite, shardOf } from "../../worker/shards/routing";
import { CHROME_UA, cookieIdOf, countRows, event, SHOP } from "../collect/post-events";
import { call, createTestSite, OPERATOR_TOKEN, siteIdOf } from "../fixtures/api";
import { insertVisitor, randomCookie } from "../fixtures/banner";
import { consumeQueue, recordingQueue } from "../fixtures/queue";

const db = createDb(env.DB);

let ip = 0;

/** One /e batch from a browser of its own address (the rate limit is per address and site). */
function postEvents(batch: unknown, options: { queue: Queue; cookie?: string }) {
  ip += 1;
  const headers = new Headers({
    "Content-Type": "text/plain;charset=UTF-8",
    "User-Agent": CHROME_UA,
    Origin: SHOP,
    "CF-Connecting-IP": `10.9.${ip >> 8}.${ip & 255}`,
  });
  if (options.cookie) headers.set("Cookie", `tw_id=${options.cookie}`);
  return call("/e", {
    method: "POST",
    headers,
    body: JSON.stringify(batch),
    env: { ...env, EVENTS_QUEUE: options.queue },
    settle: true,
  });
}

async function startMove(siteKey: string, set: number[]) {
  const recorder = recordingQueue();
  const res = await call(`/api/v1/sites/${siteKey}/shards`, {
    method: "POST",
    key: OPERATOR_TOKEN,
    json: { shards: set },
    env: { ...env, EVENTS_QUEUE: recorder.queue } as Env,
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { move_id: number }).move_id;
}

/** Page views per cookie over every database of `set` (null: HOME). */
async function pageviews(siteId: number, set: number[] | null) {
  const seen = new Map<string, number>();
  for (const people of peopleOfSite(env, { shards: set })) {
    const rows = await people.d1
      .prepare("select cookie_id, pageviews from visitors where site_id = ?")
      .bind(siteId)
      .all<{ cookie_id: string; pageviews: number }>();
    for (const row of rows.results) {
      expect(seen.has(row.cookie_id), `${row.cookie_id} twice`).toBe(false);
      seen.set(row.cookie_id, row.pageviews);
    }
  }
  return seen;
}

describe("a move under load", () => {
  it("ends with exactly the page views sent while it copied, each visitor once, on its shard", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const siteId = await siteIdOf(siteKey);
    // A site created before shards, moved out of HOME (a new one is placed on a shard).
    await env.DB.prepare("update sites set shards = null where id = ?").bind(siteId).run();
    const { queue, sent } = recordingQueue();
    const sentViews = new Map<string, number>();
    const view = async (cookie?: string) => {
      const res = await postEvents({ site: siteKey, events: [event("page")] }, { queue, cookie });
      expect(res.status).toBeLessThan(300);
      const id = cookie ?? (cookieIdOf(res) as string);
      sentViews.set(id, (sentViews.get(id) ?? 0) + 1);
    };
    const deliver = async () => {
      const bodies = sent.splice(0);
      const result = await consumeQueue(bodies);
      return { bodies, result };
    };
    for (let i = 0; i < 40; i++) await view();
    await deliver();
    // Enough people for the copy to take several steps (MOVE_CHUNK rows each): each has one view.
    for (let i = 0; i < 300; i++) {
      const cookie = randomCookie();
      await insertVisitor(siteId, cookie);
      sentViews.set(cookie, 1);
    }

    const moveId = await startMove(siteKey, [0, 1, 2, 3]);
    let t = Date.now();
    const cookies = [...sentViews.keys()];
    // Every step of the copy is followed by new visitors and new views of known ones, written to
    // the old placement (HOME) by the consumer: the sync that follows must carry them all.
    let stepsUnderLoad = 0;
    for (let i = 0; ; i++) {
      t += 1_000;
      const step = await runMoveStep(env, db, moveId, t);
      if (step?.phase !== "copying") break;
      stepsUnderLoad += 1;
      if (i > 100)
        throw new Error(
          `still copying: ${JSON.stringify(await env.DB.prepare("select cursor, progress from shard_moves where id = ?").bind(moveId).first())}`,
        );
      await view();
      await view(cookies[i % cookies.length]);
      await view(cookies[(i * 7) % cookies.length]);
      const { result } = await deliver();
      expect(result.retryMessages).toEqual([]);
    }

    // Writes came between the copy's steps, not only before or after them.
    expect(stepsUnderLoad).toBeGreaterThan(5);

    // Held: every isolate sees the hold within the wait (here: its caches are cleared at once).
    clearIsolateCaches();
    expect(
      ((await (await call(`/api/v1/sites/${siteKey}/shards`, { key: OPERATOR_TOKEN })).json()) as { held: boolean })
        .held,
    ).toBe(true);
    const other = await createTestSite({ allowed_origins: [SHOP] });
    const { queue: otherQueue, sent: otherSent } = recordingQueue();
    await postEvents({ site: other.siteKey, events: [event("page")] }, { queue: otherQueue });
    await postEvents({ site: siteKey, events: [event("page")] }, { queue, cookie: cookies[0] });
    const heldBodies: EventsQueueMessage[] = sent.splice(0);
    const during = await consumeQueue([...heldBodies, ...otherSent]);
    // The moving site's message waits; the other site's is written.
    // (getQueueResult reports which messages were retried, not their delay: HOLD_RETRY_SECONDS.)
    expect(during.retryMessages).toEqual([expect.objectContaining({ msgId: "m0" })]);
    expect(during.explicitAcks).toEqual(["m1"]);
    const otherId = await siteIdOf(other.siteKey);
    const otherSet = await env.DB.prepare("select shards from sites where id = ?")
      .bind(otherId)
      .first<{ shards: string | null }>();
    expect((await pageviews(otherId, otherSet?.shards ? JSON.parse(otherSet.shards) : null)).size).toBe(1);
    // A held message whose retries are used up goes back on the queue as a new message, not to rejected_events.
    const requeue = recordingQueue();
    const last = await consumeQueue(heldBodies, 4, { ...env, EVENTS_QUEUE: requeue.queue } as Env);
    expect(last.explicitAcks).toEqual(["m0"]);
    expect(requeue.sent).toEqual(heldBodies);
    expect(await countRows("rejected_events", "site_id = ?", siteId)).toBe(0);

    // The rest of the move: sync, verify, switch, delete.
    for (let i = 0; i < 1_000; i++) {
      t += SETTLE_MS + 1;
      const step = await runMoveStep(env, db, moveId, t);
      if (step?.state !== "running") break;
    }
    const moved = await pageviews(siteId, [0, 1, 2, 3]);
    expect(moved).toEqual(sentViews);
    for (const cookie of moved.keys()) {
      const [people] = peopleOfSite(env, { shards: [shardOf([0, 1, 2, 3], cookie)] });
      const row = await people?.d1
        .prepare("select 1 as here from visitors where site_id = ? and cookie_id = ?")
        .bind(siteId, cookie)
        .first();
      expect(row).toEqual({ here: 1 });
    }
    expect(await pageviews(siteId, null)).toEqual(new Map());
  });

  // The whole move under load: views sent at every step, delivered at once unless held, the held
  // ones delivered again until written; what the writers route after the switch lands on the new set.
  it("ends with exactly the page views sent before, during and after the hold", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const siteId = await siteIdOf(siteKey);
    // A site created before shards, moved out of HOME (a new one is placed on a shard).
    await env.DB.prepare("update sites set shards = null where id = ?").bind(siteId).run();
    const { queue, sent } = recordingQueue();
    const sentViews = new Map<string, number>();
    const view = async (cookie?: string) => {
      const res = await postEvents({ site: siteKey, events: [event("page")] }, { queue, cookie });
      const id = cookie ?? (cookieIdOf(res) as string);
      sentViews.set(id, (sentViews.get(id) ?? 0) + 1);
    };
    for (let i = 0; i < 20; i++) await view();
    const moveId = await startMove(siteKey, [0, 1, 2, 3]);
    let t = Date.now();
    let pending: EventsQueueMessage[] = [];
    let heldDeliveries = 0;
    for (let i = 0; i < 2_000; i++) {
      t += 5_000;
      clearIsolateCaches();
      const step = await runMoveStep(env, db, moveId, t);
      await view();
      await view([...sentViews.keys()][i % sentViews.size]);
      pending = [...pending, ...sent.splice(0)];
      const result = await consumeQueue(pending);
      const retried = new Set(result.retryMessages.map((m: { msgId: string }) => m.msgId));
      heldDeliveries += retried.size;
      pending = pending.filter((_, k) => retried.has(`m${k}`));
      if (step?.state !== "running") break;
    }
    clearIsolateCaches();
    await consumeQueue(pending);
    // Some views did arrive during the hold and were put back, then written after it.
    expect(heldDeliveries).toBeGreaterThan(0);
    expect(await pageviews(siteId, [0, 1, 2, 3])).toEqual(sentViews);
    expect(await pageviews(siteId, null)).toEqual(new Map());
  });
});
