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
    expect(html).toMatch(/<td class="num">3<\/td><td>[^<]*customer_id/);
    expect(html).toMatch(/<td class="num">4<\/td><td>[^<]*lifetime_revenue/);
    const row = await env.DB.prepare("select count(*) as n from customers where customer_id = 'U-1'").first<{
      n: number;
    }>();
    expect(row?.n).toBe(1);
  });

  it("says what is wrong next to the file field when no file or no pool is given", async () => {
    const { siteKey } = await createTestSite();
    const cookie = await sessionCookie((await createAdminUser(siteKey, "marketer")).email);
    const res = await upload("/admin/imports/codes", cookie, new File([""], "empty.csv"));
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/id="error-codes"[^>]*>Choose a file to upload\./);
  });
});
