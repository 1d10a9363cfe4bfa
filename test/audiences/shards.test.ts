/**
 * Audiences over a site's shard set (docs/architecture.md, "Shards"): refresh, size, full export,
 * deltas and reach of a site on four shards equal those of the same people in HOME, exports stay
 * paged (one page per database at a time), and nothing of a site is read from a shard outside its set.
 */
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { headSeqs } from "../../worker/audiences/changes";
import { changesStream, exportStream } from "../../worker/audiences/export";
import { audienceMembers, audienceSpaceMembers, visitors } from "../../worker/db/schema";
import { peopleFor, peopleOfSite } from "../../worker/shards/routing";
import { call } from "../fixtures/api";
import {
  type CustomerSeed,
  cookieOf,
  type SiteOnSet,
  seedPeople,
  seedVisitors,
  shardDb,
  siteOn,
  type VisitorSeed,
} from "../shards/people-fixture";

const NOW = Date.UTC(2026, 11, 1, 12);
const hash = (n: number) => n.toString(16).padStart(64, "a");

/** Eight customers with e-mail hashes, half in the "rings" cluster; thirty cookies, most linked. */
function people(): { customerRows: CustomerSeed[]; visitorRows: VisitorSeed[] } {
  const customerRows: CustomerSeed[] = Array.from({ length: 8 }, (_, i) => ({
    customerId: `C-${i + 1}`,
    emailSha256: hash(i + 1),
    adsConsent: true,
    clusters: i % 2 === 0 ? ["rings"] : [],
  }));
  const visitorRows: VisitorSeed[] = Array.from({ length: 30 }, (_, i) => ({
    cookieId: cookieOf(i + 1),
    // C-1 … C-6 have several cookies each, on different shards; C-7 and C-8 none.
    customerId: i < 24 ? `C-${(i % 6) + 1}` : null,
    firstSeenAt: NOW - 10_000,
    lastSeenAt: NOW - 1000,
    visits: i,
    consent: i === 4 ? "denied" : null,
  }));
  return { customerRows, visitorRows };
}

async function audienceOn(site: SiteOnSet): Promise<number> {
  const res = await call("/api/v1/audiences", {
    method: "POST",
    key: site.apiKey,
    json: { name: "Rings", kind: "cluster", params: { cluster: "rings" } },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: number }).id;
}

async function refresh(site: SiteOnSet, id: number) {
  const res = await call(`/api/v1/audiences/${id}/refresh`, { method: "POST", key: site.apiKey });
  expect(res.status).toBe(200);
  return ((await res.json()) as { size: number }).size;
}

async function exported(site: SiteOnSet, id: number, space: string, since?: string) {
  const query = new URLSearchParams({ id_space: space, layout: "id", ...(since ? { since } : {}) });
  const res = await call(`/api/v1/audiences/${id}/export?${query}`, { key: site.apiKey });
  return {
    status: res.status,
    lines: (await res.text()).trim().split("\n"),
    cursor: res.headers.get("X-Tagwerk-Cursor"),
  };
}

async function twins() {
  const sharded = await siteOn([0, 1, 2, 3]);
  const twin = await siteOn(null);
  const { customerRows, visitorRows } = people();
  for (const site of [sharded, twin]) await seedPeople(site, customerRows, visitorRows);
  return { sharded, twin, ids: [await audienceOn(sharded), await audienceOn(twin)] as const };
}

describe("audiences over a shard set", () => {
  it("refresh, size, full exports and reach equal those of the same people in HOME", async () => {
    const { sharded, twin, ids } = await twins();
    const [mine, oracle] = ids;
    // Cookies of C-1, C-3, C-5 (12, one of them without consent but still a member) and C-7 without cookies.
    expect(await refresh(sharded, mine)).toBe(13);
    expect(await refresh(twin, oracle)).toBe(13);
    for (const space of ["tw", "email_sha256"]) {
      const a = await exported(sharded, mine, space);
      expect(a.status).toBe(200);
      expect(a.lines).toEqual((await exported(twin, oracle, space)).lines);
    }
    // C-1, C-3, C-5 and C-7, each hash once although C-1's cookies are on several shards.
    expect((await exported(sharded, mine, "email_sha256")).lines).toEqual(["id", hash(1), hash(3), hash(5), hash(7)]);
    const rows = await Promise.all(
      [0, 1, 2, 3].map(async (k) =>
        (await shardDb(k).select().from(audienceSpaceMembers)).filter((r) => r.audienceId === mine),
      ),
    );
    expect(rows.filter((r) => r.length > 0).length).toBeGreaterThanOrEqual(3);

    const reach = async (site: SiteOnSet, id: number) =>
      (await call(`/api/v1/audiences/${id}/reach`, { key: site.apiKey })).json();
    expect(await reach(sharded, mine)).toEqual(await reach(twin, oracle));
  });

  it("streams the merged export in pages of any size, each ID once and in order", async () => {
    const { sharded, twin, ids } = await twins();
    await refresh(sharded, ids[0]);
    await refresh(twin, ids[1]);
    for (const pageSize of [1, 2, 3, 5, 50]) {
      const pages: number[] = [];
      const text = (site: SiteOnSet, id: number) =>
        new Response(
          exportStream(peopleOfSite(env, site), id, "tw", { pageSize, onPage: (n) => pages.push(n) }),
        ).text();
      const [a, b] = [await text(sharded, ids[0]), await text(twin, ids[1])];
      expect(a).toBe(b);
      // Twelve member cookies, one of them without consent.
      expect(a.trim().split("\n")).toHaveLength(11 + 1);
      expect(Math.max(...pages)).toBeLessThanOrEqual(pageSize);
    }
  });

  it("lists the changes since a cursor from every shard, and refuses a cursor of another set", async () => {
    const { sharded, twin, ids } = await twins();
    const cursors: string[] = [];
    const emails: { before: string[]; cursor: string }[] = [];
    for (const [site, id] of [
      [sharded, ids[0]],
      [twin, ids[1]],
    ] as const) {
      await refresh(site, id);
      cursors.push((await exported(site, id, "tw")).cursor as string);
      const email = await exported(site, id, "email_sha256");
      emails.push({ before: email.lines.slice(1), cursor: email.cursor as string });
      // Three cookies join C-1 (in), one leaves (its customer link is dropped).
      await seedVisitors(
        site,
        people().customerRows,
        [31, 32, 33].map((n) => ({ cookieId: cookieOf(n), customerId: "C-1", firstSeenAt: NOW, lastSeenAt: NOW })),
      );
      await peopleFor(env, site, cookieOf(1))
        .db.update(visitors)
        .set({ customerId: null })
        .where(and(eq(visitors.siteId, site.id), eq(visitors.cookieId, cookieOf(1))));
      await refresh(site, id);
    }
    const a = await exported(sharded, ids[0], "tw", cursors[0]);
    const b = await exported(twin, ids[1], "tw", cursors[1]);
    expect(a.status).toBe(200);
    expect([...a.lines].sort()).toEqual([...b.lines].sort());
    expect([...a.lines].sort()).toEqual(
      ["op,id", `add,${cookieOf(31)}`, `add,${cookieOf(32)}`, `add,${cookieOf(33)}`, `remove,${cookieOf(1)}`].sort(),
    );
    // In the e-mail space (one hash per customer, from cookies on several shards) the delta applied to
    // what the network held at the cursor gives the full export of now, as in HOME.
    for (const [i, site, id] of [
      [0, sharded, ids[0]],
      [1, twin, ids[1]],
    ] as const) {
      const held = new Set(emails[i]?.before);
      for (const line of (await exported(site, id, "email_sha256", emails[i]?.cursor)).lines.slice(1)) {
        const [op, value] = line.split(",") as [string, string];
        if (op === "add") held.add(value);
        else held.delete(value);
      }
      expect([...held].sort()).toEqual((await exported(site, id, "email_sha256")).lines.slice(1));
      expect([...held].sort()).toEqual([hash(1), hash(3), hash(5), hash(7)]);
    }
    // The next delta from the answer's cursor is empty; a cursor of HOME's form is not this site's.
    expect((await exported(sharded, ids[0], "tw", a.cursor as string)).lines).toEqual(["op,id"]);
    expect((await exported(sharded, ids[0], "tw", cursors[1])).status).toBe(410);
    expect(a.cursor).toMatch(/^\d+-\d+-\d+-\d+\.\d+\.[0-9a-f]{32}$/);
    expect(b.cursor).toMatch(/^\d+\.[0-9a-f]{32}$/);

    // The whole log, merged from the four shards in pages of any size: the same rows, each once.
    const databases = peopleOfSite(env, sharded);
    const head = await headSeqs(databases, ids[0], "tw");
    const log = (pageSize: number) =>
      new Response(changesStream(databases, ids[0], "tw", [0, 0, 0, 0], head, { pageSize })).text();
    const whole = await log(1000);
    expect(whole.trim().split("\n")).toHaveLength(1 + 11 + 4);
    for (const pageSize of [1, 2, 3]) expect(await log(pageSize)).toBe(whole);
  });

  it("reads nothing of a site from a shard outside its set", async () => {
    const a = await siteOn([0, 1]);
    const b = await siteOn([1, 2]);
    const { customerRows, visitorRows } = people();
    for (const site of [a, b]) await seedPeople(site, customerRows, visitorRows);
    const [idA, idB] = [await audienceOn(a), await audienceOn(b)];
    // Decoys of A on shards 2 (B's) and 3 (nobody's): a member cookie and its snapshot row.
    for (const k of [2, 3]) {
      const decoy = `dec0${k}`.padEnd(32, "0");
      await shardDb(k)
        .insert(visitors)
        .values({ siteId: a.id, cookieId: decoy, customerId: "C-1", firstSeenAt: NOW, lastSeenAt: NOW });
      await shardDb(k).insert(audienceSpaceMembers).values({ audienceId: idA, idSpace: "tw", value: decoy });
    }
    expect(await refresh(a, idA)).toBe(13);
    expect(await refresh(b, idB)).toBe(13);
    const lines = (await exported(a, idA, "tw")).lines;
    expect(lines).toHaveLength(12);
    expect(lines.join()).not.toContain("dec0");
    expect(lines.slice(1)).toEqual((await exported(b, idB, "tw")).lines.slice(1));
  });

  it("deleting an audience deletes its members on every shard of the set", async () => {
    const { sharded, ids } = await twins();
    await refresh(sharded, ids[0]);
    const left = async () =>
      (
        await Promise.all(
          [0, 1, 2, 3].map((k) =>
            shardDb(k).select().from(audienceMembers).where(eq(audienceMembers.audienceId, ids[0])),
          ),
        )
      ).flat().length;
    expect(await left()).toBe(12);
    const res = await call(`/api/v1/audiences/${ids[0]}`, { method: "DELETE", key: sharded.apiKey });
    expect(res.status).toBe(204);
    expect(await left()).toBe(0);
  });

  it("does not tell a network to remove a hash that another shard still exports", async () => {
    const { sharded, twin, ids } = await twins();
    const c1 = people()
      .visitorRows.filter((v) => v.customerId === "C-1")
      .map((v) => v.cookieId);
    // Every C-1 cookie on the first cookie's shard leaves C-1; its cookies elsewhere stay.
    const shard = peopleFor(env, sharded, c1[0] as string).shard;
    const leaving = c1.filter((c) => peopleFor(env, sharded, c).shard === shard);
    expect(leaving.length).toBeLessThan(c1.length);
    for (const [site, id] of [
      [sharded, ids[0]],
      [twin, ids[1]],
    ] as const) {
      await refresh(site, id);
      const before = await exported(site, id, "email_sha256");
      for (const cookie of leaving) {
        await peopleFor(env, site, cookie)
          .db.update(visitors)
          .set({ customerId: null })
          .where(and(eq(visitors.siteId, site.id), eq(visitors.cookieId, cookie)));
      }
      await refresh(site, id);
      const delta = await exported(site, id, "email_sha256", before.cursor as string);
      expect(delta.lines).toEqual(["op,id"]);
      expect((await exported(site, id, "email_sha256")).lines).toEqual(before.lines);
    }
  });
});
