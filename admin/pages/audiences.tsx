/**
 * Audiences: size over time (admin/chart.tsx, from the dated sizes), what share each ID space reaches, refresh,
 * and export links per ID space in each destination's layout.
 */

import type { Context } from "hono";
import type { AudienceKind } from "../../worker/audiences/kinds";
import type { LookalikeModelJson } from "../../worker/audiences/lookalike-model";
import { formatCount, formatPercent, formatTime } from "../../worker/lib/format";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import { Chart } from "../chart";
import { type Column, DataTable, FormCard, Page, pageFrame } from "../components";
import { redirectWithFlash } from "../flash";
import { failedHere, text } from "../forms";
import type { Audience, Partner, Segment } from "../types";
import { ActionButton, type ActionFailure, can, Empty, ErrorAlert, Field, Select } from "../ui";

/** Typed by the API's kinds, so a kind added or renamed there fails the build here. */
const KIND_LABELS: Record<AudienceKind, string> = {
  segment: "segment — everyone in a segment",
  new_customers: "new customers — first order within “days”",
  cart_abandoners: "cart abandoners — cart left for “hours”",
  dormant: "dormant customers — no order for “days”",
  cluster: "cluster — visitors of one “cluster”",
  lookalike: "look-alikes — by “threshold” or “top”",
};

type AudienceForm = Record<"name" | "kind" | "segment_id" | "days" | "hours" | "cluster" | "threshold" | "top", string>;
const PARAM_FIELDS = ["days", "hours", "cluster", "threshold", "top"] as const;

/** Each kind's parameters from its own fields (empty: the API's default); the API validates them. */
function paramsOf(v: AudienceForm): Record<string, unknown> {
  const num = (raw: string) => (raw.trim() === "" ? undefined : Number(raw.trim().replace(",", ".")));
  const defined = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).filter(([, value]) => value !== undefined));
  switch (v.kind) {
    case "new_customers":
    case "dormant":
      return defined({ days: num(v.days) });
    case "cart_abandoners":
      return defined({ hours: num(v.hours) });
    case "cluster":
      return { cluster: v.cluster.trim() };
    case "lookalike":
      return v.top.trim() ? { top: num(v.top) } : defined({ threshold: num(v.threshold) });
    default:
      return {};
  }
}
const KINDS = Object.entries(KIND_LABELS).map(([value, label]) => ({ value, label }));

type WithSizes = Audience & { sizes: { day: string; size: number }[]; model?: LookalikeModelJson | null };

/** The last training's quality on held-out people, or why it was refused (worker/audiences/lookalike-model.ts). */
function ModelQuality({ model }: { model: LookalikeModelJson | null | undefined }) {
  if (!model) return <p class="muted">The look-alike model has not been trained yet: refresh this audience.</p>;
  if (model.status === "refused") {
    return (
      <p class="alert error" role="status">
        Look-alike training refused ({formatTime(model.trained_at)}): {model.reason}
      </p>
    );
  }
  return (
    <p>
      Model trained {formatTime(model.trained_at)} on {model.positives} buyers won through display and {model.negatives}{" "}
      visitors without a purchase; on {model.held_out} held-out people: AUC <strong>{model.auc ?? "unknown"}</strong>,
      top-decile lift <strong>{model.top_decile_lift ?? "unknown"}</strong>
      {model.reason ? ` (${model.reason})` : ""}.
    </p>
  );
}
type Reach = { members: number; spaces: { id_space: string; members: number; share: number; ids: number }[] };

/** Export links: each destination's file (README "Send audiences to your networks"). */
const DESTINATIONS = [
  { label: "Google Customer Match", query: "id_space=email_sha256&layout=google" },
  { label: "Meta", query: "id_space=email_sha256&layout=meta" },
  { label: "The Trade Desk (UID2)", query: "id_space=uid2_email&layout=ttd" },
];

function spaceLabel(space: string): string {
  if (space === "tw") return "tagwerk IDs";
  if (space === "email_sha256") return "hashed e-mail (Google, Meta)";
  if (space === "uid2_email") return "UID2 e-mail (The Trade Desk)";
  return `${space} (cookie-synced)`;
}

type ReachRow = Reach["spaces"][number];

const REACH_COLUMNS: Column<ReachRow>[] = [
  { header: "ID space", cell: (r) => spaceLabel(r.id_space) },
  { header: "Members", num: true, cell: (r) => formatCount(r.members) },
  { header: "Share", num: true, cell: (r) => formatPercent(r.share, 0) },
  { header: "IDs exported", num: true, cell: (r) => formatCount(r.ids) },
];

async function render(
  c: Context<AdminEnv>,
  view: { error?: string; failed?: ActionFailure; values?: AudienceForm } = {},
) {
  const api = c.var.api;
  const [{ audiences }, partners, segments] = await Promise.all([
    api.get<{ audiences: Audience[] }>("/api/v1/audiences"),
    api.call<{ partners: Partner[] }>("GET", "/api/v1/partners"),
    api.call<{ segments: Segment[] }>("GET", "/api/v1/segments"),
  ]);
  const detailed = await Promise.all(
    audiences.map(async (a) => ({
      ...(await api.get<WithSizes>(`/api/v1/audiences/${a.id}`)),
      reach: await api.get<Reach>(`/api/v1/audiences/${a.id}/reach`),
    })),
  );
  const cookieSpaces = ["tw", ...(partners.ok ? partners.data.partners.map((p) => p.key) : [])];
  const spaces = [...cookieSpaces, "email_sha256", "uid2_email"];
  const writable = can(c.var.role, "marketer");
  const v = view.values;
  return c.html(
    <Page frame={await pageFrame(c)} title="Audiences" active="/admin/audiences" needs="marketer" charts>
      {!v && <ErrorAlert message={view.error} />}
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
            <strong>{formatCount(a.size ?? 0)}</strong> people (browsers, and CRM customers without one) · refreshed{" "}
            {formatTime(a.refreshed_at)}
          </p>
          {a.kind === "lookalike" && (
            <>
              <ModelQuality model={a.model} />
              <p class="muted">
                Refresh now retrains the look-alike model on customers won through display or a banner click and
                rescores every visitor without a purchase before it counts the members.
              </p>
            </>
          )}
          {a.sizes.length > 0 ? (
            <Chart
              chart={{
                id: `chart-audience-${a.id}`,
                title: `Size of ${a.name} over time`,
                unit: "count",
                currency: null,
                days: a.sizes.map((s) => s.day),
                series: [{ label: "Members", values: a.sizes.map((s) => s.size), color: "#2a5bd7", summary: "last" }],
              }}
            />
          ) : (
            <p class="muted">No sizes recorded yet: refresh it (the cron does so every 15 minutes).</p>
          )}
          <DataTable
            caption="Reachable per ID space (what a network can match)"
            columns={REACH_COLUMNS}
            rows={a.reach.spaces}
          />
          <p>
            Export (CSV):{" "}
            {cookieSpaces.map((space) => (
              <>
                <a href={`/api/v1/audiences/${a.id}/export?format=csv&id_space=${space}`}>{spaceLabel(space)}</a>{" "}
              </>
            ))}
            {DESTINATIONS.map((d) => (
              <>
                <a href={`/api/v1/audiences/${a.id}/export?format=csv&${d.query}`}>{d.label}</a>{" "}
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
                failed={view.failed}
              />
            </div>
          )}
        </section>
      ))}
      {writable && (
        <FormCard
          action="/admin/audiences"
          id="audience-form"
          title="New audience"
          error={v && view.error}
          submit="Create audience"
          extra={
            <fieldset class="grid params">
              <legend>Parameters — only the kind's own are used; empty takes the default</legend>
              <Field
                label="Days (new customers, dormant)"
                name="days"
                type="number"
                min="1"
                max="3650"
                value={v?.days}
                hint="New customers: 28; dormant: 180"
              />
              <Field
                label="Hours (cart abandoners)"
                name="hours"
                type="number"
                min="1"
                max="8760"
                value={v?.hours}
                hint="Default 24"
              />
              <Field label="Cluster (cluster)" name="cluster" value={v?.cluster} hint="e.g. rings" />
              <Field
                label="Threshold (look-alikes)"
                name="threshold"
                type="number"
                step="0.01"
                min="0"
                max="1"
                value={v?.threshold}
                hint="0..1, default 0.5"
              />
              <Field
                label="Top (look-alikes)"
                name="top"
                type="number"
                min="1"
                value={v?.top}
                hint="The N most likely instead of a threshold"
              />
            </fieldset>
          }
        >
          <Field label="Name" name="name" value={v?.name} required />
          <Select label="Kind" name="kind" value={v?.kind || "new_customers"} options={KINDS} />
          <Select
            label="Segment (kind segment)"
            name="segment_id"
            value={v?.segment_id ?? ""}
            options={[
              { value: "", label: "—" },
              ...(segments.ok ? segments.data.segments : []).map((s) => ({ value: s.id, label: s.name })),
            ]}
          />
        </FormCard>
      )}
    </Page>,
    view.error ? 400 : 200,
  );
}

export function audiencePages(app: AdminApp) {
  app.get("/admin/audiences", (c) => render(c));

  app.post("/admin/audiences", async (c) => {
    const form = await c.req.parseBody();
    const values = Object.fromEntries(
      (["name", "kind", "segment_id", ...PARAM_FIELDS] as const).map((name) => [name, text(form, name)]),
    ) as AudienceForm;
    const json = {
      name: values.name,
      kind: values.kind,
      params: paramsOf(values),
      ...(values.segment_id ? { segment_id: Number(values.segment_id) } : {}),
    };
    const result = await c.var.api.call("POST", "/api/v1/audiences", { json });
    if (!result.ok) return render(c, { values, error: result.error.message });
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
    return redirectWithFlash(c, "/admin/audiences", {
      secret: { label: "Signed export URL (valid 24 hours):", value: result.data.url },
    });
  });

  app.post("/admin/audiences/:id{[0-9]+}/delete", async (c) => {
    const result = await c.var.api.call("DELETE", `/api/v1/audiences/${c.req.param("id")}`);
    if (!result.ok) return render(c, { failed: failedHere(c, result.error.message) });
    return c.redirect("/admin/audiences?done=deleted", 303);
  });
}
