/**
 * Segments: the list and an editor whose client script (admin/client/segment-editor.ts) shows
 * syntax errors with their token marked, completes field names, and shows the live count and
 * sample profiles (each linked to explain) from POST /api/v1/segments/preview while typing.
 * Without the script, saving shows the same marked error, and the edit page the count and sample.
 */
import type { Context } from "hono";
import { formatCount } from "../../worker/lib/format";
import type { SegmentSizeDay } from "../../worker/segments/sizes";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import { Chart } from "../chart";
import { errorPosition, explainHref, markedParts, type SampleProfile, SEGMENT_FIELDS } from "../client/segment-editing";
import { type Column, DataTable, Page, pageFrame } from "../components";
import { failedHere, text } from "../forms";
import type { Segment } from "../types";
import { ActionButton, type ActionFailure, can, ErrorAlert, Field } from "../ui";

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

type Preview = { visitors: number; customers: number; sample: SampleProfile[] };

const segmentColumns = (
  sizes: (Preview | null)[],
  history: Record<string, SegmentSizeDay[]>,
  writable: boolean,
  failed?: ActionFailure,
): Column<[Segment, number]>[] => [
  { header: "Name", cell: ([s]) => <a href={`/admin/segments/${s.id}`}>{s.name}</a> },
  { header: "Expression", cell: ([s]) => <code>{s.expression}</code> },
  { header: "Visitors", num: true, cell: ([, i]) => sizes[i]?.visitors ?? "—" },
  { header: "Customers", num: true, cell: ([, i]) => sizes[i]?.customers ?? "—" },
  { header: "Visitors, last 30 days", cell: ([s]) => <Trend id={s.id} days={history[s.id] ?? []} /> },
  {
    header: "Actions",
    cell: ([s]) =>
      writable && (
        <ActionButton
          action={`/admin/segments/${s.id}/delete`}
          label="Delete"
          danger
          accessibleLabel={`Delete segment ${s.name}`}
          failed={failed}
        />
      ),
  },
];

/** The parser's error with its token marked in the expression (segment-editor.js redraws it while typing). */
const MarkedExpression = ({ expression, error }: { expression: string; error?: string }) => {
  const position = error ? errorPosition(error) : null;
  if (position === null) return <pre class="marked-expression" id="expression-marked" hidden />;
  const parts = markedParts(expression, position);
  return (
    <pre class="marked-expression" id="expression-marked">
      {parts.before}
      <mark>{parts.token || " "}</mark>
      {parts.after}
    </pre>
  );
};

/** Up to ten profiles the expression selects now, each linked to explain on the site's first placement. */
const SampleTable = ({ sample, placement }: { sample: SampleProfile[]; placement?: string }) => (
  <div class="table-wrap" id="segment-sample" data-placement={placement} hidden={sample.length === 0}>
    <table>
      <caption class="muted">Sample profiles (up to ten)</caption>
      <thead>
        <tr>
          <th scope="col">Cookie</th>
          <th scope="col">Customer</th>
          <th scope="col" class="num">
            Visits
          </th>
          <th scope="col" class="num">
            Cart items
          </th>
          <th scope="col" class="num">
            Orders
          </th>
          <th scope="col">Why</th>
        </tr>
      </thead>
      <tbody>
        {sample.map((p) => (
          <tr>
            <td>{p.cookie_id ? `${p.cookie_id.slice(0, 8)}…` : "—"}</td>
            <td>{p.customer_id ?? "—"}</td>
            <td class="num">{p.visits ?? "—"}</td>
            <td class="num">{p.cart_items ?? "—"}</td>
            <td class="num">{p.orders ?? "—"}</td>
            <td>
              <a href={explainHref(p, placement)}>Explain</a>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);

async function render(c: Context<AdminEnv>, view: EditorView = {}, status: 200 | 400 = 200) {
  const api = c.var.api;
  const list = await api.call<{ segments: Segment[] }>("GET", "/api/v1/segments");
  const segments = list.ok ? list.data.segments : [];
  const previewOf = async (expression: string) => {
    const r = await api.call<Preview>("POST", "/api/v1/segments/preview", { json: { expression } });
    return r.ok ? r.data : null;
  };
  // Each segment's current size, from the same preview the editor uses (one SQL count each).
  const [sizes, trends, placements] = await Promise.all([
    Promise.all(segments.map((s) => previewOf(s.expression))),
    api.call<{ sizes: Record<string, SegmentSizeDay[]> }>("GET", "/api/v1/segments/sizes"),
    api.call<{ placements: { placement: string }[] }>("GET", "/api/v1/placements"),
  ]);
  const history = trends.ok ? trends.data.sizes : {};
  const firstPlacement = placements.ok ? placements.data.placements[0]?.placement : undefined;
  const writable = can(c.var.role, "marketer");
  const values = view.values ?? { name: view.segment?.name ?? "", expression: view.segment?.expression ?? "" };
  const preview = values.expression && !view.error ? await previewOf(values.expression) : null;
  const count = preview ? `${preview.visitors} visitors and ${preview.customers} customers match` : "";
  const action = view.segment ? `/admin/segments/${view.segment.id}` : "/admin/segments";
  return c.html(
    <Page
      frame={await pageFrame(c)}
      title="Segments"
      active="/admin/segments"
      needs="marketer"
      scripts={["segment-editor.js"]}
      charts
    >
      {!list.ok && <ErrorAlert message={`Segments are not available: ${list.error.message}`} />}
      <DataTable
        columns={segmentColumns(sizes, history, writable, view.failed)}
        rows={segments.map((s, i): [Segment, number] => [s, i])}
        empty={
          <>
            No segments yet. Write one below — for example <code>{EXAMPLE}</code> — and watch the count as you type.
          </>
        }
      />
      {segments.length > 0 && (
        <p class="muted" id="visitors-vs-customers">
          <strong>Visitors</strong> are browsers (cookies) in the segment now: who can be shown a banner or put on an
          audience list. <strong>Customers</strong> are CRM records in it, linked to a browser or not yet: who the
          segment means, whether or not they have visited. One customer on two devices is one customer and two visitors.
          The trend is the count the scheduled refresh takes every 15 minutes, one figure per day.
        </p>
      )}
      <form method="post" action={action} class="card" id="segment-form">
        <h2>{view.segment ? `Edit “${view.segment.name}”` : "New segment"}</h2>
        <Field label="Name" name="name" value={values.name} required disabled={!writable} />
        <div class="field">
          <label for="expression">Expression</label>
          <div class="autocomplete">
            <textarea
              id="expression"
              name="expression"
              required
              disabled={!writable}
              spellcheck={false}
              autocomplete="off"
              aria-autocomplete="list"
              aria-controls="field-suggestions"
              aria-describedby="expression-hint expression-error segment-count"
              aria-invalid={view.error ? "true" : "false"}
            >
              {values.expression}
            </textarea>
            <div id="field-suggestions" role="listbox" aria-label="Fields" class="suggestions" hidden />
          </div>
          <span class="hint" id="expression-hint">
            Days are whole days (0 = today); windows up to 90 days; operators and, or, not, =, !=, &lt;, &gt;=, in,
            contains. Type a field's first letters for suggestions, or click a field to insert it:
          </span>
          <div class="field-chips" id="field-chips">
            {SEGMENT_FIELDS.map((f) => (
              <button type="button" class="secondary chip" data-insert={f}>
                {f}
              </button>
            ))}
          </div>
          <div class="field-error" id="expression-error" aria-live="assertive">
            {view.error ?? ""}
          </div>
          <MarkedExpression expression={values.expression} error={view.error} />
          <output id="segment-count" aria-live="polite" class="muted">
            {count}
          </output>
          <SampleTable sample={preview?.sample ?? []} placement={firstPlacement} />
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
    </Page>,
    status,
  );
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
