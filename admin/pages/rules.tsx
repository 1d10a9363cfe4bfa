/**
 * Rules: per placement in priority order (move up/down is one atomic reorder), each with its schedule,
 * cap, holdout, stop-after-conversion and an enable/disable toggle; the placement's fallback.
 */
import type { Context } from "hono";
import { formatPercent, formatTime } from "../../worker/lib/format";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import {
  checked,
  FLASH,
  type FormData,
  failedHere,
  numberOrNull,
  percentInput,
  shareFromPercent,
  text,
  toLocalInput,
  utcIso,
} from "../forms";
import type { Creative, Pool, Rule, Segment } from "../types";
import {
  ActionButton,
  type ActionFailure,
  Check,
  can,
  Empty,
  ErrorAlert,
  Field,
  Layout,
  Notice,
  ReadOnlyNote,
  Select,
} from "../ui";
import { FallbackForm, loadFallbacks } from "./fallback";
import { moveRule } from "./placement-order";
import { placementTagPath } from "./placement-tag";

function ruleFromForm(form: FormData) {
  const optionalId = (name: string) => (text(form, name) ? Number(text(form, name)) : null);
  return {
    name: text(form, "name"),
    placement: text(form, "placement"),
    segment_id: optionalId("segment_id"),
    creative_id: Number(text(form, "creative_id")),
    pool_id: optionalId("pool_id"),
    priority: numberOrNull(form, "priority") ?? 100,
    starts_at: utcIso(form, "starts_at"),
    ends_at: utcIso(form, "ends_at"),
    cap_per_day: numberOrNull(form, "cap_per_day"),
    holdout: shareFromPercent(form, "holdout"),
    stop_after_conversion: checked(form, "stop_after_conversion"),
    enabled: checked(form, "enabled"),
  };
}

type Values = ReturnType<typeof ruleFromForm>;

async function loadAll(c: Context<AdminEnv>) {
  const api = c.var.api;
  const [rules, creatives, segments, pools] = await Promise.all([
    api.get<{ rules: Rule[] }>("/api/v1/rules"),
    api.get<{ creatives: Creative[] }>("/api/v1/creatives"),
    api.call<{ segments: Segment[] }>("GET", "/api/v1/segments"),
    api.call<{ pools: Pool[] }>("GET", "/api/v1/pools"),
  ]);
  return {
    rules: rules.rules,
    creatives: creatives.creatives,
    segments: segments.ok ? segments.data.segments : [],
    pools: pools.ok ? pools.data.pools : [],
  };
}

function byPlacement(rules: Rule[]): Map<string, Rule[]> {
  const groups = new Map<string, Rule[]>();
  for (const rule of [...rules].sort(
    (a, b) => a.placement.localeCompare(b.placement) || a.priority - b.priority || a.id - b.id,
  )) {
    groups.set(rule.placement, [...(groups.get(rule.placement) ?? []), rule]);
  }
  return groups;
}

async function render(
  c: Context<AdminEnv>,
  view: { rule?: Rule; values?: Partial<Values>; error?: string; failed?: ActionFailure } = {},
) {
  const { rules, creatives, segments, pools } = await loadAll(c);
  const writable = can(c.var.role, "marketer");
  const v: Partial<Values> = view.values ?? view.rule ?? { priority: 100, enabled: true, placement: "home-hero" };
  const name = (list: { id: number; name: string }[], id: number | null, none: string) =>
    id == null ? none : (list.find((x) => x.id === id)?.name ?? `#${id}`);
  const groups = byPlacement(rules);
  const fallbacks = await loadFallbacks(c, [...groups.keys()]);
  return c.html(
    <Layout title="Rules" user={c.var.user} active="/admin/rules">
      <h1>Rules</h1>
      <Notice message={FLASH[c.req.query("done") ?? ""]} />
      <ReadOnlyNote role={c.var.role} needs="marketer" />
      {rules.length === 0 && (
        <Empty>
          No rules yet. A rule shows a creative on a placement to a segment.{" "}
          {creatives.length === 0 ? (
            <>
              <a href="/admin/creatives">Make a creative</a> first, then come back.
            </>
          ) : (
            "Make one with the form below."
          )}
        </Empty>
      )}
      {[...groups].map(([placement, list]) => (
        <section class="card">
          <h2>
            Placement <code>{placement}</code>{" "}
            <a class="button secondary small" href={placementTagPath(placement)}>
              Get tag
            </a>
          </h2>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Order</th>
                  <th>Rule</th>
                  <th>Segment → creative (pool)</th>
                  <th>Cap / holdout</th>
                  <th>Status</th>
                  <th>Actions</th>
                </tr>
              </thead>
              <tbody>
                {list.map((r, i) => (
                  <tr>
                    <td>
                      {r.priority}
                      {writable && (
                        <>
                          {" "}
                          <ActionButton
                            action={`/admin/rules/${r.id}/move`}
                            fields={{ direction: "up" }}
                            label="↑"
                            disabled={i === 0}
                            accessibleLabel={`Move ${r.name} up`}
                          />{" "}
                          <ActionButton
                            action={`/admin/rules/${r.id}/move`}
                            fields={{ direction: "down" }}
                            label="↓"
                            disabled={i === list.length - 1}
                            accessibleLabel={`Move ${r.name} down`}
                          />
                        </>
                      )}
                    </td>
                    <td>
                      <a href={`/admin/rules/${r.id}`}>{r.name}</a>
                      {(r.starts_at || r.ends_at) && (
                        <div class="muted">
                          {r.starts_at ? formatTime(r.starts_at) : "…"} – {r.ends_at ? formatTime(r.ends_at) : "…"}
                        </div>
                      )}
                    </td>
                    <td>
                      {name(segments, r.segment_id, "everyone")} → {name(creatives, r.creative_id, "?")}
                      {r.pool_id != null && ` (${name(pools, r.pool_id, "")})`}
                    </td>
                    <td>
                      {r.cap_per_day ?? "no cap"} / {r.holdout == null ? "site default" : formatPercent(r.holdout, 0)}
                      {r.stop_after_conversion && <div class="muted">stops after conversion</div>}
                    </td>
                    <td>
                      <span class={`badge ${r.enabled ? "on" : "off"}`}>{r.enabled ? "enabled" : "disabled"}</span>
                    </td>
                    <td>
                      <a href={`/admin/reports/rules/${r.id}`} aria-label={`Results of ${r.name}`}>
                        Results
                      </a>{" "}
                      {writable && (
                        <>
                          <ActionButton
                            action={`/admin/rules/${r.id}/toggle`}
                            label={r.enabled ? "Disable" : "Enable"}
                            accessibleLabel={`${r.enabled ? "Disable" : "Enable"} ${r.name}`}
                          />{" "}
                          <ActionButton
                            action={`/admin/rules/${r.id}/delete`}
                            label="Delete"
                            danger
                            accessibleLabel={`Delete ${r.name}`}
                            failed={view.failed}
                          />
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {writable && creatives.length > 0 && (
            <FallbackForm placement={placement} current={fallbacks.get(placement) ?? null} creatives={creatives} />
          )}
        </section>
      ))}
      <ErrorAlert message={view.error} />
      {writable && (
        <form
          method="post"
          action={view.rule ? `/admin/rules/${view.rule.id}` : "/admin/rules"}
          class="card"
          id="rule-form"
        >
          <h2>{view.rule ? `Edit “${view.rule.name}”` : "New rule"}</h2>
          <div class="grid">
            <Field label="Name" name="name" value={v.name} required />
            <Field
              label="Placement"
              name="placement"
              value={v.placement}
              required
              hint="The slot name, e.g. home-hero"
            />
            <Select
              label="Segment"
              name="segment_id"
              value={v.segment_id ?? ""}
              options={[{ value: "", label: "everyone" }, ...segments.map((s) => ({ value: s.id, label: s.name }))]}
            />
            <Select
              label="Creative"
              name="creative_id"
              value={v.creative_id}
              required
              options={creatives.map((cr) => ({ value: cr.id, label: `${cr.name} (${cr.width}×${cr.height})` }))}
            />
            <Select
              label="Coupon pool"
              name="pool_id"
              value={v.pool_id ?? ""}
              options={[{ value: "", label: "no coupon" }, ...pools.map((p) => ({ value: p.id, label: p.name }))]}
            />
            <Field
              label="Priority"
              name="priority"
              type="number"
              min="0"
              value={v.priority}
              hint="Lower is tried first"
            />
            <Field
              label="Starts (UTC)"
              name="starts_at"
              type="datetime-local"
              value={toLocalInput(v.starts_at)}
              hint="Empty: now"
            />
            <Field
              label="Ends (UTC)"
              name="ends_at"
              type="datetime-local"
              value={toLocalInput(v.ends_at)}
              hint="Empty: open-ended"
            />
            <Field
              label="Cap per visitor and day"
              name="cap_per_day"
              type="number"
              min="1"
              value={v.cap_per_day}
              hint="Empty: no cap"
            />
            <Field
              label="Holdout (%)"
              name="holdout"
              type="number"
              step="0.01"
              min="0"
              max="100"
              value={percentInput(v.holdout)}
              hint="Share of visitors kept as a control group, e.g. 10; empty: the site's default"
            />
          </div>
          <div class="actions">
            <Check label="Stop after conversion" name="stop_after_conversion" checked={v.stop_after_conversion} />
            <Check label="Enabled" name="enabled" checked={v.enabled} />
          </div>
          <div class="actions">
            <button type="submit" disabled={creatives.length === 0}>
              {view.rule ? "Save rule" : "Create rule"}
            </button>
          </div>
        </form>
      )}
    </Layout>,
    view.error ? 400 : 200,
  );
}

export function rulePages(app: AdminApp) {
  app.get("/admin/rules", (c) => render(c));

  app.get("/admin/rules/:id{[0-9]+}", async (c) => {
    const rule = await c.var.api.get<Rule>(`/api/v1/rules/${c.req.param("id")}`);
    return render(c, { rule });
  });

  app.post("/admin/rules", async (c) => {
    const values = ruleFromForm(await c.req.parseBody());
    const result = await c.var.api.call<Rule>("POST", "/api/v1/rules", { json: values });
    if (!result.ok) return render(c, { values, error: result.error.message });
    return c.redirect("/admin/rules?done=created", 303);
  });

  app.post("/admin/rules/:id{[0-9]+}", async (c) => {
    const id = c.req.param("id");
    const values = ruleFromForm(await c.req.parseBody());
    const result = await c.var.api.call<Rule>("PATCH", `/api/v1/rules/${id}`, { json: values });
    if (!result.ok) {
      const rule = await c.var.api.get<Rule>(`/api/v1/rules/${id}`);
      return render(c, { rule, values, error: result.error.message });
    }
    return c.redirect("/admin/rules?done=saved", 303);
  });

  app.post("/admin/rules/:id{[0-9]+}/toggle", async (c) => {
    const id = c.req.param("id");
    const rule = await c.var.api.get<Rule>(`/api/v1/rules/${id}`);
    const result = await c.var.api.call("PATCH", `/api/v1/rules/${id}`, { json: { enabled: !rule.enabled } });
    if (!result.ok) return render(c, { error: result.error.message });
    return c.redirect("/admin/rules?done=saved", 303);
  });

  /** Moves the rule one step within its placement: one atomic reorder (admin/pages/placement-order.ts). */
  app.post("/admin/rules/:id{[0-9]+}/move", async (c) => {
    const id = Number(c.req.param("id"));
    const up = text(await c.req.parseBody(), "direction") === "up";
    const { rules } = await c.var.api.get<{ rules: Rule[] }>("/api/v1/rules");
    const rule = rules.find((r) => r.id === id);
    if (!rule) return render(c, { error: `No rule ${id}` });
    const ids = (byPlacement(rules).get(rule.placement) ?? []).map((r) => r.id);
    const moved = await moveRule(c.var.api, rule.placement, ids, id, up);
    if (!moved.ok) return render(c, { error: moved.message });
    return c.redirect("/admin/rules?done=saved", 303);
  });

  app.post("/admin/rules/:id{[0-9]+}/delete", async (c) => {
    const result = await c.var.api.call("DELETE", `/api/v1/rules/${c.req.param("id")}`);
    if (!result.ok) return render(c, { failed: failedHere(c, result.error.message) });
    return c.redirect("/admin/rules?done=deleted", 303);
  });

  app.post("/admin/placements/:placement/fallback", async (c) => {
    const form = await c.req.parseBody();
    if (!text(form, "creative_id")) return render(c, { error: "Choose the fallback creative first." });
    const result = await c.var.api.call(
      "PUT",
      `/api/v1/placements/${encodeURIComponent(c.req.param("placement"))}/fallback`,
      {
        json: { creative_id: Number(text(form, "creative_id")) },
      },
    );
    if (!result.ok) return render(c, { error: result.error.message });
    const back =
      text(form, "from") === "placement"
        ? `/admin/placements/${encodeURIComponent(c.req.param("placement"))}`
        : "/admin/rules";
    return c.redirect(`${back}?done=saved`, 303);
  });
}
