import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createAdminUser, postForm, sessionCookie } from "../../fixtures/admin";
import { call } from "../../fixtures/api";
import { bannerSite } from "../../fixtures/banner";

async function marketer() {
  const s = await bannerSite();
  const user = await createAdminUser(s.siteKey, "marketer");
  return { s, cookie: await sessionCookie(user.email) };
}

const count = async (table: string, siteId: number) =>
  (await env.DB.prepare(`select count(*) as n from ${table} where site_id = ?`).bind(siteId).first<{ n: number }>())?.n;

describe("admin forms that fight back", () => {
  it("a refused pool creation shows the error and keeps everything that was typed", async () => {
    const { s, cookie } = await marketer();
    const res = await postForm("/admin/pools", cookie, {
      name: "Comeback spring",
      kind: "generated",
      prefix: "spring-",
      valid_days: "0",
      discount: "15 %",
    });
    expect(res.status).toBe(400);
    const html = await res.text();
    const form = html.slice(html.indexOf('id="pool-form"'));
    expect(form).toContain('role="alert"');
    expect(form).toContain('value="Comeback spring"');
    expect(form).toContain('value="SPRING-"');
    expect(form).toContain('value="0"');
    expect(form).toContain('value="15 %"');
    expect(await count("coupon_pools", s.siteId)).toBe(0);
  });

  it("every delete asks first: without confirmation nothing is deleted and a confirmation page answers", async () => {
    const { s, cookie } = await marketer();
    const segment = await s.segment("visits > 1");
    const list = await (await call("/admin/segments", { headers: { Cookie: cookie } })).text();
    expect(list).toContain(`data-confirm="Delete segment visits &gt; 1?"`);
    expect(list).toContain('<script src="/admin/assets/confirm.js" defer=""></script>');

    const asked = await postForm(`/admin/segments/${segment}/delete`, cookie, {
      confirm: "Delete segment visits > 1?",
    });
    expect(asked.status).toBe(200);
    const page = await asked.text();
    expect(page).toContain("Are you sure?");
    expect(page).toContain("Delete segment visits &gt; 1? This cannot be undone.");
    expect(page).toMatch(new RegExp(`<form method="post" action="/admin/segments/${segment}/delete"`));
    expect(page).toContain('<input type="hidden" name="confirmed" value="1"/>');
    expect(page).toContain('href="/admin/segments">Cancel');
    expect(await count("segments", s.siteId)).toBe(1);

    const done = await postForm(`/admin/segments/${segment}/delete`, cookie, { confirmed: "1" });
    expect(done.status).toBe(303);
    expect(await count("segments", s.siteId)).toBe(0);
  });

  it("the confirm() enhancement is a same-origin script that marks the post confirmed", async () => {
    const res = await call("/admin/assets/confirm.js");
    expect(res.status).toBe(200);
    const js = await res.text();
    expect(res.headers.get("Content-Type")).toBe("text/javascript; charset=utf-8");
    // Bundled from admin/client/confirm.ts (minified): the question, then the hidden confirmed field.
    expect(js).toContain("window.confirm(");
    expect(js).toContain('"confirmed"');
  });

  it("an 'in use' delete error stands next to the segment it concerns, not under the New segment form", async () => {
    const { s, cookie } = await marketer();
    const segment = await s.segment("visits > 1");
    await s.rule({ name: "uses it", segment_id: segment, creative_id: await s.creative("html", "<p>x</p>") });
    const res = await postForm(`/admin/segments/${segment}/delete`, cookie, { confirmed: "1" });
    expect(res.status).toBe(400);
    const html = await res.text();
    const form = html.match(
      new RegExp(`<form method="post" action="/admin/segments/${segment}/delete"[\\s\\S]*?</form>`),
    );
    expect(form?.[0]).toMatch(/class="field-error action-error" role="alert">[^<]*\S/);
    expect(html).toMatch(/<div class="field-error" id="expression-error" aria-live="assertive"><\/div>/);
    expect(await count("segments", s.siteId)).toBe(1);
  });

  it("report dates that are not dates are refused on the reports page beside the date fields", async () => {
    const { cookie } = await marketer();
    for (const [query, message] of [
      ["from=2026-02-30&to=2026-03-10", "From: “2026-02-30” is not a date"],
      ["from=2026-03-10&to=2026-03-01", "From must be on or before To."],
      ["from=2024-01-01&to=2026-03-01", "A report covers at most 366 days"],
    ]) {
      const res = await call(`/admin/reports?${query}`, { headers: { Cookie: cookie } });
      expect(res.status).toBe(400);
      const html = await res.text();
      expect(html).toContain("<title>Reports · tagwerk admin</title>");
      expect(html).not.toContain("Not allowed");
      expect(html).toMatch(/<div class="field-error" id="period-error" role="alert">/);
      expect(html).toContain(message);
    }
  });

  it("a refused webhook shows a readable reason and keeps the URL", async () => {
    const { s, cookie } = await marketer();
    const segment = await s.segment("visits > 1");
    for (const [fields, reason] of [
      [{ url: "http://127.0.0.1/hook", segment_id: String(segment) }, "url:"],
      [{ url: "https://hooks.example/x", segment_id: "" }, "Choose the segment"],
    ] as const) {
      const res = await postForm("/admin/webhooks", cookie, fields);
      expect(res.status).toBe(400);
      const html = await res.text();
      expect(html).toContain(reason);
      expect(html).not.toMatch(/HTTP 500|X-Request-Id|Something went wrong/);
      expect(html).toContain(`value="${fields.url}"`);
    }
    expect(await count("webhooks", s.siteId)).toBe(0);
  });

  it("audience parameters are fields per kind, and the fields reach the API as typed params", async () => {
    const { s, cookie } = await marketer();
    const page = await (await call("/admin/audiences", { headers: { Cookie: cookie } })).text();
    for (const name of ["days", "hours", "cluster", "threshold", "top"]) expect(page).toContain(`name="${name}"`);
    expect(page).not.toContain("Parameters (JSON)");

    const created = await postForm("/admin/audiences", cookie, {
      name: "Dormant half-year",
      kind: "dormant",
      days: "120",
      hours: "",
      cluster: "",
      threshold: "",
      top: "",
    });
    expect(created.status).toBe(303);
    const row = await env.DB.prepare("select kind, params from audiences where site_id = ?")
      .bind(s.siteId)
      .first<{ kind: string; params: string }>();
    expect(row?.kind).toBe("dormant");
    expect(JSON.parse(row?.params ?? "{}")).toEqual({ days: 120 });

    const refused = await postForm("/admin/audiences", cookie, {
      name: "Lookalikes",
      kind: "lookalike",
      threshold: "2",
    });
    expect(refused.status).toBe(400);
    const html = await refused.text();
    expect(html).toContain("threshold");
    expect(html).toContain('value="Lookalikes"');
    expect(html).toContain('value="2"');
  });
});
