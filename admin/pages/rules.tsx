/**
 * Rules: per placement in priority order (move up/down is one atomic reorder), each with its schedule,
 * cap, holdout, stop-after-conversion and an enable/disable toggle; the placement's fallback.
 */
import type { Context } from "hono";
import { formatPercent, formatTime } from "../../worker/lib/format";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import { type Column, DataTable, Page, pageFrame } from "../components";
import { failedHere, text } from "../forms";
import type { Creative, Pool, Rule, Segment } from "../types";
import { ActionButton, type ActionFailure, can, Empty, ErrorAlert } from "../ui";
import { FallbackForm, loadFallbacks } from "./fallback";
import { moveRule } from "./placement-order";
import { placementTagPath } from "./placement-tag";
import { RuleForm, type RuleValues, ruleFromForm } from "./rule-form";

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

type Names = { list: { id: number; name: string }[]; none: string };

const nameIn = ({ list, none }: Names, id: number | null) =>
  id == null ? none : (list.find((x) => x.id === id)?.name ?? `#${id}`);

/** A placement's rules in the order /b tries them, with their moves, toggles and deletes. */
function ruleColumns(
  list: Rule[],
  names: { segments: Names; creatives: Names; pools: Names },
  writable: boolean,
  failed?: ActionFailure,
): Column<Rule>[] {
  return [
    {
      header: "Order",
      nowrap: true,
      cell: (r) => {
        const i = list.indexOf(r);
        return (
          <>
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
          </>
        );
      },
    },
    {
      header: "Rule",
      cell: (r) => (
        <>
          <a href={`/admin/rules/${r.id}`}>{r.name}</a>
          {(r.starts_at || r.ends_at) && (
            <div class="muted">
              {r.starts_at ? formatTime(r.starts_at) : "…"} – {r.ends_at ? formatTime(r.ends_at) : "…"}
            </div>
          )}
        </>
      ),
    },
    {
      header: "Segment → creative (pool)",
      cell: (r) => (
        <>
          {nameIn(names.segments, r.segment_id)} → {nameIn(names.creatives, r.creative_id)}
          {r.pool_id != null && (
            <>
              {" ("}
              <a href={`/admin/pools/${r.pool_id}`}>{nameIn(names.pools, r.pool_id)}</a>)
            </>
          )}
        </>
      ),
    },
    {
      header: "Cap / holdout",
      cell: (r) => (
        <>
          {r.cap_per_day ?? "no cap"} / {r.holdout == null ? "site default" : formatPercent(r.holdout, 0)}
          {r.stop_after_conversion && <div class="muted">stops after conversion</div>}
        </>
      ),
    },
    {
      header: "Status",
      cell: (r) => <span class={`badge ${r.enabled ? "on" : "off"}`}>{r.enabled ? "enabled" : "disabled"}</span>,
    },
    {
      header: "Actions",
      cell: (r) => (
        <>
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
                failed={failed}
              />
            </>
          )}
        </>
      ),
    },
  ];
}

async function render(
  c: Context<AdminEnv>,
  view: { rule?: Rule; values?: Partial<RuleValues>; error?: string; failed?: ActionFailure } = {},
) {
  const { rules, creatives, segments, pools } = await loadAll(c);
  const writable = can(c.var.role, "marketer");
  const v: Partial<RuleValues> = view.values ?? view.rule ?? { priority: 100, enabled: true, placement: "home-hero" };
  const names = {
    segments: { list: segments, none: "everyone" },
    creatives: { list: creatives, none: "?" },
    pools: { list: pools, none: "" },
  };
  const groups = byPlacement(rules);
  const fallbacks = await loadFallbacks(c, [...groups.keys()]);
  return c.html(
    <Page frame={await pageFrame(c)} title="Rules" active="/admin/rules" needs="marketer">
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
          <DataTable columns={ruleColumns(list, names, writable, view.failed)} rows={list} />
          {writable && creatives.length > 0 && (
            <FallbackForm placement={placement} current={fallbacks.get(placement) ?? null} creatives={creatives} />
          )}
        </section>
      ))}
      <ErrorAlert message={view.error} />
      {writable && <RuleForm rule={view.rule} v={v} creatives={creatives} segments={segments} pools={pools} />}
    </Page>,
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
