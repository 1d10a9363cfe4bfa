import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createAdminUser, sessionCookie } from "../../fixtures/admin";
import { BASE, call, createTestSite } from "../../fixtures/api";

function upload(path: string, cookie: string, file: File, fields: Record<string, string> = {}) {
  const form = new FormData();
  form.set("file", file);
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  return call(path, { method: "POST", headers: { Cookie: cookie, Origin: BASE }, body: form });
}

describe("the admin's Imports page", () => {
  it("uploads a customer CSV and shows the per-line report of what was refused", async () => {
    const { siteKey } = await createTestSite();
    const user = await createAdminUser(siteKey, "marketer");
    const cookie = await sessionCookie(user.email);
    const page = await call("/admin/imports", { headers: { Cookie: cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('data-api="/api/v1/import/customers"');

    const csv =
      "customer_id,email,lifetime_revenue\nU-1,u1@example.com,10\n,nobody@example.com,5\nU-3,u3@example.com,lots\n";
    const res = await upload("/admin/imports/customers", cookie, new File([csv], "crm.csv", { type: "text/csv" }));
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/<strong>1<\/strong> accepted, <strong>2<\/strong> refused/);
    expect(html).toMatch(/<td class="num">3<\/td><td><ul class="line-problems"><li>missing customer_id<\/li><\/ul>/);
    expect(html).toMatch(/<td class="num">4<\/td><td><ul class="line-problems"><li>lifetime_revenue/);
    const row = await env.DB.prepare("select count(*) as n from customers where customer_id = 'U-1'").first<{
      n: number;
    }>();
    expect(row?.n).toBe(1);
  });

  it("lists every problem of a refused line, not only its first", async () => {
    const { siteKey } = await createTestSite();
    const cookie = await sessionCookie((await createAdminUser(siteKey, "marketer")).email);
    const csv = "customer_id,email,orders,last_order_at\n,not-an-address,2.5,31.12.2024\n";
    const res = await upload("/admin/imports/customers", cookie, new File([csv], "crm.csv", { type: "text/csv" }));
    const html = await res.text();
    const cell = html.match(/<td class="num">2<\/td><td><ul class="line-problems">(.*?)<\/ul>/)?.[1] ?? "";
    expect(cell.match(/<li>/g)).toHaveLength(4);
    for (const problem of [
      "missing customer_id",
      "email: not an e-mail address",
      "orders:",
      "last_order_at: bad date",
    ]) {
      expect(cell).toContain(problem);
    }
  });

  it("says what is wrong next to the file field when no file or no pool is given", async () => {
    const { siteKey } = await createTestSite();
    const cookie = await sessionCookie((await createAdminUser(siteKey, "marketer")).email);
    const res = await upload("/admin/imports/codes", cookie, new File([""], "empty.csv"));
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/id="error-codes"[^>]*>Choose a file to upload\./);
  });
});
