/**
 * Placements as objects: the list of every placement the site serves (from rules, fallbacks and
 * what `/b` was asked for, GET /api/v1/placements) and a page per placement with its size, fallback
 * (editable), rules in the order `/b` tries them (move up/down is one atomic reorder), how it picks
 * among them (priority, or the next best offer with its objective and what each rule learned per
 * visitor context: README.md, "Next best offer"), its slot snippet, and its GAM / Xandr / generic
 * ad-server tags with a rendered preview (docs/admin.md, "Admin UI").
 */
import type { Context } from "hono";
import { formatCount, formatMoney } from "../../worker/lib/format";
import type { PlacementDetail, PlacementSummary } from "../../worker/rules/placements";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import { type Column, DataTable, Page, pageFrame } from "../components";
import { FLASH, text } from "../forms";
import { EXPLAIN_FRAME_PATH } from "../frame";
import type { Creative } from "../types";
import { ActionButton, can, Empty, ErrorAlert, Layout, Notice, ReadOnlyNote, Snippet } from "../ui";
import { FallbackForm } from "./fallback";
import { moveRule } from "./placement-order";
import { placementTagPath } from "./placement-tag";

const OBJECTIVES = [
  { value: "clicks", label: "Clicks per impression" },
  { value: "redemptions", label: "Coupon redemptions per impression" },
  { value: "revenue", label: "Revenue of redemptions per impression" },
] as const;

/** What each rule learned per visitor context (GET /api/v1/placements/{placement}, `learned`). */
const learnedColumns = (p: PlacementDetail, currency: string): Column<PlacementDetail["learned"][number]>[] => [
  { header: "Context", cell: (row) => row.context },
  {
    header: "Rule",
    cell: (row) => (
      <a href={`/admin/rules/${row.rule_id}`}>
        {p.rules.find((r) => r.id === row.rule_id)?.name ?? `rule ${row.rule_id}`}
      </a>
    ),
  },
  { header: "Impressions", num: true, cell: (row) => formatCount(row.impressions) },
  { header: "Clicks", num: true, cell: (row) => formatCount(row.clicks) },
  { header: "Redemptions", num: true, cell: (row) => formatCount(row.redemptions) },
  { header: "Revenue", num: true, cell: (row) => formatMoney(row.revenue, currency) },
  { header: "Posterior mean", num: true, cell: (row) => row.mean.toFixed(4) },
];

const NETWORKS = [
  { value: "gam", label: "Google Ad Manager" },
  { value: "xandr", label: "Xandr (Microsoft Invest / Monetize)" },
  { value: "generic", label: "Any other ad server (no macros)" },
] as const;

/** A visitor never seen: the preview shows what a first-time visitor gets, and records nothing (explain). */
const FIRST_TIME_VISITOR = "0".repeat(32);

const placementPath = (placement: string) => `/admin/placements/${encodeURIComponent(placement)}`;

/** The slot element the shop pastes where the banner goes (the tag fills it; README.md, "The tag"). */
export const slotSnippet = (p: Pick<PlacementSummary, "placement" | "width" | "height">) =>
  `<div data-tw-slot="${p.placement}" data-w="${p.width ?? 300}" data-h="${p.height ?? 250}"></div>`;

const size = (p: PlacementSummary) => (p.width ? `${p.width}×${p.height}` : "—");

export async function loadPlacements(c: Context<AdminEnv>) {
  return (await c.var.api.get<{ placements: PlacementSummary[] }>("/api/v1/placements")).placements;
}

const PLACEMENT_COLUMNS: Column<PlacementSummary>[] = [
  {
    header: "Placement",
    cell: (p) => (
      <a href={placementPath(p.placement)}>
        <code>{p.placement}</code>
      </a>
    ),
  },
  { header: "Size", cell: size },
  { header: "Fallback", cell: (p) => p.fallback?.name ?? <span class="muted">none (empty 1×1)</span> },
  {
    header: "Rules (enabled)",
    num: true,
    cell: (p) => `${p.rules.length} (${p.rules.filter((r) => r.enabled).length})`,
  },
  {
    header: "Last requested (UTC)",
    cell: (p) =>
      p.seen ? (
        <>
          {p.seen.last}
          {p.rules.length === 0 && !p.fallback && <div class="badge off">seen by /b, not set up yet</div>}
        </>
      ) : (
        <span class="muted">not yet</span>
      ),
  },
];

async function renderList(c: Context<AdminEnv>) {
  const placements = await loadPlacements(c);
  return c.html(
    <Page frame={await pageFrame(c)} title="Placements" active="/admin/placements">
      <p class="muted">
        Every slot the site serves: named by a rule, given a fallback, or asked for by a page (a slot installed on the
        shop that nothing is set up for yet shows an empty 1×1 until it gets a fallback). Open one for its rules in
        order, its slot snippet and its ad-server tags.
      </p>
      <DataTable
        id="placements"
        columns={PLACEMENT_COLUMNS}
        rows={placements}
        empty="No placements yet: create a rule (or set a fallback) for one, e.g. home-hero."
      />
    </Page>,
  );
}

async function renderOne(c: Context<AdminEnv>, placement: string, error?: string) {
  const api = c.var.api;
  const [detail, creatives, tags] = await Promise.all([
    api.call<PlacementDetail>("GET", `/api/v1/placements/${encodeURIComponent(placement)}`),
    api.get<{ creatives: Creative[] }>("/api/v1/creatives"),
    Promise.all(
      NETWORKS.map((n) =>
        api.call<{ tag: string }>("GET", `/api/v1/placements/${encodeURIComponent(placement)}/tag?network=${n.value}`),
      ),
    ),
  ]);
  const p = detail.ok ? detail.data : null;
  if (!p) {
    return c.html(
      <Layout title="Placement not found" user={c.var.user} active="/admin/placements">
        <h1>No placement “{placement}”</h1>
        <p>
          No rule names it, it has no fallback, and /b was never asked for it.{" "}
          <a href="/admin/placements">All placements</a>
        </p>
      </Layout>,
      404,
    );
  }
  const writable = can(c.var.role, "marketer");
  const ids = p.rules.map((r) => r.id);
  const frame = `${EXPLAIN_FRAME_PATH}?${new URLSearchParams({ placement, who: FIRST_TIME_VISITOR })}`;
  return c.html(
    <Layout title={`Placement ${placement}`} user={c.var.user} active="/admin/placements">
      <p>
        <a href="/admin/placements">← Placements</a>
      </p>
      <h1>
        Placement <code>{placement}</code> <span class="muted">{size(p)}</span>
      </h1>
      <Notice message={FLASH[c.req.query("done") ?? ""]} />
      <ReadOnlyNote role={c.var.role} needs="marketer" />
      <ErrorAlert message={error} />

      <section class="card" aria-labelledby="rules-title">
        <h2 id="rules-title">Rules, in the order they are tried</h2>
        {p.rules.length === 0 ? (
          <Empty>No rules: every visitor sees the fallback.</Empty>
        ) : (
          <ol id="placement-rules">
            {p.rules.map((r, index) => (
              <li>
                <a href={`/admin/rules/${r.id}`}>{r.name}</a>{" "}
                <span class={`badge ${r.enabled ? "on" : "off"}`}>{r.enabled ? "on" : "off"}</span>{" "}
                <span class="muted">priority {r.priority}</span>{" "}
                {writable && (
                  <>
                    <ActionButton
                      action={`${placementPath(placement)}/move`}
                      fields={{ rule_id: String(r.id), direction: "up", order: ids.join(",") }}
                      label="↑"
                      disabled={index === 0}
                      accessibleLabel={`Move ${r.name} up`}
                    />
                    <ActionButton
                      action={`${placementPath(placement)}/move`}
                      fields={{ rule_id: String(r.id), direction: "down", order: ids.join(",") }}
                      label="↓"
                      disabled={index === p.rules.length - 1}
                      accessibleLabel={`Move ${r.name} down`}
                    />
                  </>
                )}
              </li>
            ))}
          </ol>
        )}
        <p class="muted">Then the fallback, also for holdout visitors and on a fault.</p>
        {writable ? (
          <FallbackForm
            placement={placement}
            current={p.fallback?.creative_id ?? null}
            creatives={creatives.creatives}
            from="placement"
          />
        ) : (
          <p>Fallback: {p.fallback?.name ?? "none (an empty 1×1 creative)"}</p>
        )}
      </section>

      <section class="card" aria-labelledby="offer-title">
        <h2 id="offer-title">How the banner is chosen</h2>
        {writable ? (
          <form method="post" action={`${placementPath(placement)}/arbitration`} class="actions">
            <label for="arbitration">Arbitration</label>
            <select id="arbitration" name="arbitration">
              <option value="priority" selected={p.arbitration === "priority"}>
                Priority: the first matching rule in the order above
              </option>
              <option value="best" selected={p.arbitration === "best"}>
                Next best offer: learn which rule pays off for each kind of visitor
              </option>
            </select>
            <label for="objective">Objective</label>
            <select id="objective" name="objective">
              {OBJECTIVES.map((o) => (
                <option value={o.value} selected={p.objective === o.value}>
                  {o.label}
                </option>
              ))}
            </select>
            <button type="submit" class="secondary">
              Save
            </button>
          </form>
        ) : (
          <p>
            Arbitration: {p.arbitration === "best" ? "next best offer" : "priority"}, objective: {p.objective}
          </p>
        )}
        <p class="muted">
          Next best offer samples each matching rule's learned {p.objective} per impression for the visitor's context
          (CRM cluster, else top interest category, else unknown); a new rule is tried until it has been seen. Holdouts
          stay per rule.
        </p>
        <DataTable
          id="learned-offers"
          columns={learnedColumns(p, c.var.site.currency)}
          rows={p.learned}
          empty="Nothing learned yet: impressions and clicks of this placement's rules appear here."
        />
      </section>

      <section class="card" aria-labelledby="slot-title">
        <h2 id="slot-title">Slot on the shop's pages</h2>
        <p>With the tag installed (see Install), this element is where the banner goes:</p>
        <Snippet id="slot-snippet">{slotSnippet(p)}</Snippet>
      </section>

      <section class="card" aria-labelledby="tags-title">
        <h2 id="tags-title">Ad-server tags</h2>
        {tags.every((t) => !t.ok) ? (
          <ErrorAlert message="No tag yet: give the placement a fallback creative or an enabled rule, then its size is known." />
        ) : (
          <>
            {NETWORKS.map((n, i) => {
              const t = tags[i];
              return (
                <div class="tag-block">
                  <h3>{n.label}</h3>
                  {t.ok ? (
                    <Snippet id={`tag-${n.value}`}>{t.data.tag}</Snippet>
                  ) : (
                    <ErrorAlert message={t.error.message} />
                  )}
                </div>
              );
            })}
            <p>
              <a href={placementTagPath(placement)}>Tag page with the macros explained</a>
            </p>
            <h3>Preview</h3>
            <p class="muted">What the tag shows a first-time visitor now (nothing is recorded, no code is claimed).</p>
            <div class="preview-box">
              <iframe
                id="tag-preview"
                title={`Preview of ${placement}`}
                src={frame}
                width={p.width ?? 300}
                height={p.height ?? 250}
                sandbox=""
              />
            </div>
          </>
        )}
      </section>
    </Layout>,
    error ? 400 : 200,
  );
}

export function placementPages(app: AdminApp) {
  app.get("/admin/placements", (c) => renderList(c));
  app.get("/admin/placements/:placement{[A-Za-z0-9_-]{1,64}}", (c) => renderOne(c, c.req.param("placement")));

  app.post("/admin/placements/:placement{[A-Za-z0-9_-]{1,64}}/arbitration", async (c) => {
    const placement = c.req.param("placement");
    const form = await c.req.parseBody();
    const result = await c.var.api.call("PATCH", `/api/v1/placements/${encodeURIComponent(placement)}`, {
      json: { arbitration: text(form, "arbitration"), objective: text(form, "objective") },
    });
    if (!result.ok) return renderOne(c, placement, result.error.message);
    return c.redirect(`${placementPath(placement)}?done=saved`, 303);
  });

  app.post("/admin/placements/:placement{[A-Za-z0-9_-]{1,64}}/move", async (c) => {
    const placement = c.req.param("placement");
    const form = await c.req.parseBody();
    // The order the page showed: a page older than the rules is refused by the API (409), not half applied.
    const shown = text(form, "order").split(",").map(Number).filter(Number.isInteger);
    const moved = await moveRule(
      c.var.api,
      placement,
      shown,
      Number(text(form, "rule_id")),
      text(form, "direction") === "up",
    );
    if (!moved.ok) return renderOne(c, placement, moved.message);
    return c.redirect(`${placementPath(placement)}?done=saved`, 303);
  });
}
