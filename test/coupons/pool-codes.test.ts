import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hasValidCheck } from "../../worker/coupons/code-format";
import { createAdminUser, postForm, sessionCookie } from "../fixtures/admin";
import { call } from "../fixtures/api";
import { createSiteWithId, insertCodes, insertPool } from "./helpers";

const DAY = 86_400_000;

/** The flash cookie a post-redirect-get answer sets, as the browser sends it back. */
const flashCookie = (res: Response) => (res.headers.get("Set-Cookie") ?? "").split(";")[0];

/** Hands `code` to a holder as a claim would have, `ago` ms before now. */
async function assign(code: string, holder: string, ago: number, extra = "") {
  const at = Date.now() - ago;
  await env.DB.prepare(
    `update coupons set holder = ?, cookie_id = ?, assigned_at = ?, expires_at = ? ${extra} where code = ?`,
  )
    .bind(holder, holder.startsWith("v:") ? holder.slice(2) : null, at, at + 30 * DAY, code)
    .run();
}

type Page = {
  sample: string | null;
  codes: { code: string; state: string; holder_kind: string }[];
  next: number | null;
};

describe("a pool's codes", () => {
  it("lists the handed-out codes newest first, page by page, without a cookie ID; free codes only in the export", async () => {
    const { siteId, apiKey } = await createSiteWithId();
    const pool = await insertPool(siteId, { kind: "list", name: "Spring" });
    await insertCodes(siteId, pool.id, ["A1", "A2", "A3", "A4", "A5"]);
    const cookieId = "ab".repeat(16);
    await assign("A1", `v:${cookieId}`, 3 * DAY);
    await assign("A2", "c:C-77", 2 * DAY, ", redeemed_at = 1, order_id = 'O-1'");
    await assign("A3", "v:cd", 1 * DAY);
    const first = (await (await call(`/api/v1/pools/${pool.id}/codes?limit=2`, { key: apiKey })).json()) as Page;
    expect(first.codes.map((c) => c.code)).toEqual(["A3", "A2"]);
    expect(first.codes[1]).toMatchObject({
      state: "redeemed",
      holder_kind: "customer",
      customer: "C-77",
      order: "O-1",
    });
    expect(first.sample).toBe("A4");
    expect(first.next).not.toBeNull();
    const second = (await (
      await call(`/api/v1/pools/${pool.id}/codes?limit=2&before=${first.next}`, { key: apiKey })
    ).json()) as Page;
    expect(second.codes.map((c) => c.code)).toEqual(["A1"]);
    expect(second.next).toBeNull();
    expect(JSON.stringify([first, second])).not.toContain(cookieId);

    const exported = await call(`/api/v1/pools/${pool.id}/export`, { key: apiKey });
    expect(exported.status).toBe(200);
    expect(exported.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
    expect(exported.headers.get("Content-Disposition")).toBe(`attachment; filename="pool-${pool.id}-codes.csv"`);
    const lines = (await exported.text()).trim().split("\n");
    expect(lines[0]).toBe(
      "code,state,holder_kind,customer,rule_id,assigned_at,expires_at,redeemed_at,archived_at,order",
    );
    expect(lines.slice(1).map((l) => l.split(",").slice(0, 3).join(","))).toEqual([
      "A1,assigned,visitor",
      "A2,redeemed,customer",
      "A3,assigned,visitor",
      "A4,free,",
      "A5,free,",
    ]);
    expect(lines.join("\n")).not.toContain(cookieId);
  });

  it("exports a customer ID that looks like a formula as text, and pages a large pool in the export", async () => {
    const { siteId, apiKey } = await createSiteWithId();
    const pool = await insertPool(siteId, { kind: "list" });
    const codes = Array.from({ length: 1_203 }, (_, i) => `C${i}`);
    await insertCodes(siteId, pool.id, codes);
    await assign("C7", "c:=HYPERLINK(1)", DAY);
    const text = await (await call(`/api/v1/pools/${pool.id}/export`, { key: apiKey })).text();
    const lines = text.trim().split("\n");
    expect(lines).toHaveLength(1 + 1_203);
    expect(lines.find((l) => l.startsWith("C7,"))).toContain(`"'=HYPERLINK(1)"`);
  });

  it("a generated pool's sample code has the pool's prefix and a valid check character and is not stored", async () => {
    const { siteId, apiKey } = await createSiteWithId();
    const pool = await insertPool(siteId, { kind: "generated", prefix: "SPRING-" });
    const page = (await (await call(`/api/v1/pools/${pool.id}/codes`, { key: apiKey })).json()) as Page;
    expect(page.sample).toMatch(/^SPRING-[34679ACDEFGHJKMNPRTUWXY]{10}$/);
    expect(hasValidCheck(page.sample!.slice("SPRING-".length))).toBe(true);
    expect(page.codes).toEqual([]);
    const stored = await env.DB.prepare("select count(*) as n from coupons where pool_id = ?").bind(pool.id).first();
    expect(stored).toEqual({ n: 0 });
  });

  it("another site's pool is not found, its codes neither", async () => {
    const { apiKey } = await createSiteWithId();
    const other = await createSiteWithId();
    const pool = await insertPool(other.siteId, { kind: "list" });
    expect((await call(`/api/v1/pools/${pool.id}/codes`, { key: apiKey })).status).toBe(404);
    expect((await call(`/api/v1/pools/${pool.id}/export`, { key: apiKey })).status).toBe(404);
  });
});

describe("the pool page", () => {
  it("shows the sample code, the counts, the handed-out codes with an Older link, and the export downloads with the session", async () => {
    const { siteId, siteKey } = await createSiteWithId();
    const pool = await insertPool(siteId, { kind: "list", name: "Winback" });
    const codes = Array.from({ length: 53 }, (_, i) => `W${String(i).padStart(2, "0")}`);
    await insertCodes(siteId, pool.id, [...codes, "FREE-1"]);
    for (const [i, code] of codes.entries()) await assign(code, `c:K${i}`, (60 - i) * 60_000);
    const cookie = await sessionCookie((await createAdminUser(siteKey, "viewer")).email);
    const list = await (await call("/admin/pools", { headers: { Cookie: cookie } })).text();
    expect(list).toContain(`<a href="/admin/pools/${pool.id}">Winback</a>`);
    const res = await call(`/admin/pools/${pool.id}`, { headers: { Cookie: cookie } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<code id="sample-code">FREE-1</code>');
    expect(html).toContain(`href="/api/v1/pools/${pool.id}/export"`);
    expect(html).toContain("W52</a>");
    expect(html).not.toContain("W02</a>");
    const older = html.match(/href="(\/admin\/pools\/\d+\?before=\d+)"/)?.[1];
    expect(older).toBeDefined();
    const page2 = await (await call(older!, { headers: { Cookie: cookie } })).text();
    expect(page2).toContain("W02</a>");
    expect(page2).not.toContain("W52</a>");
    const csv = await call(`/api/v1/pools/${pool.id}/export`, { headers: { Cookie: cookie } });
    expect(csv.status).toBe(200);
    expect((await csv.text()).split("\n")).toHaveLength(1 + 54 + 1);
    expect((await call("/admin/pools/999999", { headers: { Cookie: cookie } })).status).toBe(404);
  });

  it("an upload from the pool's page comes back to it with the report, and the new code is next", async () => {
    const { siteId, siteKey } = await createSiteWithId();
    const pool = await insertPool(siteId, { kind: "list", name: "Refill" });
    const cookie = await sessionCookie((await createAdminUser(siteKey, "marketer")).email);
    const page = await (await call(`/admin/pools/${pool.id}`, { headers: { Cookie: cookie } })).text();
    expect(page).toContain("none left — upload codes");
    expect(page).toContain('<input type="hidden" name="back" value="pool"/>');
    const res = await postForm(`/admin/pools/${pool.id}/codes`, cookie, { codes: "NEW-1\nbad code!", back: "pool" });
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toBe(`/admin/pools/${pool.id}`);
    const after = await (
      await call(`/admin/pools/${pool.id}`, { headers: { Cookie: `${cookie}; ${flashCookie(res)}` } })
    ).text();
    expect(after).toContain("1 codes uploaded, 1 lines refused:");
    expect(after).toContain('<code id="sample-code">NEW-1</code>');
  });
});
