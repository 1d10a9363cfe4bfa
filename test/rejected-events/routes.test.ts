/**
 * `GET /api/v1/rejected-events` (worker/rejected-events/): what a site sent that was refused, by
 * UTC day and reason, newest first, paged by cursor; the flood bound's counts for the day; the
 * calling site's rows only.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MS_PER_DAY, utcDayKey } from "../../worker/lib/time";
import { event, postEvents, SHOP } from "../collect/post-events";
import { call, createTestSite, errorOf, siteIdOf } from "../fixtures/api";

type Page = {
  rejected_events: { id: number; received_at: number; source: string; reason: string; payload: unknown }[];
  next_cursor: string | null;
  counts: { reason: string; kept: number; refused: number }[];
};

const YESTERDAY = Date.now() - MS_PER_DAY;

/** A site with three rejections sent today through /e and one row of yesterday. */
async function siteWithRejections() {
  const { siteKey, apiKey } = await createTestSite({ allowed_origins: [SHOP] });
  const siteId = await siteIdOf(siteKey);
  const res = await postEvents({
    site: siteKey,
    events: [event("nope"), event("page"), event("purchase", { total: "ten" }), event("identify", {})],
  });
  expect(res.status).toBe(202);
  await env.DB.prepare(
    `insert into rejected_events (site_id, site_key, source, reason, payload, received_at)
     values (?, ?, 'collect', 'event 0: from yesterday', '{"type":"page"}', ?)`,
  )
    .bind(siteId, siteKey, YESTERDAY)
    .run();
  return { siteKey, apiKey, siteId };
}

async function list(apiKey: string, query = "") {
  const res = await call(`/api/v1/rejected-events${query}`, { key: apiKey });
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

describe("GET /api/v1/rejected-events", () => {
  it("lists the site's rejected events newest first, with their reason and scrubbed payload", async () => {
    const { apiKey } = await siteWithRejections();
    const page = await list(apiKey);
    expect(page.rejected_events).toHaveLength(4);
    const ids = page.rejected_events.map((r) => r.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(page.rejected_events.map((r) => r.reason.slice(0, 8)).sort()).toEqual([
      "event 0:",
      "event 0:",
      "event 2:",
      "event 3:",
    ]);
    const identify = page.rejected_events.find((r) => r.reason.startsWith("event 3:"));
    expect(identify?.payload).toMatchObject({ type: "identify" });
    expect(page.next_cursor).toBeNull();
    // Without a day there are no counts to show.
    expect(page.counts).toEqual([]);
  });

  it("filters by UTC day and by a prefix of the reason, and gives the day's flood-bound counts", async () => {
    const { apiKey, siteId } = await siteWithRejections();
    const today = await list(apiKey, `?day=${utcDayKey(Date.now())}`);
    expect(today.rejected_events).toHaveLength(3);
    expect(today.rejected_events.every((r) => !r.reason.includes("yesterday"))).toBe(true);
    // The three rejections of one batch took three places within the bound.
    expect(today.counts).toEqual([{ reason: "invalid_event", kept: 3, refused: 0 }]);

    const yesterday = await list(apiKey, `?day=${utcDayKey(YESTERDAY)}`);
    expect(yesterday.rejected_events.map((r) => r.reason)).toEqual(["event 0: from yesterday"]);
    expect(yesterday.counts).toEqual([]);

    const byReason = await list(apiKey, `?reason=${encodeURIComponent("event 0: ")}`);
    expect(byReason.rejected_events).toHaveLength(2);
    expect(byReason.rejected_events.every((r) => r.reason.startsWith("event 0: "))).toBe(true);
    const both = await list(apiKey, `?day=${utcDayKey(YESTERDAY)}&reason=event%203`);
    expect(both.rejected_events).toEqual([]);

    // A reason is matched as text, never as a pattern.
    expect((await list(apiKey, "?reason=%25")).rejected_events).toEqual([]);
    expect((await list(apiKey, "?reason=event_0")).rejected_events).toEqual([]);
    // A counter refused beyond the bound shows as such.
    await env.DB.prepare(
      "insert into write_counters (site_id, day, reason, kept, refused) values (?, ?, 'sync', 60, 940)",
    )
      .bind(siteId, utcDayKey(Date.now()))
      .run();
    const counted = await list(apiKey, `?day=${utcDayKey(Date.now())}`);
    expect(counted.counts).toContainEqual({ reason: "sync", kept: 60, refused: 940 });
  });

  it("pages with next_cursor through every row exactly once", async () => {
    const { apiKey } = await siteWithRejections();
    const seen: number[] = [];
    let query = "?limit=3";
    let pages = 0;
    for (;;) {
      const page = await list(apiKey, query);
      pages++;
      expect(page.rejected_events.length).toBeLessThanOrEqual(3);
      seen.push(...page.rejected_events.map((r) => r.id));
      if (!page.next_cursor) break;
      query = `?limit=3&cursor=${page.next_cursor}`;
    }
    expect(pages).toBe(2);
    expect(seen).toHaveLength(4);
    expect(new Set(seen).size).toBe(4);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
  });

  it("answers 400 to a day that is not a calendar day, a bad cursor or limit", async () => {
    const { apiKey } = await siteWithRejections();
    for (const query of ["?day=2026-02-30", "?day=yesterday", "?cursor=abc", "?cursor=0", "?limit=0", "?limit=501"]) {
      const res = await call(`/api/v1/rejected-events${query}`, { key: apiKey });
      expect(res.status, query).toBe(400);
      expect((await errorOf(res)).code).toBeTypeOf("string");
    }
  });

  it("requires an API key", async () => {
    await siteWithRejections();
    expect((await call("/api/v1/rejected-events")).status).toBe(401);
    expect((await call("/api/v1/rejected-events", { key: "tw_live_not-a-key" })).status).toBe(401);
  });

  it("shows another site's key none of this site's rows or counts", async () => {
    const { siteId } = await siteWithRejections();
    const other = await createTestSite({ allowed_origins: [SHOP] });
    const page = await list(other.apiKey, `?day=${utcDayKey(Date.now())}`);
    expect(page.rejected_events).toEqual([]);
    expect(page.counts).toEqual([]);
    // Its own rows only, once it has some.
    await postEvents({ site: other.siteKey, events: [event("nope")] });
    const own = await list(other.apiKey);
    expect(own.rejected_events).toHaveLength(1);
    const row = await env.DB.prepare("select site_id from rejected_events where id = ?")
      .bind(own.rejected_events[0].id)
      .first<{ site_id: number }>();
    expect(row?.site_id).not.toBe(siteId);
  });
});
