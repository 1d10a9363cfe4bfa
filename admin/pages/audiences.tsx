/** Audiences: size over time (SVG from the dated sizes), refresh, and export links per partner ID space. */
import type { Context } from "hono";
import type { AudienceKind } from "../../worker/audiences/kinds";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import { LineChart } from "../chart";
import { FLASH, text } from "../forms";
import type { Audience, Partner, Segment } from "../types";
import { ActionButton, can, Empty, ErrorAlert, Field, formatTime, Layout, Notice, ReadOnlyNote, Select } from "../ui";

/** Typed by the API's kinds, so a kind added or renamed there fails the build here. */
const KIND_LABELS: Record<AudienceKind, string> = {
  segment: "segment — everyone in a segment",
  new_customers: 'new customers — params {"days": 28}',
  cart_abandoners: 'cart abandoners — params {"hours": 24}',
  dormant: 'dormant customers — params {"days": 180}',
  cluster: 'cluster — params {"cluster": "rings"}',
  lookalike: 'look-alikes — params {"threshold": 0.5}',
};
const KINDS = Object.entries(KIND_LABELS).map(([value, label]) => ({ value, label }));

type WithSizes = Audience & { sizes: { day: string; size: number }[] };

async function render(c: Context<AdminEnv>, view: { error?: string; exportUrl?: string } = {}) {
  const api = c.var.api;
  const [{ audiences }, partners, segments] = await Promise.all([
    api.get<{ audiences: Audience[] }>("/api/v1/audiences"),
    api.call<{ partners: Partner[] }>("GET", "/api/v1/partners"),
    api.call<{ segments: Segment[] }>("GET", "/api/v1/segments"),
  ]);
  const detailed = await Promise.all(audiences.map((a) => api.get<WithSizes>(`/api/v1/audiences/${a.id}`)));
  const spaces = ["tw", ...(partners.ok ? partners.data.partners.map((p) => p.key) : [])];
  const writable = can(c.var.role, "marketer");
  return c.html(
    <Layout title="Audiences" user={c.var.user} active="/admin/audiences">
      <h1>Audiences</h1>
      <Notice message={FLASH[c.req.query("done") ?? ""]} />
      <ReadOnlyNote role={c.var.role} needs="marketer" />
      <ErrorAlert message={view.error} />
      {view.exportUrl && (
        <div class="alert ok" role="status">
          Signed export URL (valid 24 hours): <code class="secret">{view.exportUrl}</code>
        </div>
      )}
      {detailed.length === 0 && (
        <Empty>
          No audiences yet. Create one below — e.g. <em>new customers</em> as a suppression list — then refresh it and
          hand the export link to your display network.
        </Empty>
      )}
      {detailed.map((a) => (
        <section class="card">
          <h2>
            {a.name} <span class="muted">({a.kind})</span>
          </h2>
          <p>
            <strong>{a.size ?? 0}</strong> members · refreshed {formatTime(a.refreshed_at)}
          </p>
          {a.sizes.length > 0 ? (
            <LineChart
              title={`Size of ${a.name} over time`}
              labels={a.sizes.map((s) => s.day)}
              series={[{ label: "members", values: a.sizes.map((s) => s.size), color: "#2a5bd7" }]}
            />
          ) : (
            <p class="muted">No sizes recorded yet: refresh it (the cron does so every 15 minutes).</p>
          )}
          <p>
            Export (CSV):{" "}
            {spaces.map((space) => (
              <>
                <a href={`/api/v1/audiences/${a.id}/export?format=csv&id_space=${space}`}>
                  {space === "tw" ? "tagwerk IDs" : space}
                </a>{" "}
              </>
            ))}
          </p>
          {writable && (
            <div class="actions">
              <ActionButton
                action={`/admin/audiences/${a.id}/refresh`}
                label="Refresh now"
                accessibleLabel={`Refresh ${a.name}`}
              />
              {spaces.map((space) => (
                <ActionButton
                  action={`/admin/audiences/${a.id}/export-url`}
                  fields={{ id_space: space }}
                  label={`Signed URL (${space})`}
                  accessibleLabel={`Signed export URL of ${a.name} for ${space}`}
                />
              ))}
              <ActionButton
                action={`/admin/audiences/${a.id}/delete`}
                label="Delete"
                danger
                accessibleLabel={`Delete ${a.name}`}
              />
            </div>
          )}
        </section>
      ))}
      {writable && (
        <form method="post" action="/admin/audiences" class="card">
          <h2>New audience</h2>
          <div class="grid">
            <Field label="Name" name="name" required />
            <Select label="Kind" name="kind" value="new_customers" options={KINDS} />
            <Select
              label="Segment (kind segment)"
              name="segment_id"
              value=""
              options={[
                { value: "", label: "—" },
                ...(segments.ok ? segments.data.segments : []).map((s) => ({ value: s.id, label: s.name })),
              ]}
            />
            <Field label="Parameters (JSON)" name="params" value="{}" hint='e.g. {"days": 28}' />
          </div>
          <div class="actions">
            <button type="submit">Create audience</button>
          </div>
        </form>
      )}
    </Layout>,
    view.error ? 400 : 200,
  );
}

export function audiencePages(app: AdminApp) {
  app.get("/admin/audiences", (c) => render(c));

  app.post("/admin/audiences", async (c) => {
    const form = await c.req.parseBody();
    let params: unknown;
    try {
      params = JSON.parse(text(form, "params") || "{}");
    } catch {
      return render(c, { error: 'params: must be a JSON object, e.g. {"days": 28}' });
    }
    const segmentId = text(form, "segment_id");
    const json = {
      name: text(form, "name"),
      kind: text(form, "kind"),
      params,
      ...(segmentId ? { segment_id: Number(segmentId) } : {}),
    };
    const result = await c.var.api.call("POST", "/api/v1/audiences", { json });
    if (!result.ok) return render(c, { error: result.error.message });
    return c.redirect("/admin/audiences?done=created", 303);
  });

  app.post("/admin/audiences/:id{[0-9]+}/refresh", async (c) => {
    const result = await c.var.api.call("POST", `/api/v1/audiences/${c.req.param("id")}/refresh`);
    if (!result.ok) return render(c, { error: result.error.message });
    return c.redirect("/admin/audiences?done=refreshed", 303);
  });

  app.post("/admin/audiences/:id{[0-9]+}/export-url", async (c) => {
    const form = await c.req.parseBody();
    const result = await c.var.api.call<{ url: string }>("POST", `/api/v1/audiences/${c.req.param("id")}/export-url`, {
      json: { id_space: text(form, "id_space") || "tw" },
    });
    if (!result.ok) return render(c, { error: result.error.message });
    return render(c, { exportUrl: result.data.url });
  });

  app.post("/admin/audiences/:id{[0-9]+}/delete", async (c) => {
    const result = await c.var.api.call("DELETE", `/api/v1/audiences/${c.req.param("id")}`);
    if (!result.ok) return render(c, { error: result.error.message });
    return c.redirect("/admin/audiences?done=deleted", 303);
  });
}
