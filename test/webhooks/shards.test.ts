/**
 * Webhook segment entries over a site's shard set (docs/architecture.md, "Shards"): a person is
 * inside when any of their profiles, on any shard, matches; the whole-site catch-up and a check of
 * changed people enter, leave and deliver for a site on four shards exactly what they do for the
 * same people in HOME, and nothing of a site on a shard outside its set is read.
 */
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../worker/db/client";
import { segments, visitors, webhookDeliveries, webhookMemberships, webhooks } from "../../worker/db/schema";
import { peopleFor, peopleOfSite } from "../../worker/shards/routing";
import { syncWebhookMembers } from "../../worker/webhooks/entries";
import { getWebhook } from "../../worker/webhooks/store";
import { call } from "../fixtures/api";
import {
  type CustomerSeed,
  cookieOf,
  type SiteOnSet,
  seedPeople,
  shardDb,
  siteOn,
  type VisitorSeed,
} from "../shards/people-fixture";

const NOW = Date.UTC(2026, 11, 1, 12);
const db = createDb(env.DB);

/** Six customers (C-5, C-6 without cookies); twenty cookies, C-1 … C-4 with several on different shards. */
function people(): { customerRows: CustomerSeed[]; visitorRows: VisitorSeed[] } {
  return {
    customerRows: Array.from({ length: 6 }, (_, i) => ({
      customerId: `C-${i + 1}`,
      orders: i,
      emailSha256: (i + 1).toString(16).padStart(64, "e"),
    })),
    visitorRows: Array.from({ length: 20 }, (_, i) => ({
      cookieId: cookieOf(i + 1),
      customerId: i < 12 ? `C-${(i % 4) + 1}` : null,
      firstSeenAt: NOW - 10_000,
      lastSeenAt: NOW - 1000 + i,
      visits: i,
      consent: i === 13 ? "denied" : null,
    })),
  };
}

/** Visits over 8, or a customer with three orders or more: one device of a customer is enough. */
const EXPRESSION = "visits > 8 or orders >= 3";

async function webhookOf(site: SiteOnSet) {
  const [segment] = await db
    .insert(segments)
    .values({ siteId: site.id, name: "s", expression: EXPRESSION, createdAt: NOW, updatedAt: NOW })
    .returning();
  const [row] = await db
    .insert(webhooks)
    .values({ siteId: site.id, url: "https://receiver.test/hook", segmentId: segment!.id })
    .returning();
  return getWebhook(db, site.id, row!.id);
}

async function membersOf(site: SiteOnSet, webhookId: number) {
  const rows = await Promise.all(
    peopleOfSite(env, site).map(({ db: own }) =>
      own.select().from(webhookMemberships).where(eq(webhookMemberships.webhookId, webhookId)),
    ),
  );
  return rows
    .flat()
    .map((r) => r.member)
    .sort();
}

async function deliveriesOf(webhookId: number) {
  const rows = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, webhookId));
  return rows
    .map((r) => {
      const { webhook_id: _w, segment_id: _s, sequence: _q, ...payload } = JSON.parse(r.payload);
      return JSON.stringify(payload);
    })
    .sort();
}

describe("webhook entries over a shard set", () => {
  it("enter, leave and deliver for a site on four shards as for the same people in HOME", async () => {
    const sharded = await siteOn([0, 1, 2, 3]);
    const twin = await siteOn(null);
    const { customerRows, visitorRows } = people();
    const hooks: Awaited<ReturnType<typeof webhookOf>>[] = [];
    for (const site of [sharded, twin]) {
      await seedPeople(site, customerRows, visitorRows);
      hooks.push(await webhookOf(site));
    }
    const [mine, oracle] = hooks as [Awaited<ReturnType<typeof webhookOf>>, Awaited<ReturnType<typeof webhookOf>>];
    const counts = ({ entered, left, deliveries }: { entered: number; left: number; deliveries: number[] }) => ({
      entered,
      left,
      deliveries: deliveries.length,
    });
    const first = counts(await syncWebhookMembers(db, mine, NOW, { env, range: 3 }));
    expect(first).toEqual(counts(await syncWebhookMembers(db, oracle, NOW, { env, range: 3 })));
    expect(first).toEqual({ entered: 12, left: 0, deliveries: 12 });
    // C-2 (cookie 10), C-3 (cookie 11), C-4 (orders 3, and cookie 12), C-5, C-6 by orders; cookies 13, 15 … 20 alone.
    expect(await membersOf(sharded, mine.id)).toEqual(await membersOf(twin, oracle.id));
    expect(await membersOf(sharded, mine.id)).toEqual(
      [
        "c:C-2",
        "c:C-3",
        "c:C-4",
        "c:C-5",
        "c:C-6",
        ...[13, 15, 16, 17, 18, 19, 20].map((n) => `v:${cookieOf(n)}`),
      ].sort(),
    );
    expect(await deliveriesOf(mine.id)).toEqual(await deliveriesOf(oracle.id));

    // C-3 loses its one matching device (cookie 11 unlinked): C-3 leaves and cookie 11 enters on its own.
    for (const site of [sharded, twin]) {
      await peopleFor(env, site, cookieOf(11))
        .db.update(visitors)
        .set({ customerId: null })
        .where(and(eq(visitors.siteId, site.id), eq(visitors.cookieId, cookieOf(11))));
    }
    const changed = { cookies: [cookieOf(11)], customers: ["C-3"] };
    const second = await syncWebhookMembers(db, mine, NOW + 1, { env, changed });
    expect(second).toMatchObject({ entered: 1, left: 1 });
    await syncWebhookMembers(db, oracle, NOW + 1, { env, changed });
    expect(await membersOf(sharded, mine.id)).toEqual(await membersOf(twin, oracle.id));
    expect(await deliveriesOf(mine.id)).toEqual(await deliveriesOf(oracle.id));
    // Nothing more on a whole-site catch-up.
    expect(await syncWebhookMembers(db, mine, NOW + 2, { env, range: 4 })).toMatchObject({ entered: 0, left: 0 });
  });

  it("reads nothing of a site from a shard outside its set", async () => {
    const a = await siteOn([0, 1]);
    const b = await siteOn([1, 2]);
    const { customerRows, visitorRows } = people();
    const hooks = [];
    for (const site of [a, b]) {
      await seedPeople(site, customerRows, visitorRows);
      hooks.push(await webhookOf(site));
    }
    // Decoys of A on shard 2 (B's) and 3 (nobody's): a matching cookie, a stale membership.
    for (const k of [2, 3]) {
      const decoy = `dec0${k}`.padEnd(32, "0");
      await shardDb(k)
        .insert(visitors)
        .values({ siteId: a.id, cookieId: decoy, firstSeenAt: NOW, lastSeenAt: NOW, visits: 99 });
      await shardDb(k)
        .insert(webhookMemberships)
        .values({ webhookId: hooks[0]!.id, member: `v:${decoy}`, enteredAt: NOW });
    }
    await syncWebhookMembers(db, hooks[0]!, NOW, { env });
    await syncWebhookMembers(db, hooks[1]!, NOW, { env });
    const members = await membersOf(a, hooks[0]!.id);
    expect(members).toHaveLength(12);
    expect(members.join()).not.toContain("dec0");
    expect(members).toEqual(await membersOf(b, hooks[1]!.id));
    expect((await deliveriesOf(hooks[0]!.id)).join()).not.toContain("dec0");
  });

  it("deleting a webhook deletes its members on every shard of the set", async () => {
    const site = await siteOn([0, 1, 2, 3]);
    const { customerRows, visitorRows } = people();
    await seedPeople(site, customerRows, visitorRows);
    const hook = await webhookOf(site);
    await syncWebhookMembers(db, hook, NOW, { env, notify: false });
    expect(await membersOf(site, hook.id)).toHaveLength(12);
    const res = await call(`/api/v1/webhooks/${hook.id}`, { method: "DELETE", key: site.apiKey });
    expect(res.status).toBe(204);
    expect(await membersOf(site, hook.id)).toEqual([]);
  });
});
