/**
 * Erasure in the raw event archive (worker/archive/sweeps.ts): an erasure leaves a sweep that
 * rewrites the site's objects without the erased cookies' lines — deleting an object left empty,
 * keeping everyone else's lines — resumable from its cursor when cut short, finished by the cron.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sweepErasures } from "../../worker/archive/sweeps";
import { createDb } from "../../worker/db/client";
import worker from "../../worker/index";
import { eraseCustomer, eraseVisitor } from "../../worker/privacy/erasure";
import { countRows, event, postEvents, SHOP, signedIdentify } from "../collect/post-events";
import { call, createTestSite, siteIdOf } from "../fixtures/api";
import { archivedEvents, archiveKeys, countArchived } from "../fixtures/archive";
import { randomCookie } from "../fixtures/banner";
import { inHome } from "../fixtures/people";

const db = createDb(env.DB);

/** A site whose archive holds `objects` direct writes of `erased` (one alone, the rest shared) and one of `kept`. */
async function archiveWith(objects: number) {
  const { siteKey, apiKey } = await createTestSite({ allowed_origins: [SHOP] });
  await inHome(siteKey);
  const siteId = await siteIdOf(siteKey);
  const [erased, kept] = [randomCookie(), randomCookie()];
  for (let i = 0; i < objects; i++) {
    expect((await postEvents({ site: siteKey, events: [event("page")] }, { cookie: erased })).status).toBe(204);
  }
  expect((await postEvents({ site: siteKey, events: [event("page")] }, { cookie: kept })).status).toBe(204);
  return { siteId, siteKey, apiKey, erased, kept };
}

describe("erasure in the raw event archive", () => {
  it("removes the erased cookie's lines, deletes its emptied objects and keeps everyone else's", async () => {
    const s = await archiveWith(3);
    expect(await archiveKeys(s.siteId)).toHaveLength(4);
    await eraseVisitor(env, { id: s.siteId, shards: null }, s.erased);
    expect(await countRows("archive_sweeps", "site_id = ?", s.siteId)).toBe(1);

    expect(await sweepErasures(env.ARCHIVE, db, { siteId: s.siteId })).toBe(1);
    expect(await countArchived(s.siteId, s.erased)).toBe(0);
    expect((await archivedEvents(s.siteId)).map((line) => line.cookie_id)).toEqual([s.kept]);
    expect(await archiveKeys(s.siteId)).toHaveLength(1);
    expect(await countRows("archive_sweeps", "site_id = ?", s.siteId)).toBe(0);
  });

  it("rewrites an object holding the erased cookie beside others, keeping the others' lines", async () => {
    const { siteKey, apiKey } = await createTestSite({ allowed_origins: [SHOP] });
    await inHome(siteKey);
    const siteId = await siteIdOf(siteKey);
    const [a, b] = [randomCookie(), randomCookie()];
    // One server-side call for both cookies: one archive object holding both.
    const res = await call("/api/v1/events", {
      method: "POST",
      key: apiKey,
      json: {
        events: [
          { type: "page", ts: Date.now(), cookie_id: a },
          { type: "page", ts: Date.now(), cookie_id: b },
          { type: "view", ts: Date.now(), cookie_id: a, props: { sku: "S-1" } },
        ],
      },
    });
    expect(res.status).toBe(204);
    const [key] = await archiveKeys(siteId);
    await eraseVisitor(env, { id: siteId, shards: null }, a);
    await sweepErasures(env.ARCHIVE, db, { siteId });
    expect(await archiveKeys(siteId)).toEqual([key]);
    expect((await archivedEvents(siteId)).map((line) => line.cookie_id)).toEqual([b]);
  });

  it("a sweep cut short resumes from its cursor; the cron finishes it", async () => {
    const s = await archiveWith(5);
    await eraseVisitor(env, { id: s.siteId, shards: null }, s.erased);
    expect(await sweepErasures(env.ARCHIVE, db, { siteId: s.siteId, maxObjects: 2 })).toBe(0);
    const sweep = await env.DB.prepare("select cursor from archive_sweeps where site_id = ?")
      .bind(s.siteId)
      .first<{ cursor: string }>();
    expect(sweep?.cursor).toMatch(new RegExp(`^site/${s.siteId}/`));
    const left = await countArchived(s.siteId, s.erased);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(5);

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "*/15 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await countArchived(s.siteId, s.erased)).toBe(0);
    expect(await countArchived(s.siteId, s.kept)).toBe(1);
    expect(await countRows("archive_sweeps", "site_id = ?", s.siteId)).toBe(0);
  });

  it("a customer's erasure sweeps every cookie linked to it", async () => {
    const { siteKey, apiKey } = await createTestSite({ allowed_origins: [SHOP] });
    await inHome(siteKey);
    const siteId = await siteIdOf(siteKey);
    const [a, b, other] = [randomCookie(), randomCookie(), randomCookie()];
    for (const cookie of [a, b]) {
      const batch = { site: siteKey, events: [event("page"), await signedIdentify(apiKey, "C-9")] };
      expect((await postEvents(batch, { cookie })).status).toBe(204);
    }
    expect((await postEvents({ site: siteKey, events: [event("page")] }, { cookie: other })).status).toBe(204);
    await eraseCustomer(env, { id: siteId, shards: null }, "C-9");
    const sweep = await env.DB.prepare("select cookies from archive_sweeps where site_id = ?")
      .bind(siteId)
      .first<{ cookies: string }>();
    expect(JSON.parse(sweep!.cookies).sort()).toEqual([a, b].sort());
    await sweepErasures(env.ARCHIVE, db, { siteId });
    expect((await archivedEvents(siteId)).map((line) => line.cookie_id)).toEqual([other]);
  });

  it("an erased cookie that has no profile yet leaves no sweep: nothing of it is archived", async () => {
    const { siteKey } = await createTestSite();
    await inHome(siteKey);
    const siteId = await siteIdOf(siteKey);
    await eraseVisitor(env, { id: siteId, shards: null }, randomCookie());
    expect(await countRows("archive_sweeps", "site_id = ?", siteId)).toBe(0);
  });
});
