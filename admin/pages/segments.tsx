/**
 * Segments: the list and an editor whose client script (segment-editor.js) shows syntax errors
 * inline and the live count from POST /api/v1/segments/preview while typing. Without the script,
 * saving shows the same error, and the edit page shows the count.
 */
import type { Context } from "hono";
import { formatCount } from "../../worker/lib/format";
import { PLAIN_FIELD_NAMES } from "../../worker/segments/fields";
import type { SegmentSizeDay } from "../../worker/segments/sizes";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import { Chart } from "../chart";
import { FLASH, failedHere, text } from "../forms";
import type { Segment } from "../types";
import { ActionButton, type ActionFailure, can, Empty, ErrorAlert, Field, Layout, Notice, ReadOnlyNote } from "../ui";

const EXAMPLE = 'gender = "f" and days_since_last_order >= 180 and lifetime_revenue > 100 and coupons_redeemed = 0';

/** A small line of the daily visitor counts (the admin's one chart, as a sparkline) and the change since the first recorded day. */
const Trend = ({ id, days }: { id: number; days: SegmentSizeDay[] }) => {
  if (days.length === 0) return <span class="muted">not counted yet</span>;
  const first = days[0];
  const change = days[days.length - 1].visitors - first.visitors;
  return (
    <span class="trend">
      <Chart
        chart={{
          id: `trend-${id}`,
          title: "visitors per day",
          unit: "count",
          currency: null,
          days: days.map((d) => d.day),
          series: [{ label: "Visitors", values: days.map((d) => d.visitors), color: "#2a5bd7", summary: "last" }],
          sparkline: true,
        }}
      />{" "}
      <span class="muted small">
        {change === 0 ? "±0" : change > 0 ? `+${formatCount(change)}` : `−${formatCount(-change)}`} since {first.day}
      </span>
    </span>
  );
};

type EditorView = {
  segment?: Segment;
  values?: { name: string; expression: string };
  error?: string;
  failed?: ActionFailure;
};

async function render(c: Context<AdminEnv>, view: EditorView = {}, status: 200 | 400 = 200) {
  const api = c.var.api;
  const list = await api.call<{ segments: Segment[] }>("GET", "/api/v1/segments");
  const segments = list.ok ? list.data.segments : [];
  // Each segment's current size, from the same preview the editor uses (one SQL count each).
  const sizes = await Promise.all(
    segments.map(async (s) => {
      const r = await api.call<{ visitors: number; customers: number }>("POST", "/api/v1/segments/preview", {
        json: { expression: s.expression },
      });
      return r.ok ? r.data : null;
    }),
  );
  const trends = await api.call<{ sizes: Record<string, SegmentSizeDay[]> }>("GET", "/api/v1/segments/sizes");
  const history = trends.ok ? trends.data.sizes : {};
  const writable = can(c.var.role, "marketer");
  const values = view.values ?? { name: view.segment?.name ?? "", expression: view.segment?.expression ?? "" };
  let count = "";
  if (values.expression && !view.error) {
    const preview = await api.call<{ visitors: number; customers: number }>("POST", "/api/v1/segments/preview", {
      json: { expression: values.expression },
    });
    if (preview.ok) count = `${preview.data.visitors} visitors and ${preview.data.customers} customers match`;
  }
  const action = view.segment ? `/admin/segments/${view.segment.id}` : "/admin/segments";
  return c.html(
    <Layout title="Segments" user={c.var.user} active="/admin/segments" scripts={["segment-editor.js"]} charts>
      <h1>Segments</h1>
      <Notice message={FLASH[c.req.query("done") ?? ""]} />
      <ReadOnlyNote role={c.var.role} needs="marketer" />
      {!list.ok && <ErrorAlert message={`Segments are not available: ${list.error.message}`} />}
      {segments.length === 0 ? (
        <Empty>
          No segments yet. Write one below — for example <code>{EXAMPLE}</code> — and watch the count as you type.
        </Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Expression</th>
                <th class="num">Visitors</th>
                <th class="num">Customers</th>
                <th>Visitors, last 30 days</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {segments.map((s, i) => (
                <tr>
                  <td>
                    <a href={`/admin/segments/${s.id}`}>{s.name}</a>
                  </td>
                  <td>
                    <code>{s.expression}</code>
                  </td>
                  <td class="num">{sizes[i]?.visitors ?? "—"}</td>
                  <td class="num">{sizes[i]?.customers ?? "—"}</td>
                  <td>
                    <Trend id={s.id} days={history[s.id] ?? []} />
                  </td>
                  <td>
                    {writable && (
                      <ActionButton
                        action={`/admin/segments/${s.id}/delete`}
                        label="Delete"
                        danger
                        accessibleLabel={`Delete segment ${s.name}`}
                        failed={view.failed}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="muted" id="visitors-vs-customers">
            <strong>Visitors</strong> are browsers (cookies) in the segment now: who can be shown a banner or put on an
            audience list. <strong>Customers</strong> are CRM records in it, linked to a browser or not yet: who the
            segment means, whether or not they have visited. One customer on two devices is one customer and two
            visitors. The trend is the count the scheduled refresh takes every 15 minutes, one figure per day.
          </p>
        </div>
      )}
      <form method="post" action={action} class="card" id="segment-form">
        <h2>{view.segment ? `Edit “${view.segment.name}”` : "New segment"}</h2>
        <Field label="Name" name="name" value={values.name} required disabled={!writable} />
        <div class="field">
          <label for="expression">Expression</label>
          <textarea
            id="expression"
            name="expression"
            required
            disabled={!writable}
            spellcheck={false}
            aria-describedby="expression-hint expression-error segment-count"
            aria-invalid={view.error ? "true" : "false"}
          >
            {values.expression}
          </textarea>
          <span class="hint" id="expression-hint">
            Days are whole days (0 = today); windows up to 90 days; operators and, or, not, =, !=, &lt;, &gt;=, in,
            contains. Click a field to insert it:
          </span>
          <div class="field-chips" id="field-chips">
            {FIELD_CHIPS.map((f) => (
              <button type="button" class="secondary chip" data-insert={f}>
                {f}
              </button>
            ))}
          </div>
          <div class="field-error" id="expression-error" aria-live="assertive">
            {view.error ? errorWithMarker(view.error, values.expression) : ""}
          </div>
          <output id="segment-count" aria-live="polite" class="muted">
            {count}
          </output>
        </div>
        {writable && (
          <div class="actions">
            <button type="submit">{view.segment ? "Save segment" : "Create segment"}</button>
            {view.segment && (
              <a class="button secondary" href="/admin/segments">
                New segment
              </a>
            )}
          </div>
        )}
      </form>
    </Layout>,
    status,
  );
}

/** Every field, as it is typed: the editor's chips insert these at the cursor. */
const FIELD_CHIPS = [
  ...PLAIN_FIELD_NAMES.filter((f) => !["interest", "event", "purchases"].includes(f)),
  'interest("rings", 30)',
  'event("newsletter_signup", 7)',
  "purchases(30)",
  "visits(30)",
  "attr.NAME",
];

/** The parser's "at N: …" error with the expression and a caret under column N (no script needed). */
function errorWithMarker(error: string, expression: string): string {
  const at = /^at (\d+):/.exec(error);
  if (!at) return error;
  const line = expression.replace(/\n/g, " ");
  return `${error}\n${line}\n${" ".repeat(Math.max(0, Number(at[1]) - 1))}^`;
}

export function segmentPages(app: AdminApp) {
  app.get("/admin/segments", (c) => render(c));

  app.get("/admin/segments/:id{[0-9]+}", async (c) => {
    const segment = await c.var.api.get<Segment>(`/api/v1/segments/${c.req.param("id")}`);
    return render(c, { segment });
  });

  app.post("/admin/segments", async (c) => {
    const form = await c.req.parseBody();
    const values = { name: text(form, "name"), expression: text(form, "expression") };
    const result = await c.var.api.call<Segment>("POST", "/api/v1/segments", { json: values });
    if (!result.ok) return render(c, { values, error: result.error.message }, 400);
    return c.redirect(`/admin/segments/${result.data.id}?done=created`, 303);
  });

  app.post("/admin/segments/:id{[0-9]+}", async (c) => {
    const id = c.req.param("id");
    const form = await c.req.parseBody();
    const values = { name: text(form, "name"), expression: text(form, "expression") };
    const result = await c.var.api.call<Segment>("PATCH", `/api/v1/segments/${id}`, { json: values });
    if (!result.ok) {
      const segment = await c.var.api.get<Segment>(`/api/v1/segments/${id}`);
      return render(c, { segment, values, error: result.error.message }, 400);
    }
    return c.redirect(`/admin/segments/${id}?done=saved`, 303);
  });

  app.post("/admin/segments/:id{[0-9]+}/delete", async (c) => {
    const result = await c.var.api.call("DELETE", `/api/v1/segments/${c.req.param("id")}`);
    if (!result.ok) return render(c, { failed: failedHere(c, result.error.message) }, 400);
    return c.redirect("/admin/segments?done=deleted", 303);
  });
}
