/** Coupon pools: the list (create, upload, delete) and a page per pool (sample code, counts, handed-out codes, export). */
import type { Context } from "hono";
import type { codeToJson } from "../../worker/coupons/lookup";
import { formatTime } from "../../worker/lib/format";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import { type Column, DataTable, Facts, FormCard, Page, Pager, pageFrame } from "../components";
import { redirectWithFlash } from "../flash";
import { type FormData, failedHere, numberOrNull, text } from "../forms";
import type { Pool } from "../types";
import { ActionButton, type ActionFailure, can, ErrorAlert, Field, Select } from "../ui";

type PoolValues = { name: string; kind: string; prefix: string; valid_days: number | null; discount: string };

function poolFromForm(form: FormData): PoolValues {
  return {
    name: text(form, "name"),
    kind: text(form, "kind"),
    prefix: text(form, "prefix").trim().toUpperCase(),
    valid_days: numberOrNull(form, "valid_days") ?? 30,
    discount: text(form, "discount"),
  };
}

const REFUSAL_LABELS = { ip_limit: "one address too fast", pool_limit: "pool too fast", policy: "claim policy" };

/** The last 7 UTC days of claims the gate refused (README, "Coupon claims"), with their reasons. */
function RefusedClaims({ refused }: { refused: Pool["refused_claims"] }) {
  const since = new Date(Date.now() - 6 * 86_400_000).toISOString().slice(0, 10);
  const byReason = new Map<string, number>();
  for (const r of refused.filter((r) => r.day >= since))
    byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + r.count);
  const total = [...byReason.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return <>0</>;
  return (
    <>
      {total}
      <div class="muted">
        {[...byReason].map(([reason, n]) => `${n} ${REFUSAL_LABELS[reason as keyof typeof REFUSAL_LABELS]}`).join(", ")}
      </div>
    </>
  );
}

type View = { error?: string; status?: 200 | 400; values?: PoolValues; failed?: ActionFailure };

const poolColumns = (writable: boolean, failed?: ActionFailure): Column<Pool>[] => [
  {
    header: "Pool",
    cell: (p) => (
      <>
        <a href={`/admin/pools/${p.id}`}>{p.name}</a>
        <div class="muted">
          {p.prefix && `prefix ${p.prefix}, `}valid {p.valid_days} days
        </div>
      </>
    ),
  },
  { header: "Kind", cell: (p) => p.kind },
  { header: "Discount", cell: (p) => p.discount || "—" },
  { header: "Codes left", num: true, cell: (p) => p.counts.free ?? "unlimited" },
  { header: "Assigned", num: true, cell: (p) => p.counts.assigned },
  { header: "Redeemed", num: true, cell: (p) => p.counts.redeemed },
  { header: "Expired", num: true, cell: (p) => p.counts.expired },
  { header: "Refused claims (7 days)", num: true, cell: (p) => <RefusedClaims refused={p.refused_claims} /> },
  { header: "Archived", num: true, cell: (p) => p.counts.archived },
  {
    header: "Actions",
    cell: (p) => (
      <>
        {writable && p.kind === "list" && <UploadForm pool={p} />}
        {writable && (
          <ActionButton
            action={`/admin/pools/${p.id}/delete`}
            label="Delete"
            danger
            accessibleLabel={`Delete pool ${p.name}`}
            failed={failed}
          />
        )}
      </>
    ),
  },
];

/** `onPoolPage`: the upload's report follows on the pool's own page, not on the list. */
const UploadForm = ({ pool, onPoolPage }: { pool: Pool; onPoolPage?: boolean }) => (
  <form method="post" action={`/admin/pools/${pool.id}/codes`} class="field">
    {onPoolPage && <input type="hidden" name="back" value="pool" />}
    <label for={`codes-${pool.id}`}>Upload codes to {pool.name} (one per line)</label>
    <textarea id={`codes-${pool.id}`} name="codes" rows={3} required />
    <button type="submit" class="secondary">
      Upload
    </button>
  </form>
);

async function render(c: Context<AdminEnv>, view: View = {}) {
  const v = view.values;
  const { pools } = await c.var.api.get<{ pools: Pool[] }>("/api/v1/pools");
  const writable = can(c.var.role, "marketer");
  return c.html(
    <Page frame={await pageFrame(c)} title="Coupon pools" active="/admin/pools" needs="marketer">
      {!v && <ErrorAlert message={view.error} />}
      <DataTable
        columns={poolColumns(writable, view.failed)}
        rows={pools}
        empty={
          <>
            No coupon pools yet. Create a <strong>generated</strong> pool (codes are made per visitor on first claim) or
            a <strong>list</strong> pool and upload your shop system's codes.
          </>
        }
      />
      {writable && (
        <FormCard action="/admin/pools" id="pool-form" title="New pool" error={v && view.error} submit="Create pool">
          <Field label="Name" name="name" value={v?.name} required />
          <Select
            label="Kind"
            name="kind"
            value={v?.kind || "generated"}
            options={[
              { value: "generated", label: "generated — codes made on first claim" },
              { value: "list", label: "list — upload your own codes" },
            ]}
          />
          <Field label="Prefix" name="prefix" value={v?.prefix} hint="Generated codes start with it, e.g. COMEBACK-" />
          <Field label="Valid for (days)" name="valid_days" type="number" min="1" value={v?.valid_days ?? 30} />
          <Field label="Discount" name="discount" value={v?.discount} hint="Shown as {{discount}}, e.g. 10 %" />
        </FormCard>
      )}
    </Page>,
    view.status ?? 200,
  );
}

/** A handed-out code as the API answers it (worker/coupons/lookup.ts). */
type PoolCode = ReturnType<typeof codeToJson>;

const CODE_COLUMNS: Column<PoolCode>[] = [
  {
    header: "Code",
    nowrap: true,
    cell: (x) => <a href={`/admin/coupons?code=${encodeURIComponent(x.code)}`}>{x.code}</a>,
  },
  { header: "State", cell: (x) => x.state },
  {
    header: "Held by",
    cell: (x) => (x.holder_kind === "customer" ? `customer ${x.customer}` : (x.holder_kind ?? "—")),
  },
  {
    header: "Rule",
    nowrap: true,
    cell: (x) => (x.rule_id ? <a href={`/admin/rules/${x.rule_id}`}>rule {x.rule_id}</a> : "—"),
  },
  { header: "Assigned (UTC)", nowrap: true, cell: (x) => formatTime(x.assigned_at) },
  { header: "Expires (UTC)", nowrap: true, cell: (x) => formatTime(x.expires_at) },
  { header: "Redeemed (UTC)", nowrap: true, cell: (x) => formatTime(x.redeemed_at) },
  { header: "Order", cell: (x) => x.order ?? "—" },
];

/** One pool: what it hands out (a sample code), its counts, its handed-out codes page by page, the export. */
async function renderPool(c: Context<AdminEnv>, id: string) {
  const before = /^[0-9]+$/.test(c.req.query("before") ?? "") ? `&before=${c.req.query("before")}` : "";
  const [pool, page] = await Promise.all([
    c.var.api.get<Pool>(`/api/v1/pools/${id}`),
    c.var.api.get<{ sample: string | null; codes: PoolCode[]; next: number | null }>(
      `/api/v1/pools/${id}/codes?limit=50${before}`,
    ),
  ]);
  const writable = can(c.var.role, "marketer");
  return c.html(
    <Page frame={await pageFrame(c)} title={`Coupon pool: ${pool.name}`} active="/admin/pools">
      <p>
        <a href="/admin/pools">All pools</a>
      </p>
      <section class="card">
        <Facts
          facts={[
            [
              "Kind",
              pool.kind === "generated" ? "generated — a code is made on each first claim" : "list — uploaded codes",
            ],
            ["Discount", pool.discount || "—"],
            ["Valid for", `${pool.valid_days} days after assignment`],
            [
              pool.kind === "generated" ? "Sample code" : "Next free code",
              page.sample ? <code id="sample-code">{page.sample}</code> : "none left — upload codes",
            ],
            ["Codes left", pool.counts.free ?? "unlimited"],
            ["Assigned", pool.counts.assigned],
            ["Redeemed", pool.counts.redeemed],
            ["Expired", pool.counts.expired],
            ["Archived", pool.counts.archived],
            ["Refused claims (7 days)", <RefusedClaims refused={pool.refused_claims} />],
          ]}
        />
        {pool.kind === "generated" && (
          <p class="muted small">The sample is made as a claim makes codes; it is not stored and cannot be redeemed.</p>
        )}
        <div class="actions">
          <a class="button secondary" href={`/api/v1/pools/${pool.id}/export`} download={`pool-${pool.id}-codes.csv`}>
            Export all codes (CSV)
          </a>
        </div>
      </section>
      {writable && pool.kind === "list" && (
        <section class="card">
          <UploadForm pool={pool} onPoolPage />
        </section>
      )}
      <h2>Handed-out codes</h2>
      <DataTable
        id="pool-codes"
        columns={CODE_COLUMNS}
        rows={page.codes}
        empty="No code of this pool was handed out yet."
      />
      <Pager base={`/admin/pools/${pool.id}`} next={page.next} paged={before !== ""} />
    </Page>,
  );
}

export function poolPages(app: AdminApp) {
  app.get("/admin/pools", (c) => render(c));
  app.get("/admin/pools/:id{[0-9]+}", (c) => renderPool(c, c.req.param("id")));

  app.post("/admin/pools", async (c) => {
    const values = poolFromForm(await c.req.parseBody());
    const result = await c.var.api.call("POST", "/api/v1/pools", { json: values });
    if (!result.ok) return render(c, { error: result.error.message, values, status: 400 });
    return c.redirect("/admin/pools?done=created", 303);
  });

  app.post("/admin/pools/:id{[0-9]+}/codes", async (c) => {
    const form = await c.req.parseBody();
    const result = await c.var.api.call<{ accepted: number; rejected: { line: number; reason: string }[] }>(
      "POST",
      `/api/v1/pools/${c.req.param("id")}/codes`,
      { text: text(form, "codes"), type: "text/plain" },
    );
    if (!result.ok) return render(c, { error: result.error.message, status: 400 });
    const { accepted, rejected } = result.data;
    const back = text(form, "back") === "pool" ? `/admin/pools/${c.req.param("id")}` : "/admin/pools";
    return redirectWithFlash(c, back, {
      notice: `${accepted} codes uploaded${rejected.length ? `, ${rejected.length} lines refused:` : "."}`,
      problems: rejected.map((r) => `line ${r.line}: ${r.reason}`),
    });
  });

  app.post("/admin/pools/:id{[0-9]+}/delete", async (c) => {
    const result = await c.var.api.call("DELETE", `/api/v1/pools/${c.req.param("id")}`);
    if (!result.ok) return render(c, { failed: failedHere(c, result.error.message), status: 400 });
    return c.redirect("/admin/pools?done=deleted", 303);
  });
}
