/** The dashboard: how much is set up, and the next step when something is missing. */
import type { AdminApp } from "../app";
import type { Creative, Pool, Rule, Segment } from "../types";
import { Empty, Layout } from "../ui";

export function dashboardPage(app: AdminApp) {
  app.get("/admin", async (c) => {
    const api = c.var.api;
    const [segments, creatives, rules, pools] = await Promise.all([
      api.call<{ segments: Segment[] }>("GET", "/api/v1/segments"),
      api.call<{ creatives: Creative[] }>("GET", "/api/v1/creatives"),
      api.call<{ rules: Rule[] }>("GET", "/api/v1/rules"),
      api.call<{ pools: Pool[] }>("GET", "/api/v1/pools"),
    ]);
    const count = <T,>(r: { ok: boolean; data?: T }, pick: (d: T) => unknown[]) =>
      r.ok && r.data ? pick(r.data).length : 0;
    const n = {
      segments: count(segments, (d) => d.segments),
      creatives: count(creatives, (d) => d.creatives),
      rules: count(rules, (d) => d.rules),
      pools: count(pools, (d) => d.pools),
    };
    const enabled = rules.ok ? rules.data.rules.filter((r) => r.enabled).length : 0;
    const steps = [
      { done: n.segments > 0, href: "/admin/segments", text: "Write a segment: who should see a banner" },
      { done: n.creatives > 0, href: "/admin/creatives", text: "Make a creative: what they see" },
      { done: n.pools > 0, href: "/admin/pools", text: "Create a coupon pool (optional): a personal code per visitor" },
      { done: n.rules > 0, href: "/admin/rules", text: "Make a rule: placement + segment + creative (+ pool)" },
    ];
    const next = steps.find((s) => !s.done);
    return c.html(
      <Layout title="Dashboard" user={c.var.user} active="/admin">
        <h1>Dashboard</h1>
        <div class="grid">
          {(
            [
              ["Segments", n.segments, "/admin/segments"],
              ["Creatives", n.creatives, "/admin/creatives"],
              ["Rules (enabled)", `${n.rules} (${enabled})`, "/admin/rules"],
              ["Coupon pools", n.pools, "/admin/pools"],
            ] as const
          ).map(([label, value, href]) => (
            <section class="card">
              <div class="muted">{label}</div>
              <div class="stat">{value}</div>
              <a href={href}>Open {label.toLowerCase()}</a>
            </section>
          ))}
        </div>
        {next ? (
          <Empty>
            <strong>Next step:</strong> <a href={next.href}>{next.text}</a>.
          </Empty>
        ) : (
          <p>
            Everything is set up. See what each rule earned in <a href="/admin/reports">Reports</a>.
          </p>
        )}
      </Layout>,
    );
  });
}
