/**
 * The erasure API (GDPR Art. 17): DELETE /api/v1/customers/:id and DELETE /api/v1/visitors/:cid
 * remove personal data from every table in one transaction, release unredeemed codes, and keep
 * the counts that reports rely on.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { countRows, event, postEvents, SHOP, signedIdentify } from "../collect/post-events";
import { call, createTestSite, errorOf, importCsv, settleBackgroundWork, siteIdOf } from "../fixtures/api";
import { countArchived } from "../fixtures/archive";
import { randomCookie } from "../fixtures/banner";
import { inHome } from "../fixtures/people";

/** A customer C-1 with two linked cookies and data in every table that holds personal data. */
async function populatedSite() {
  const { siteKey, apiKey } = await createTestSite({ allowed_origins: [SHOP] });
  await inHome(siteKey);
  const siteId = await siteIdOf(siteKey);
  const imported = await importCsv(apiKey, "customer_id,email,orders\nC-1,anna@example.com,3\nC-2,bert@example.com,1");
  expect(imported.status).toBe(200);
  const cookies = [randomCookie(), randomCookie()];
  for (const cookie of cookies) {
    const res = await postEvents(
      { site: siteKey, events: [event("page"), await signedIdentify(apiKey, "C-1")] },
      { cookie },
    );
    expect(res.status).toBe(204);
  }
  const other = randomCookie();
  expect((await postEvents({ site: siteKey, events: [event("page")] }, { cookie: other })).status).toBe(204);

  const run = (sql: string, ...params: unknown[]) =>
    env.DB.prepare(sql)
      .bind(...params)
      .first<{ id: number }>();
  const [a, b] = cookies;
  await run(
    "insert into id_links (site_id, partner_key, partner_user_id, cookie_id, updated_at) values (?, 'net', 'P-1', ?, 1)",
    siteId,
    a,
  );
  await run(
    "insert into id_links (site_id, partner_key, partner_user_id, cookie_id, updated_at) values (?, 'net', 'P-9', ?, 1)",
    siteId,
    other,
  );
  const audience = await run(
    "insert into audiences (site_id, name, kind) values (?, 'a', 'cluster') returning id",
    siteId,
  );
  await run("insert into audience_members (audience_id, visitor_id, cookie_id) values (?, 1001, ?)", audience!.id, a);
  await run(
    "insert into audience_members (audience_id, visitor_id, cookie_id) values (?, 1002, ?)",
    audience!.id,
    other,
  );
  const segment = await run(
    "insert into segments (site_id, name, expression) values (?, 's', 'visits > 0') returning id",
    siteId,
  );
  const webhook = await run(
    "insert into webhooks (site_id, url, segment_id) values (?, 'https://crm.example/h', ?) returning id",
    siteId,
    segment!.id,
  );
  await run("insert into webhook_memberships (webhook_id, member, entered_at) values (?, ?, 1)", webhook!.id, `v:${b}`);
  await run("insert into webhook_memberships (webhook_id, member, entered_at) values (?, 'c:C-1', 1)", webhook!.id);
  await run(
    "insert into webhook_deliveries (site_id, webhook_id, payload, status, created_at) values (?, ?, ?, 'delivered', 1)",
    siteId,
    webhook!.id,
    JSON.stringify({ type: "segment.entered", visitor: null, customer: "C-1", email_sha256: "ab".repeat(32) }),
  );
  await run(
    "insert into webhook_deliveries (site_id, webhook_id, payload, status, created_at) values (?, ?, ?, 'pending', 1)",
    siteId,
    webhook!.id,
    JSON.stringify({ cookie_id: b }),
  );
  const pool = await run("insert into coupon_pools (site_id, name, kind) values (?, 'p', 'list') returning id", siteId);
  // Assigned to the first cookie, not redeemed; assigned to the customer and redeemed; someone else's.
  await run(
    "insert into coupons (site_id, pool_id, code, holder, cookie_id, rule_id, assigned_at, expires_at) values (?, ?, 'FREE-1', ?, ?, 7, 1, 9999999999999)",
    siteId,
    pool!.id,
    `v:${a}`,
    a,
  );
  await run(
    "insert into coupons (site_id, pool_id, code, holder, cookie_id, customer_id, rule_id, assigned_at, expires_at, redeemed_at, order_id) values (?, ?, 'USED-1', 'c:C-1', ?, 'C-1', 7, 1, 9999999999999, 5, 'O-1')",
    siteId,
    pool!.id,
    b,
  );
  await run(
    "insert into coupons (site_id, pool_id, code, holder, cookie_id, assigned_at, expires_at) values (?, ?, 'OTHER-1', ?, ?, 1, 9999999999999)",
    siteId,
    pool!.id,
    `v:${other}`,
    other,
  );
  await run(
    "insert into impressions (uid, site_id, placement, rule_id, cookie_id, day, ts) values (?, ?, 'slot', 7, ?, 1, 1)",
    randomCookie(),
    siteId,
    a,
  );
  await run(
    "insert into clicks (site_id, impression_uid, rule_id, cookie_id, ts) values (?, ?, 7, ?, 1)",
    siteId,
    randomCookie(),
    a,
  );
  await run("insert into person_caps (site_id, holder, rule_id, day, count) values (?, ?, 7, 1, 2)", siteId, `v:${a}`);
  await run("insert into person_caps (site_id, holder, rule_id, day, count) values (?, 'c:C-1', 7, 1, 3)", siteId);
  await run(
    "insert into rule_conversions (site_id, rule_id, cookie_id, order_id, revenue, ts) values (?, 7, ?, 'O-1', 50, 1)",
    siteId,
    b,
  );
  return { siteKey, apiKey, siteId, cookies, other, pool: pool!.id };
}

describe("DELETE /api/v1/customers/:id", () => {
  it("erases the customer and its visitors everywhere, releases unredeemed codes and anonymises redeemed ones", async () => {
    const s = await populatedSite();
    const [a, b] = s.cookies;
    const twin = await createTestSite();
    await inHome(twin.siteKey);
    await importCsv(twin.apiKey, "customer_id\nC-1");

    expect(await countArchived(s.siteId, a, b)).toBe(4);
    const res = await call("/api/v1/customers/C-1", { method: "DELETE", key: s.apiKey });
    expect(res.status).toBe(204);
    // The archive's sweep runs after the response (worker/archive/sweeps.ts).
    await settleBackgroundWork();

    const mine = "site_id = ? and cookie_id in (?, ?)";
    expect(await countRows("customers", "site_id = ? and customer_id = 'C-1'", s.siteId)).toBe(0);
    expect(await countRows("visitors", mine, s.siteId, a, b)).toBe(0);
    expect(await countArchived(s.siteId, a, b)).toBe(0);
    expect(await countRows("archive_sweeps", "site_id = ?", s.siteId)).toBe(0);
    expect(await countRows("id_links", mine, s.siteId, a, b)).toBe(0);
    expect(
      await countRows("person_caps", "site_id = ? and holder in (?, ?, 'c:C-1')", s.siteId, `v:${a}`, `v:${b}`),
    ).toBe(0);
    expect(await countRows("audience_members", "cookie_id in (?, ?)", a, b)).toBe(0);
    expect(await countRows("webhook_memberships", "member in (?, ?, 'c:C-1')", `v:${a}`, `v:${b}`)).toBe(0);
    expect(await countRows("webhook_deliveries", "payload like ?", `%${b}%`)).toBe(0);
    expect(await countRows("webhook_deliveries", "payload like ?", "%C-1%")).toBe(0);
    expect(await countRows("impressions", mine, s.siteId, a, b)).toBe(0);
    expect(await countRows("clicks", mine, s.siteId, a, b)).toBe(0);
    expect(await countRows("rule_conversions", mine, s.siteId, a, b)).toBe(0);
    // Counts stay: the impression, click and conversion rows are still there, without the cookie.
    expect(await countRows("impressions", "site_id = ? and cookie_id is null", s.siteId)).toBe(1);
    expect(await countRows("clicks", "site_id = ? and cookie_id is null", s.siteId)).toBe(1);
    expect(await countRows("rule_conversions", "site_id = ? and revenue = 50", s.siteId)).toBe(1);

    const coupons = await env.DB.prepare(
      "select code, holder, cookie_id, customer_id, assigned_at, redeemed_at, order_id from coupons where pool_id = ? order by code",
    )
      .bind(s.pool)
      .all();
    expect(coupons.results).toEqual([
      {
        code: "FREE-1",
        holder: null,
        cookie_id: null,
        customer_id: null,
        assigned_at: null,
        redeemed_at: null,
        order_id: null,
      },
      {
        code: "OTHER-1",
        holder: `v:${s.other}`,
        cookie_id: s.other,
        customer_id: null,
        assigned_at: 1,
        redeemed_at: null,
        order_id: null,
      },
      {
        code: "USED-1",
        holder: expect.stringMatching(/^erased:\d+$/),
        cookie_id: null,
        customer_id: null,
        assigned_at: 1,
        redeemed_at: 5,
        order_id: "O-1",
      },
    ]);

    // Everyone else is untouched: the other visitor here, and C-1 of another site.
    expect(await countRows("visitors", "site_id = ? and cookie_id = ?", s.siteId, s.other)).toBe(1);
    expect(await countArchived(s.siteId, s.other)).toBe(1);
    expect(await countRows("id_links", "cookie_id = ?", s.other)).toBe(1);
    expect(await countRows("audience_members", "cookie_id = ?", s.other)).toBe(1);
    expect(await countRows("customers", "site_id = ? and customer_id = 'C-2'", s.siteId)).toBe(1);
    expect(await countRows("customers", "site_id = ? and customer_id = 'C-1'", await siteIdOf(twin.siteKey))).toBe(1);
  });

  it("answers 404 for a customer it does not know, and for one of another site", async () => {
    const s = await populatedSite();
    const other = await createTestSite();
    await inHome(other.siteKey);
    const res = await call("/api/v1/customers/C-1", { method: "DELETE", key: other.apiKey });
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe("not_found");
    expect(await countRows("customers", "site_id = ? and customer_id = 'C-1'", s.siteId)).toBe(1);
  });

  it("leaves nothing half-erased when the erasure fails: it is one transaction", async () => {
    const s = await populatedSite();
    // A trigger makes the last statement (deleting the visitors) fail inside the batch.
    await env.DB.exec(
      "create trigger refuse_visitor_delete before delete on visitors begin select raise(abort, 'refused'); end",
    );
    try {
      const res = await call("/api/v1/customers/C-1", { method: "DELETE", key: s.apiKey });
      expect(res.status).toBe(500);
    } finally {
      await env.DB.exec("drop trigger refuse_visitor_delete");
    }
    expect(await countRows("customers", "site_id = ? and customer_id = 'C-1'", s.siteId)).toBe(1);
    expect(await countArchived(s.siteId, s.cookies[0])).toBe(2);
    expect(await countRows("archive_sweeps", "site_id = ?", s.siteId)).toBe(0);
    expect(await countRows("coupons", "pool_id = ? and holder is null", s.pool)).toBe(0);
  });
});

describe("DELETE /api/v1/visitors/:cid", () => {
  it("erases one visitor and keeps the customer it was linked to", async () => {
    const s = await populatedSite();
    const [a, b] = s.cookies;
    const res = await call(`/api/v1/visitors/${a}`, { method: "DELETE", key: s.apiKey });
    expect(res.status).toBe(204);
    await settleBackgroundWork();
    expect(await countRows("visitors", "site_id = ? and cookie_id = ?", s.siteId, a)).toBe(0);
    expect(await countArchived(s.siteId, a)).toBe(0);
    expect(await countArchived(s.siteId, b)).toBe(2);
    expect(await countRows("id_links", "cookie_id = ?", a)).toBe(0);
    expect(await countRows("coupons", "pool_id = ? and code = 'FREE-1' and holder is null", s.pool)).toBe(1);
    // The customer's own redeemed code and the second visitor stay.
    expect(await countRows("coupons", "pool_id = ? and code = 'USED-1' and holder = 'c:C-1'", s.pool)).toBe(1);
    expect(await countRows("visitors", "site_id = ? and cookie_id = ?", s.siteId, b)).toBe(1);
    expect(await countRows("customers", "site_id = ? and customer_id = 'C-1'", s.siteId)).toBe(1);
  });

  it("answers 400 to a malformed cookie ID and 404 to an unknown one", async () => {
    const { apiKey } = await createTestSite();
    expect((await call("/api/v1/visitors/not-a-cookie", { method: "DELETE", key: apiKey })).status).toBe(400);
    expect((await call(`/api/v1/visitors/${randomCookie()}`, { method: "DELETE", key: apiKey })).status).toBe(404);
  });
});
