/**
 * The operator's moves of a site's people (worker/shards/moves.ts, docs/architecture.md, "Shards"):
 * refused input changes nothing, a move carries every row to where the routing puts it in the new
 * set and verifies it, an interrupted move resumes, a rollback leaves the old placement as it was.
 * The move's steps are driven here with a clock that jumps past its waits (the isolates' caches),
 * from the message the POST queued on a recording queue.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb } from "../../worker/db/client";
import { refreshDecisionRows } from "../../worker/decide/decision-rows";
import type { ShardMoveMessage } from "../../worker/pipeline/messages";
import { driveMove, MOVE_TABLES, runMoveStep, SETTLE_MS } from "../../worker/shards/moves";
import { peopleFor, shardBindings, shardOf } from "../../worker/shards/routing";
import { SITE_SET_CACHE_MS } from "../../worker/shards/site-sets";
import { call, createTestSite, OPERATOR_TOKEN, siteIdOf } from "../fixtures/api";
import { bannerJson, bannerSite, insertVisitor, randomCookie } from "../fixtures/banner";
import { consumeQueue, recordingQueue } from "../fixtures/queue";

const db = createDb(env.DB);
const shards = () => shardBindings(env);
const HOME = -1;
const d1Of = (id: number) => (id === HOME ? env.DB : (shards()[id] as D1Database));

/** A clock that jumps past every wait of a move at each step. */
function jumpingClock() {
  let t = Date.now();
  return () => {
    t += SETTLE_MS + 1;
    return t;
  };
}

async function moveTo(siteKey: string, set: unknown, key = OPERATOR_TOKEN) {
  const recorder = recordingQueue();
  const res = await call(`/api/v1/sites/${siteKey}/shards`, {
    method: "POST",
    key,
    json: { shards: set },
    env: { ...env, EVENTS_QUEUE: recorder.queue } as Env,
  });
  return { res, sent: recorder.sent as ShardMoveMessage[] };
}

async function status(siteKey: string) {
  const res = await call(`/api/v1/sites/${siteKey}/shards`, { key: OPERATOR_TOKEN });
  expect(res.status).toBe(200);
  return (await res.json()) as {
    shards: number[] | null;
    held: boolean;
    bytes: Record<string, number>;
    move: null | {
      move_id: number;
      state: string;
      phase: string;
      error: string | null;
      progress: Record<string, number>;
      verified: Record<
        string,
        Record<
          string,
          { source: { rows: number; checksum: string }; destination: { rows: number; checksum: string }; ok: boolean }
        >
      >;
      can_resume: boolean;
      can_roll_back: boolean;
    };
  };
}

async function finish(moveId: number, clock = jumpingClock()) {
  for (let i = 0; i < 10_000; i++) {
    const result = await driveMove(env, db, moveId, clock, 1_000);
    if (!result || (result.state !== "running" && result.state !== "rolling_back")) return result;
  }
  throw new Error("the move did not end");
}

/** Rows of the site in `table` on database `id`. */
async function countOn(id: number, table: string, siteId: number, where = "") {
  const spec = MOVE_TABLES.find((t) => t.name === table);
  const owner =
    spec?.owner === "site"
      ? "site_id = ?"
      : spec?.owner === "audience"
        ? "audience_id in (select value from json_each(?))"
        : "webhook_id in (select value from json_each(?))";
  const row = await d1Of(id)
    .prepare(`select count(*) as n from ${table} where ${owner}${where ? ` and ${where}` : ""}`)
    .bind(siteId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** Everything of the site in every person table, per database: a snapshot to compare. */
async function snapshot(siteId: number) {
  const out: Record<string, string[]> = {};
  for (const id of [HOME, 0, 1, 2, 3]) {
    for (const spec of MOVE_TABLES.filter((t) => t.owner === "site")) {
      const rows = await d1Of(id)
        .prepare(`select * from ${spec.name} where site_id = ? order by rowid`)
        .bind(siteId)
        .all();
      out[`${id}:${spec.name}`] = rows.results.map((r) => JSON.stringify(r));
    }
  }
  return out;
}

type People = {
  cookies: string[];
  linked: Map<string, string[]>;
  customers: string[];
};

/**
 * People of a site written straight into `set`'s databases as the writers place them
 * (docs/architecture.md, "Shards"): 24 cookies, 4 customers with 2 cookies each and one without,
 * 3 events and an exposure per cookie, codes and caps of cookies and customers, id links, the
 * catalogue, decision rows.
 */
async function seedPeople(siteId: number, set: number[] | null): Promise<People> {
  const where = (key: string) => (set === null ? HOME : shardOf(set, key));
  const all = set === null ? [HOME] : set;
  const cookies = Array.from({ length: 24 }, randomCookie);
  const customers = ["C-1", "C-2", "C-3", "C-4", "C-5"];
  const linked = new Map<string, string[]>();
  cookies.slice(0, 8).forEach((cookie, i) => {
    const customer = customers[i % 4] as string;
    linked.set(customer, [...(linked.get(customer) ?? []), cookie]);
  });
  const customerOf = (cookie: string) => [...linked].find(([, cs]) => cs.includes(cookie))?.[0] ?? null;
  const now = Date.now();
  for (const id of all) {
    if (id === HOME) continue;
    await d1Of(id)
      .prepare(
        "insert into products (site_id, sku, name, category, price, updated_at) values (?, 'R-1', 'Ring', 'rings', 99, ?)",
      )
      .bind(siteId, now)
      .run();
  }
  await env.DB.prepare(
    "insert into products (site_id, sku, name, category, price, updated_at) values (?, 'R-1', 'Ring', 'rings', 99, ?)",
  )
    .bind(siteId, now)
    .run();
  for (const cookie of cookies) {
    const d1 = d1Of(where(cookie));
    await d1.batch([
      d1
        .prepare(
          "insert into visitors (site_id, cookie_id, customer_id, first_seen_at, last_seen_at, visits, pageviews) values (?, ?, ?, ?, ?, 2, 3)",
        )
        .bind(siteId, cookie, customerOf(cookie), now, now),
      ...[1, 2, 3].map((n) =>
        d1
          .prepare("insert into events (site_id, cookie_id, type, ts, received_at, url) values (?, ?, 'page', ?, ?, ?)")
          .bind(siteId, cookie, now + n, now, `https://shop.example/${n}`),
      ),
      d1
        .prepare(
          "insert into exposures (site_id, rule_id, cookie_id, holdout, placement, first_ts) values (?, 7, ?, 0, 'slot', ?)",
        )
        .bind(siteId, cookie, now),
    ]);
  }
  for (const cookie of cookies.slice(8, 13)) {
    const d1 = d1Of(where(cookie));
    await d1.batch([
      d1
        .prepare(
          "insert into person_codes (site_id, holder, coupon_id, pool_id, rule_id, code) values (?, ?, ?, 1, 7, ?)",
        )
        .bind(siteId, `v:${cookie}`, cookies.indexOf(cookie), `CODE-${cookie.slice(0, 6)}`),
      d1
        .prepare("insert into person_caps (site_id, holder, day, rule_id, count) values (?, ?, 20000, 7, 2)")
        .bind(siteId, `v:${cookie}`),
    ]);
    // A link is on its partner ID's shard (`/b` with a partner ID reads it there).
    await d1Of(where(`net:u-${cookie.slice(0, 8)}`))
      .prepare(
        "insert into id_links (site_id, partner_key, partner_user_id, cookie_id, updated_at) values (?, 'net', ?, ?, ?)",
      )
      .bind(siteId, `u-${cookie.slice(0, 8)}`, cookie, now)
      .run();
  }
  for (const customer of customers) {
    const own = where(customer);
    const copies = [...new Set((linked.get(customer) ?? []).map(where))].filter((k) => k !== own).sort();
    await d1Of(own)
      .prepare("insert into customers (site_id, customer_id, orders, copy, copies_on) values (?, ?, 2, 0, ?)")
      .bind(siteId, customer, JSON.stringify(copies))
      .run();
    for (const k of copies) {
      await d1Of(k)
        .prepare("insert into customers (site_id, customer_id, orders, copy) values (?, ?, 2, 1)")
        .bind(siteId, customer)
        .run();
    }
  }
  // `c:` holders' codes and caps are on every database of the set.
  for (const id of all) {
    const d1 = d1Of(id);
    await d1.batch(
      ["C-1", "C-2"].flatMap((customer, i) => [
        d1
          .prepare(
            "insert into person_codes (site_id, holder, coupon_id, pool_id, rule_id, code) values (?, ?, ?, 1, 7, ?)",
          )
          .bind(siteId, `c:${customer}`, 1000 + i, `CUST-${customer}`),
        d1
          .prepare("insert into person_caps (site_id, holder, day, rule_id, count) values (?, ?, 20000, 7, 1)")
          .bind(siteId, `c:${customer}`),
      ]),
    );
  }
  for (const id of all) {
    const here = cookies.filter((c) => where(c) === id);
    if (here.length > 0) await refreshDecisionRows(d1Of(id), siteId, { cookies: here }, now);
  }
  return { cookies, linked, customers };
}

/** Asserts that the site's people are exactly where `set`'s routing puts them, and nowhere else. */
async function expectPlaced(siteId: number, people: People, set: number[]) {
  for (const id of [HOME, 0, 1, 2, 3].filter((k) => !set.includes(k))) {
    for (const table of [
      "visitors",
      "customers",
      "events",
      "exposures",
      "person_codes",
      "person_caps",
      "id_links",
      "decision_rows",
    ]) {
      expect(await countOn(id, table, siteId), `${table} on ${id}`).toBe(0);
    }
    if (id !== HOME) expect(await countOn(id, "products", siteId)).toBe(0);
  }
  for (const cookie of people.cookies) {
    const d1 = d1Of(shardOf(set, cookie));
    const visitor = await d1
      .prepare("select visits from visitors where site_id = ? and cookie_id = ?")
      .bind(siteId, cookie)
      .first();
    expect(visitor).toEqual({ visits: 2 });
    const events = await d1
      .prepare("select count(*) as n from events where site_id = ? and cookie_id = ?")
      .bind(siteId, cookie)
      .first();
    expect(events).toEqual({ n: 3 });
    const row = await d1
      .prepare("select cookie_id from decision_rows where site_id = ? and cookie_id = ?")
      .bind(siteId, cookie)
      .first();
    expect(row).toEqual({ cookie_id: cookie });
  }
  let total = 0;
  for (const k of set) total += await countOn(k, "visitors", siteId);
  expect(total).toBe(people.cookies.length);
  for (const customer of people.customers) {
    const own = shardOf(set, customer);
    const copies = [...new Set((people.linked.get(customer) ?? []).map((c) => shardOf(set, c)))]
      .filter((k) => k !== own)
      .sort();
    for (const k of set) {
      const row = await d1Of(k)
        .prepare("select copy, copies_on from customers where site_id = ? and customer_id = ?")
        .bind(siteId, customer)
        .first();
      if (k === own) expect(row).toEqual({ copy: 0, copies_on: JSON.stringify(copies) });
      else if (copies.includes(k)) expect(row).toMatchObject({ copy: 1 });
      else expect(row).toBeNull();
    }
  }
  for (const k of set) {
    expect(await countOn(k, "person_codes", siteId, "holder like 'c:%'")).toBe(2);
    expect(await countOn(k, "person_caps", siteId, "holder like 'c:%'")).toBe(2);
    expect(await countOn(k, "products", siteId)).toBe(1);
  }
}

describe("moving a site's people between shard sets", () => {
  it("waits, at a hold and at the switch, longer than the consumers cache a site's set", () => {
    // Otherwise a consumer could see the hold lifted and still route with the old set.
    expect(SETTLE_MS).toBeGreaterThan(SITE_SET_CACHE_MS);
  });

  it("refuses bad input with a clear 4xx and changes nothing", async () => {
    const { siteKey, apiKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    await env.DB.prepare("update sites set shards = '[0]' where id = ?").bind(siteId).run();
    await seedPeople(siteId, [0]);
    const before = await snapshot(siteId);

    const cases: Array<[unknown, number, RegExp]> = [
      [[7], 400, /7 is not bound/],
      [[], 400, /empty/],
      [[1, 1], 400, /twice/],
      [[0], 409, /already/],
      [[-1], 400, /shards/],
      ["0", 400, /shards/],
    ];
    for (const [set, statusCode, message] of cases) {
      const { res, sent } = await moveTo(siteKey, set);
      expect(res.status, JSON.stringify(set)).toBe(statusCode);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(message);
      expect(sent).toEqual([]);
    }
    expect((await moveTo("no-such-site", [1])).res.status).toBe(404);
    expect((await moveTo(siteKey, [1], apiKey)).res.status).toBe(401);
    expect((await moveTo(siteKey, [1], "wrong-token")).res.status).toBe(401);
    expect((await call(`/api/v1/sites/${siteKey}/shards`, {})).status).toBe(401);

    // A second move while one runs: 409, and only the first one exists.
    const first = await moveTo(siteKey, [1]);
    expect(first.res.status).toBe(202);
    const second = await moveTo(siteKey, [2]);
    expect(second.res.status).toBe(409);
    expect(second.sent).toEqual([]);
    const moves = await env.DB.prepare("select count(*) as n from shard_moves where site_id = ?").bind(siteId).first();
    expect(moves).toEqual({ n: 1 });
    // Started, not yet stepped: nothing has moved.
    expect(await snapshot(siteId)).toEqual(before);
    expect((await status(siteKey)).move).toMatchObject({ state: "running", phase: "copying", can_roll_back: true });
  });

  it("moves every row of a site from [0, 1] to [1, 2, 3], verified by counts and checksums", async () => {
    const { siteKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    await env.DB.prepare("update sites set shards = '[0,1]' where id = ?").bind(siteId).run();
    const people = await seedPeople(siteId, [0, 1]);

    const { res, sent } = await moveTo(siteKey, [1, 2, 3]);
    expect(res.status).toBe(202);
    const { move_id: moveId } = (await res.json()) as { move_id: number };
    expect(sent).toEqual([{ kind: "shard-move", moveId }]);
    const result = await finish(moveId);
    expect((await status(siteKey)).move?.error ?? null).toBeNull();
    expect(result).toMatchObject({ state: "done", phase: "done" });

    const shown = await status(siteKey);
    expect(shown).toMatchObject({ shards: [1, 2, 3], held: false, move: { state: "done", error: null } });
    expect(Object.keys(shown.bytes)).toEqual(["1", "2", "3"]);
    const verified = shown.move?.verified ?? {};
    let visitors = 0;
    for (const [table, dbs] of Object.entries(verified)) {
      for (const [where, tallies] of Object.entries(dbs)) {
        expect(tallies.ok, `${table} on ${where}`).toBe(true);
        expect(tallies.source).toEqual(tallies.destination);
        if (table === "visitors") visitors += tallies.destination.rows;
      }
    }
    expect(visitors).toBe(24);
    expect(Object.keys(verified)).toEqual(
      expect.arrayContaining([
        "visitors",
        "customers",
        "events",
        "exposures",
        "person_codes",
        "person_caps",
        "decision_rows",
      ]),
    );
    await expectPlaced(siteId, people, [1, 2, 3]);
  });

  it("moves a site created before shards out of HOME to [0, 1, 2, 3]; HOME keeps the shop's catalogue", async () => {
    const { siteKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    // A site created before shards: its people in HOME (a new one is placed on a shard).
    await env.DB.prepare("update sites set shards = null where id = ?").bind(siteId).run();
    const people = await seedPeople(siteId, null);
    const { res } = await moveTo(siteKey, [0, 1, 2, 3]);
    expect(res.status).toBe(202);
    const { move_id: moveId } = (await res.json()) as { move_id: number };
    expect(await finish(moveId)).toMatchObject({ state: "done" });
    await expectPlaced(siteId, people, [0, 1, 2, 3]);
    expect(await countOn(HOME, "products", siteId)).toBe(1);
    expect((await status(siteKey)).shards).toEqual([0, 1, 2, 3]);
  });

  it("keeps a known cookie's banner personal while a site created before shards moves to [0, 1, 2, 3], and after", async () => {
    const site = await bannerSite();
    await env.DB.prepare("update sites set shards = null where id = ?").bind(site.siteId).run();
    const creative = await site.creative("html", "<b>{{coupon}}</b>");
    const pool = await site.pool();
    await site.codes(pool, ["SALE-1", "SALE-2", "SALE-3"]);
    await site.rule({ creative_id: creative, pool_id: pool });
    const cookie = randomCookie();
    await insertVisitor(site.siteId, cookie);
    expect((await bannerJson(site.siteKey, "slot", cookie)).coupon?.code).toBe("SALE-1");

    const { res } = await moveTo(site.siteKey, [0, 1, 2, 3]);
    const { move_id: moveId } = (await res.json()) as { move_id: number };
    const clock = jumpingClock();
    // While the move copies and holds, the old placement (HOME) is complete: the banner reads it.
    for (let i = 0; i < 200; i++) {
      const step = await runMoveStep(env, db, moveId, clock());
      expect((await bannerJson(site.siteKey, "slot", cookie)).coupon?.code).toBe("SALE-1");
      if (step?.phase === "verifying") break;
    }
    expect(await finish(moveId, clock)).toMatchObject({ state: "done" });
    // The visitor and its decision row are on its shard now, and gone from HOME; the row's codes
    // come from HOME's coupons, copied again once every writer routes with the new set.
    const shard = peopleFor(env, { shards: [0, 1, 2, 3] }, cookie).d1;
    const codes = await shard
      .prepare("select codes from decision_rows where site_id = ? and cookie_id = ?")
      .bind(site.siteId, cookie)
      .first<{ codes: string }>();
    expect(codes?.codes).toContain('"SALE-1"');
    const copies = await shard
      .prepare("select holder, code from person_codes where site_id = ?")
      .bind(site.siteId)
      .all();
    expect(copies.results).toEqual([{ holder: `v:${cookie}`, code: "SALE-1" }]);
    for (const table of ["visitors", "decision_rows"]) {
      const row = await shard
        .prepare(`select cookie_id from ${table} where site_id = ? and cookie_id = ?`)
        .bind(site.siteId, cookie)
        .first();
      expect(row, table).toEqual({ cookie_id: cookie });
      expect(await countOn(HOME, table, site.siteId)).toBe(0);
    }
    // Still the same code, and no second one claimed for the same person.
    expect((await bannerJson(site.siteKey, "slot", cookie)).coupon?.code).toBe("SALE-1");
    const held = await env.DB.prepare("select count(*) as n from coupons where pool_id = ? and holder is not null")
      .bind(pool)
      .first();
    expect(held).toEqual({ n: 1 });
  });

  it("runs its steps from shard-move messages on the events queue, each queueing the next", async () => {
    const { siteKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    await env.DB.prepare("update sites set shards = '[3]' where id = ?").bind(siteId).run();
    const people = await seedPeople(siteId, [3]);
    const { res, sent } = await moveTo(siteKey, [0, 2]);
    const { move_id: moveId } = (await res.json()) as { move_id: number };
    let message: unknown = sent[0];
    const phases = new Set<string>();
    for (let i = 0; i < 100 && message; i++) {
      const recorder = recordingQueue();
      const result = await consumeQueue([message], 1, { ...env, EVENTS_QUEUE: recorder.queue } as Env);
      expect(result.explicitAcks).toEqual(["m0"]);
      message = recorder.sent[0];
      const move = await env.DB.prepare("select phase, state from shard_moves where id = ?")
        .bind(moveId)
        .first<{ phase: string; state: string }>();
      phases.add(move?.phase ?? "");
      // The waits are the queue's delays: make the next delivery come after the wait.
      await env.DB.prepare("update shard_moves set phase_at = phase_at - ? where id = ?").bind(SETTLE_MS, moveId).run();
    }
    expect(message).toBeUndefined();
    // A delivery runs up to STEPS_PER_RUN steps and ends at each wait, which the next message is delayed by.
    expect([...phases]).toEqual(expect.arrayContaining(["holding", "switched", "done"]));
    expect((await status(siteKey)).move).toMatchObject({ state: "done" });
    await expectPlaced(siteId, people, [0, 2]);
  });

  it("resumes an interrupted move from its cursor, and a failed one from its phase", async () => {
    const { siteKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    await env.DB.prepare("update sites set shards = '[2]' where id = ?").bind(siteId).run();
    const people = await seedPeople(siteId, [2]);
    const { res } = await moveTo(siteKey, [0, 3]);
    const { move_id: moveId } = (await res.json()) as { move_id: number };
    const clock = jumpingClock();
    // A few steps, then the driver is lost mid-step: its lease stays until it runs out.
    await driveMove(env, db, moveId, clock, 5);
    await env.DB.prepare("update shard_moves set lease_until = ?, updated_at = ? where id = ?")
      .bind(Date.now() + 60_000, Date.now() - 10 * 60_000, moveId)
      .run();
    expect(await runMoveStep(env, db, moveId, Date.now())).toBeNull();
    await env.DB.prepare("update shard_moves set lease_until = ? where id = ?")
      .bind(Date.now() - 1, moveId)
      .run();
    let shown = await status(siteKey);
    expect(shown.move).toMatchObject({ state: "running", can_resume: true });

    // A failure: a step that throws leaves the move failed, with its error, resumable.
    await env.DB.prepare("update shard_moves set state = 'failed', error = 'D1 went away' where id = ?")
      .bind(moveId)
      .run();
    shown = await status(siteKey);
    expect(shown.move).toMatchObject({ state: "failed", error: "D1 went away", can_resume: true, can_roll_back: true });
    const recorder = recordingQueue();
    const resumed = await call(`/api/v1/sites/${siteKey}/shards/${moveId}/resume`, {
      method: "POST",
      key: OPERATOR_TOKEN,
      env: { ...env, EVENTS_QUEUE: recorder.queue } as Env,
    });
    expect(resumed.status).toBe(202);
    expect(recorder.sent).toEqual([{ kind: "shard-move", moveId }]);
    expect(await finish(moveId, clock)).toMatchObject({ state: "done" });
    await expectPlaced(siteId, people, [0, 3]);
    // A finished move neither resumes nor rolls back.
    const again = await call(`/api/v1/sites/${siteKey}/shards/${moveId}/rollback`, {
      method: "POST",
      key: OPERATOR_TOKEN,
    });
    expect(again.status).toBe(409);
  });

  it("rolls back a move before its switch: the old placement intact, the new set empty of the site", async () => {
    const { siteKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    await env.DB.prepare("update sites set shards = '[0,1]' where id = ?").bind(siteId).run();
    await seedPeople(siteId, [0, 1]);
    const before = await snapshot(siteId);
    const { res } = await moveTo(siteKey, [1, 2]);
    const { move_id: moveId } = (await res.json()) as { move_id: number };
    const clock = jumpingClock();
    // Through the copy and into the hold: rows are on shard 2 now, the site's writes held.
    for (let i = 0; i < 200; i++) {
      const step = await runMoveStep(env, db, moveId, clock());
      if (step?.phase === "syncing") break;
    }
    expect(await countOn(2, "visitors", siteId)).toBeGreaterThan(0);
    expect((await status(siteKey)).held).toBe(true);

    const recorder = recordingQueue();
    const rolled = await call(`/api/v1/sites/${siteKey}/shards/${moveId}/rollback`, {
      method: "POST",
      key: OPERATOR_TOKEN,
      env: { ...env, EVENTS_QUEUE: recorder.queue } as Env,
    });
    expect(rolled.status).toBe(202);
    expect(await finish(moveId, clock)).toMatchObject({ state: "rolled_back" });
    const shown = await status(siteKey);
    expect(shown).toMatchObject({ shards: [0, 1], held: false, move: { state: "rolled_back", can_resume: false } });
    expect(await snapshot(siteId)).toEqual(before);
    for (const table of MOVE_TABLES.filter((t) => t.owner === "site")) {
      expect(await countOn(2, table.name, siteId), table.name).toBe(0);
    }
    // The next move may start now.
    expect((await moveTo(siteKey, [3])).res.status).toBe(202);
  });
});
