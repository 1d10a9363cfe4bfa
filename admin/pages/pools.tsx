/** Coupon pools: create (list or generated), upload codes to list pools, codes left and redeemed. */
import type { Context } from "hono";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import { redirectWithFlash, takeFlash } from "../flash";
import { FLASH, type FormData, failedHere, numberOrNull, text } from "../forms";
import type { Pool } from "../types";
import {
  ActionButton,
  type ActionFailure,
  can,
  Empty,
  ErrorAlert,
  Field,
  FlashView,
  Layout,
  Notice,
  ReadOnlyNote,
  Select,
} from "../ui";

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

async function render(c: Context<AdminEnv>, view: View = {}) {
  const v = view.values;
  const { pools } = await c.var.api.get<{ pools: Pool[] }>("/api/v1/pools");
  const writable = can(c.var.role, "marketer");
  const flash = await takeFlash(c);
  return c.html(
    <Layout title="Coupon pools" user={c.var.user} active="/admin/pools">
      <h1>Coupon pools</h1>
      <Notice message={FLASH[c.req.query("done") ?? ""]} />
      <FlashView flash={flash} />
      <ReadOnlyNote role={c.var.role} needs="marketer" />
      {!v && <ErrorAlert message={view.error} />}
      {pools.length === 0 ? (
        <Empty>
          No coupon pools yet. Create a <strong>generated</strong> pool (codes are made per visitor on first claim) or a{" "}
          <strong>list</strong> pool and upload your shop system's codes.
        </Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Pool</th>
                <th>Kind</th>
                <th>Discount</th>
                <th class="num">Codes left</th>
                <th class="num">Assigned</th>
                <th class="num">Redeemed</th>
                <th class="num">Expired</th>
                <th class="num">Refused claims (7 days)</th>
                <th class="num">Archived</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {pools.map((p) => (
                <tr>
                  <td>
                    {p.name}
                    <div class="muted">
                      {p.prefix && `prefix ${p.prefix}, `}valid {p.valid_days} days
                    </div>
                  </td>
                  <td>{p.kind}</td>
                  <td>{p.discount || "—"}</td>
                  <td class="num">{p.counts.free ?? "unlimited"}</td>
                  <td class="num">{p.counts.assigned}</td>
                  <td class="num">{p.counts.redeemed}</td>
                  <td class="num">{p.counts.expired}</td>
                  <td class="num">
                    <RefusedClaims refused={p.refused_claims} />
                  </td>
                  <td class="num">{p.counts.archived}</td>
                  <td>
                    {writable && p.kind === "list" && (
                      <form method="post" action={`/admin/pools/${p.id}/codes`} class="field">
                        <label for={`codes-${p.id}`}>Upload codes to {p.name} (one per line)</label>
                        <textarea id={`codes-${p.id}`} name="codes" rows={3} required />
                        <button type="submit" class="secondary">
                          Upload
                        </button>
                      </form>
                    )}
                    {writable && (
                      <ActionButton
                        action={`/admin/pools/${p.id}/delete`}
                        label="Delete"
                        danger
                        accessibleLabel={`Delete pool ${p.name}`}
                        failed={view.failed}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {writable && (
        <form method="post" action="/admin/pools" class="card" id="pool-form">
          <h2>New pool</h2>
          {v && <ErrorAlert message={view.error} />}
          <div class="grid">
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
            <Field
              label="Prefix"
              name="prefix"
              value={v?.prefix}
              hint="Generated codes start with it, e.g. COMEBACK-"
            />
            <Field label="Valid for (days)" name="valid_days" type="number" min="1" value={v?.valid_days ?? 30} />
            <Field label="Discount" name="discount" value={v?.discount} hint="Shown as {{discount}}, e.g. 10 %" />
          </div>
          <div class="actions">
            <button type="submit">Create pool</button>
          </div>
        </form>
      )}
    </Layout>,
    view.status ?? 200,
  );
}

export function poolPages(app: AdminApp) {
  app.get("/admin/pools", (c) => render(c));

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
    return redirectWithFlash(c, "/admin/pools", {
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
