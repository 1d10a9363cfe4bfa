import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { exportStream } from "../../worker/audiences/export";
import { refreshAudience } from "../../worker/audiences/refresh";
import { getAudience } from "../../worker/audiences/store";
import { createDb } from "../../worker/db/client";
import { MS_PER_DAY as DAY, MS_PER_DAY } from "../../worker/lib/time";
import { call, createTestSite, errorOf, siteIdOf } from "../fixtures/api";
import { HOME_PEOPLE } from "../shards/people-fixture";
import { addCustomer, addLink, addVisitor, cookie, csvIds, T0 } from "./helpers";

const db = createDb(env.DB);

async function setup(settings: Record<string, unknown> = {}) {
  const { siteKey, apiKey } = await createTestSite(settings);
  const siteId = await siteIdOf(siteKey);
  const partner = await call("/api/v1/partners", { method: "POST", key: apiKey, json: { key: "net", name: "Net" } });
  expect(partner.status).toBe(201);
  const res = await call("/api/v1/audiences", {
    method: "POST",
    key: apiKey,
    json: { name: "Suppress", kind: "new_customers", params: { days: 28 } },
  });
  const audience = (await res.json()) as { id: number };
  return { siteId, apiKey, audienceId: audience.id };
}

/** Four new customers: granted, unknown, denied consent, and one not a customer at all. */
async function seedMembers(siteId: number) {
  for (const [n, consent] of [
    [1, "granted"],
    [2, null],
    [3, "denied"],
  ] as const) {
    await addCustomer(siteId, `C${n}`, { first_order_at: T0 - DAY });
    await addVisitor(siteId, cookie(n), { customer_id: `C${n}`, consent });
  }
  await addVisitor(siteId, cookie(4));
  await addLink(siteId, "net", "net-1", cookie(1));
  await addLink(siteId, "net", "net-3", cookie(3));
  await addLink(siteId, "net", "net-4", cookie(4));
  // Cookie 2 synced twice with the network: its latest partner ID is exported.
  await addLink(siteId, "net", "net-2-old", cookie(2), T0 - DAY);
  await addLink(siteId, "net", "net-2", cookie(2), T0);
  await addLink(siteId, "other", "o-1", cookie(1));
}

describe("audience export", () => {
  it("lists the members in tagwerk's and in a partner's ID space, skipping refused consent", async () => {
    const { siteId, apiKey, audienceId } = await setup();
    await seedMembers(siteId);
    await refreshAudience(db, HOME_PEOPLE, await getAudience(db, siteId, audienceId), T0);

    const tw = await call(`/api/v1/audiences/${audienceId}/export?format=csv&id_space=tw`, { key: apiKey });
    expect(tw.status).toBe(200);
    expect(tw.headers.get("content-type")).toContain("text/csv");
    expect(csvIds(await tw.text())).toEqual([cookie(1), cookie(2)]);

    const net = await call(`/api/v1/audiences/${audienceId}/export?format=csv&id_space=net`, { key: apiKey });
    expect(csvIds(await net.text())).toEqual(["net-1", "net-2"]);

    const unknown = await call(`/api/v1/audiences/${audienceId}/export?id_space=nobody`, { key: apiKey });
    expect(unknown.status).toBe(400);
    expect((await call(`/api/v1/audiences/${audienceId}/export`)).status).toBe(401);
  });

  it("exports only visitors who granted consent on a consent-required site", async () => {
    const { siteId, apiKey, audienceId } = await setup({ consent_mode: "required" });
    await seedMembers(siteId);
    await refreshAudience(db, HOME_PEOPLE, await getAudience(db, siteId, audienceId), T0);
    const tw = await call(`/api/v1/audiences/${audienceId}/export?id_space=tw`, { key: apiKey });
    expect(csvIds(await tw.text())).toEqual([cookie(1)]);
  });

  it("streams a large audience in keyset pages: 5,000 members in several page queries", async () => {
    const { siteId, apiKey } = await setup();
    await env.DB.prepare(
      `with recursive n(i) as (select 1 union all select i + 1 from n where i < 5000)
       insert into visitors (site_id, cookie_id, first_seen_at, last_seen_at, cart_items, cart_updated_at)
       select ?, printf('%032x', 100000 + i), 0, 0, 1, ? from n`,
    )
      .bind(siteId, T0 - 2 * DAY)
      .run();
    const created = await call("/api/v1/audiences", {
      method: "POST",
      key: apiKey,
      json: { name: "Carts", kind: "cart_abandoners", params: { hours: 24 } },
    });
    const { id } = (await created.json()) as { id: number };
    const { size } = await refreshAudience(db, HOME_PEOPLE, await getAudience(db, siteId, id), T0, { range: 1500 });
    expect(size).toBe(5000);

    const pages: number[] = [];
    const stream = exportStream(HOME_PEOPLE, id, "tw", { pageSize: 1000, onPage: (rows) => pages.push(rows) });
    const text = await new Response(stream).text();
    const ids = csvIds(text);
    expect(ids).toHaveLength(5000);
    expect(new Set(ids).size).toBe(5000);
    expect(pages.length).toBeGreaterThanOrEqual(5);
    expect(pages.slice(0, 5)).toEqual([1000, 1000, 1000, 1000, 1000]);

    const viaApi = await call(`/api/v1/audiences/${id}/export?id_space=tw`, { key: apiKey });
    expect(csvIds(await viaApi.text())).toEqual(ids);
  });

  it("serves a signed, expiring URL without the API key, refusing tampered and expired links", async () => {
    const { siteId, apiKey, audienceId } = await setup();
    await seedMembers(siteId);
    await refreshAudience(db, HOME_PEOPLE, await getAudience(db, siteId, audienceId), T0);
    const res = await call(`/api/v1/audiences/${audienceId}/export-url`, {
      method: "POST",
      key: apiKey,
      json: { id_space: "net", expires_in: 600 },
    });
    expect(res.status).toBe(201);
    const { url } = (await res.json()) as { url: string };
    const path = url.replace(/^https?:\/\/[^/]+/, "");
    const signed = await call(path);
    expect(signed.status).toBe(200);
    expect(csvIds(await signed.text())).toEqual(["net-1", "net-2"]);

    const otherSpace = await call(path.replace("id_space=net", "id_space=tw"));
    expect(otherSpace.status).toBe(401);
    expect((await errorOf(otherSpace)).code).toBe("invalid_signature");
    const exp = Number(new URL(url).searchParams.get("exp"));
    const longer = await call(path.replace(`exp=${exp}`, `exp=${exp + MS_PER_DAY}`));
    expect(longer.status).toBe(401);
    const otherAudience = await call(path.replace(`/audiences/${audienceId}/`, `/audiences/${audienceId + 1}/`));
    expect(otherAudience.status).toBe(401);

    const { signExportUrl } = await import("../../worker/audiences/export");
    const expired = await signExportUrl(env.SIGNING_SECRET, "https://x", siteId, audienceId, "tw", Date.now() - 1000);
    const late = await call(expired.replace("https://x", ""));
    expect(late.status).toBe(403);
    expect((await errorOf(late)).code).toBe("link_expired");
  });
});

describe("formula injection in exports", () => {
  it("neutralises partner IDs that a spreadsheet would run as formulas, in every ID space", async () => {
    const { siteId, apiKey, audienceId } = await setup();
    const planted = ['=HYPERLINK("https://evil.example","x")', "+1+cmd|' /C calc'!A0", "-1", "@SUM(A1)", "\tx", "\rx"];
    for (const [i, puid] of planted.entries()) {
      await addCustomer(siteId, `F${i}`, { first_order_at: T0 - DAY });
      await addVisitor(siteId, cookie(100 + i), { customer_id: `F${i}` });
      await addLink(siteId, "net", puid, cookie(100 + i));
    }
    await refreshAudience(db, HOME_PEOPLE, await getAudience(db, siteId, audienceId), T0);
    const net = await (await call(`/api/v1/audiences/${audienceId}/export?id_space=net`, { key: apiKey })).text();
    const lines = net.split(/\n(?=(?:[^"]*"[^"]*")*[^"]*$)/).filter(Boolean);
    expect(lines[0]).toBe("id");
    for (const line of lines.slice(1)) expect(line).toMatch(/^"'/);
    expect(lines).toHaveLength(planted.length + 1);
    // tagwerk's own cookie IDs are hex and stay as they are.
    const tw = await (await call(`/api/v1/audiences/${audienceId}/export?id_space=tw`, { key: apiKey })).text();
    expect(
      tw
        .split("\n")
        .slice(1, -1)
        .every((id) => /^[0-9a-f]{32}$/.test(id)),
    ).toBe(true);
  });
});
