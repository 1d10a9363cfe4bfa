/**
 * Uploads: customers, cookie links, the product catalogue and coupon codes, each through its API
 * import (POST /api/v1/import/customers | links, /api/v1/products, /api/v1/pools/:pool/codes), with
 * the per-line report of what was refused. The form posts the file to this page, which forwards it
 * to the API; with script, /admin/assets/imports.js sends the file to the API itself and shows
 * the upload's progress — for a file of many megabytes that is the difference between waiting
 * and watching.
 */
import type { Context } from "hono";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import { contentTypeOf, type ImportKind } from "../client/file-type";
import { type Column, DataTable, Page, pageFrame } from "../components";
import { text } from "../forms";
import type { Pool } from "../types";
import { can } from "../ui";

type Kind = ImportKind;
type Rejection = { line: number; reason: string; problems?: string[] };
type Report = { accepted: number; rejected: Rejection[]; rejected_count?: number };

const KINDS: Record<Kind, { title: string; api: string; columns: string; example: string }> = {
  customers: {
    title: "Customers",
    api: "/api/v1/import/customers",
    columns:
      "customer_id (required), email (hashed on arrival) or email_sha256, gender, lifetime_revenue, orders, first_order_at, last_order_at, coupons_redeemed, clusters (;-separated), attr.NAME",
    example: "customer_id,email,gender,lifetime_revenue,clusters\nC-1,a@example.com,f,120.50,rings;gifts",
  },
  links: {
    title: "Cookie links",
    api: "/api/v1/import/links",
    columns: "cookie_id (the 32-hex tw_id), customer_id",
    example: "cookie_id,customer_id\n0123456789abcdef0123456789abcdef,C-1",
  },
  products: {
    title: "Product catalogue",
    api: "/api/v1/products",
    columns:
      "sku, name, price, currency, category, url, image_url, available — or a Google Merchant Center feed (id, title, price, link, image_link, product_type, availability)",
    example:
      "sku,name,price,currency,category,url,image_url\nR-101,Gold ring,189.00,EUR,rings,/product/R-101,https://shop.example/r101.jpg",
  },
  codes: {
    title: "Coupon codes",
    api: "/api/v1/pools/{pool}/codes",
    columns: "a code column, or one code per line",
    example: "code\nSPRING-001\nSPRING-002",
  },
};

/** Every problem of a refused line (a code upload's report has one reason per line and no list). */
const problemsOf = (r: Rejection) => r.problems ?? [r.reason];

const REJECTION_COLUMNS: Column<Rejection>[] = [
  { header: "Line", num: true, cell: (r) => r.line },
  {
    header: "Why it was refused",
    cell: (r) => (
      <ul class="line-problems">
        {problemsOf(r).map((problem) => (
          <li>{problem}</li>
        ))}
      </ul>
    ),
  },
];

const ReportView = ({ kind, report }: { kind: Kind; report: Report }) => {
  const refused = report.rejected_count ?? report.rejected.length;
  return (
    <div class="import-report" id={`report-${kind}`} role="status">
      <p>
        <strong>{report.accepted}</strong> accepted, <strong>{refused}</strong> refused
        {refused > report.rejected.length ? ` (the first ${report.rejected.length} listed)` : ""}.
      </p>
      <DataTable columns={REJECTION_COLUMNS} rows={report.rejected} />
    </div>
  );
};

async function render(
  c: Context<AdminEnv>,
  done?: { kind: Kind; report?: Report; error?: string; pool?: string },
  status: 200 | 400 = 200,
) {
  const pools = await c.var.api.call<{ pools: Pool[] }>("GET", "/api/v1/pools");
  const listPools = pools.ok ? pools.data.pools.filter((p) => p.kind === "list") : [];
  const writable = can(c.var.role, "marketer");
  return c.html(
    <Page frame={await pageFrame(c)} title="Imports" active="/admin/imports" needs="marketer" scripts={["imports.js"]}>
      <p class="muted">
        CSV with a header row, or NDJSON (.ndjson, one JSON object per line). Good rows are written; every refused row
        is listed with its line number (line 1 is the header).
      </p>
      {(Object.keys(KINDS) as Kind[]).map((kind) => {
        const k = KINDS[kind];
        const mine = done?.kind === kind ? done : undefined;
        return (
          <form
            method="post"
            action={`/admin/imports/${kind}`}
            enctype="multipart/form-data"
            class="card import-form"
            data-api={k.api}
            data-kind={kind}
          >
            <h2>{k.title}</h2>
            <p class="muted">Columns: {k.columns}.</p>
            <details>
              <summary>Example</summary>
              <pre>{k.example}</pre>
            </details>
            <div class="grid">
              {kind === "codes" && (
                <div class="field">
                  <label for="f-pool">Pool</label>
                  <select id="f-pool" name="pool" required disabled={!writable}>
                    {listPools.length === 0 && <option value="">— no list pool yet —</option>}
                    {listPools.map((p) => (
                      <option value={String(p.id)} selected={String(p.id) === mine?.pool}>
                        {p.name}
                      </option>
                    ))}
                  </select>
                  <span class="hint">Generated pools make their codes themselves.</span>
                </div>
              )}
              <div class="field">
                <label for={`f-file-${kind}`}>{k.title} file</label>
                <input
                  id={`f-file-${kind}`}
                  name="file"
                  type="file"
                  accept=".csv,.ndjson,.jsonl,.txt,text/csv"
                  required
                  disabled={!writable}
                  aria-describedby={mine?.error ? `error-${kind}` : undefined}
                />
                {mine?.error && (
                  <span class="field-error" id={`error-${kind}`} role="alert">
                    {mine.error}
                  </span>
                )}
              </div>
            </div>
            <div class="actions">
              <button type="submit" disabled={!writable}>
                Upload {k.title.toLowerCase()}
              </button>
              <progress class="upload-progress" max="100" value="0" hidden />
              <span class="upload-status muted" aria-live="polite" />
            </div>
            <div class="upload-result">{mine?.report && <ReportView kind={kind} report={mine.report} />}</div>
          </form>
        );
      })}
    </Page>,
    status,
  );
}

export function importPages(app: AdminApp) {
  app.get("/admin/imports", (c) => render(c));

  app.post("/admin/imports/:kind{customers|links|products|codes}", async (c) => {
    const kind = c.req.param("kind") as Kind;
    const form = await c.req.parseBody();
    const file = form.file;
    const pool = text(form, "pool");
    if (!(file instanceof File) || file.size === 0)
      return render(c, { kind, pool, error: "Choose a file to upload." }, 400);
    if (kind === "codes" && !/^\d+$/.test(pool)) return render(c, { kind, error: "Choose the pool first." }, 400);
    const path = KINDS[kind].api.replace("{pool}", pool);
    const result = await c.var.api.call<Report>("POST", path, {
      text: await file.text(),
      type: contentTypeOf(kind, file.name),
    });
    if (!result.ok) return render(c, { kind, pool, error: result.error.message }, 400);
    return render(c, { kind, pool, report: result.data });
  });
}
