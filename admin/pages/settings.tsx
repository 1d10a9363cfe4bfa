/** Site settings and API keys (admins). A new key is shown once, on the page that made it. */
import type { Context } from "hono";
import { currencyLabel, formatTime } from "../../worker/lib/format";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import { type Column, DataTable, Page, pageFrame } from "../components";
import { redirectWithFlash } from "../flash";
import { checked, type FormData, numberOrNull, shareFromPercent, text } from "../forms";
import type { ApiKey, SiteJson } from "../types";
import { ActionButton, Check, can, ErrorAlert, Field, Layout, PercentField, Select } from "../ui";

type View = { error?: string; values?: Partial<SiteJson>; status?: 200 | 400 };

const KEY_COLUMNS: Column<ApiKey>[] = [
  { header: "Prefix", cell: (k) => <code>{k.prefix}…</code> },
  { header: "Scope", cell: (k) => (k.scope === "ingest" ? "ingest only" : "admin") },
  { header: "Created", nowrap: true, cell: (k) => formatTime(k.created_at) },
  { header: "Status", cell: (k) => (k.revoked_at ? `revoked ${formatTime(k.revoked_at)}` : "active") },
  {
    header: "Action",
    cell: (k) =>
      !k.revoked_at && (
        <ActionButton
          action={`/admin/settings/keys/${k.id}/revoke`}
          label="Revoke"
          danger
          accessibleLabel={`Revoke key ${k.prefix}`}
        />
      ),
  },
];

async function render(c: Context<AdminEnv>, view: View = {}) {
  const api = c.var.api;
  const site = await api.get<SiteJson>("/api/v1/site");
  const isAdmin = can(c.var.role, "admin");
  const keys = isAdmin ? (await api.get<{ keys: ApiKey[] }>("/api/v1/site/keys")).keys : [];
  const v = { ...site, ...view.values };
  return c.html(
    <Page frame={await pageFrame(c)} title="Site & API keys" active="/admin/settings" needs="admin">
      <ErrorAlert message={view.error} />
      <form method="post" action="/admin/settings" class="card">
        <h2>Site “{site.key}”</h2>
        <div class="grid">
          <Field label="Name" name="name" value={v.name} required disabled={!isAdmin} />
          <Field
            label="Allowed origins"
            name="allowed_origins"
            value={v.allowed_origins?.join(" ")}
            hint="Shop origins that may send events, separated by spaces, e.g. https://shop.example"
            disabled={!isAdmin}
          />
          <Field
            label="Cookie domain"
            name="cookie_domain"
            value={v.cookie_domain}
            hint="Empty: the edge host"
            disabled={!isAdmin}
          />
          <Select
            label="Consent"
            name="consent_mode"
            value={v.consent_mode}
            options={[
              { value: "implied", label: "implied (track unless the visitor refuses)" },
              { value: "required", label: "required (track only after consent)" },
            ]}
            disabled={!isAdmin}
          />
          <PercentField
            label="Default holdout (%)"
            name="holdout"
            share={v.holdout}
            hint="Share of visitors kept as a control group, e.g. 10 — rules without their own holdout use this"
            disabled={!isAdmin}
          />
          <Field
            label="Retention (days)"
            name="retention_days"
            type="number"
            min="1"
            value={v.retention_days}
            disabled={!isAdmin}
          />
          <Field label="Coupon URL parameter" name="coupon_param" value={v.coupon_param} disabled={!isAdmin} />
          <Select
            label="Currency"
            name="currency"
            value={v.currency}
            options={Intl.supportedValuesOf("currency").map((code) => ({ value: code, label: currencyLabel(code) }))}
            hint="The currency of your order values: reports and the dashboard show revenue in it"
            disabled={!isAdmin}
          />
          <Select
            label="Who may claim a coupon code"
            name="claim_policy"
            value={v.claim_policy}
            options={[
              { value: "any", label: "any visitor" },
              { value: "visited", label: "visitors with enough visits (and linked customers)" },
              { value: "customers", label: "only visitors linked to a CRM customer" },
            ]}
            disabled={!isAdmin}
          />
          <Field
            label="Visits before a claim"
            name="claim_min_visits"
            type="number"
            min="1"
            value={v.claim_min_visits}
            hint="For “visitors with enough visits”; refused claims show the banner without a code"
            disabled={!isAdmin}
          />
          {/* The marker tells an unticked box from a form that does not carry it (merge semantics). */}
          <input type="hidden" name="has_crm_ads_consent_default" value="1" />
          <Check
            label="Send CRM customers imported without an ads_consent column to ad networks (e-mail ID spaces)"
            name="crm_ads_consent_default"
            checked={v.crm_ads_consent_default}
            disabled={!isAdmin}
          />
        </div>
        <div class="actions">
          <button type="submit" disabled={!isAdmin}>
            Save settings
          </button>
        </div>
      </form>
      {isAdmin && (
        <section class="card">
          <h2>API keys</h2>
          <DataTable columns={KEY_COLUMNS} rows={keys} />
          <form method="post" action="/admin/settings/keys" class="actions">
            <Select
              label="Scope"
              name="scope"
              value="admin"
              options={[
                { value: "admin", label: "Admin: the whole API" },
                { value: "ingest", label: "Ingest only: sends events (Segment, RudderStack, Jitsu)" },
              ]}
            />
            <Check label="Also revoke the other keys of this scope (asks first)" name="revoke_others" />
            <button type="submit">Issue a new key</button>
          </form>
        </section>
      )}
    </Page>,
    view.status ?? 200,
  );
}

function settingsFromForm(form: FormData) {
  const origins = text(form, "allowed_origins")
    .split(/[\s,]+/)
    .filter(Boolean);
  return {
    name: text(form, "name"),
    allowed_origins: origins,
    cookie_domain: text(form, "cookie_domain").trim() || null,
    consent_mode: text(form, "consent_mode") as SiteJson["consent_mode"],
    holdout: shareFromPercent(form, "holdout") ?? 0,
    retention_days: numberOrNull(form, "retention_days") ?? 0,
    coupon_param: text(form, "coupon_param"),
    ...(text(form, "currency") ? { currency: text(form, "currency") } : {}),
    // Merge semantics: a form without the claim fields (an older page, a script) keeps them as they are.
    ...(text(form, "claim_policy") ? { claim_policy: text(form, "claim_policy") as SiteJson["claim_policy"] } : {}),
    ...(numberOrNull(form, "claim_min_visits") === null
      ? {}
      : { claim_min_visits: numberOrNull(form, "claim_min_visits") as number }),
    ...(text(form, "has_crm_ads_consent_default")
      ? { crm_ads_consent_default: checked(form, "crm_ads_consent_default") }
      : {}),
  };
}

export function settingsPages(app: AdminApp) {
  app.get("/admin/settings", (c) => render(c));

  app.post("/admin/settings", async (c) => {
    const values = settingsFromForm(await c.req.parseBody());
    const result = await c.var.api.call("PATCH", "/api/v1/site", { json: values });
    if (!result.ok) return render(c, { error: result.error.message, values, status: 400 });
    return c.redirect("/admin/settings?done=saved", 303);
  });

  // Issuing a key never revokes others unless asked; when asked, a confirmation first names the keys
  // that stop working and what uses them (issue 30: one click once broke the demo shop's purchases).
  app.post("/admin/settings/keys", async (c) => {
    const form = await c.req.parseBody();
    const revokeOthers = checked(form, "revoke_others");
    const scope = form.scope === "ingest" ? "ingest" : "admin";
    if (revokeOthers && !checked(form, "confirmed")) return confirmRevokeOthers(c, scope);
    const result = await c.var.api.call<{ api_key: string; revoked: number }>("POST", "/api/v1/site/keys", {
      json: { scope, revoke_others: revokeOthers },
    });
    if (!result.ok) return render(c, { error: result.error.message, status: 400 });
    const { api_key, revoked } = result.data;
    return redirectWithFlash(c, "/admin/settings", {
      notice: revoked
        ? `New key issued; ${revoked} older key(s) were revoked and now answer 401.`
        : "New key issued; every other key keeps working.",
      secret: { label: "New API key — copy it now, it is shown only this once:", value: api_key },
    });
  });

  app.post("/admin/settings/keys/:id/revoke", async (c) => {
    const result = await c.var.api.call("DELETE", `/api/v1/site/keys/${Number(c.req.param("id"))}`);
    if (!result.ok) return render(c, { error: result.error.message, status: 400 });
    return c.redirect("/admin/settings?done=deleted", 303);
  });
}

/** The page that asks before "issue and revoke all others": which keys stop working, and what breaks. */
/** Only keys of the new key's scope are revoked (worker/sites/routes.ts): those are the ones listed. */
async function confirmRevokeOthers(c: Context<AdminEnv>, scope: ApiKey["scope"]) {
  const { keys } = await c.var.api.get<{ keys: ApiKey[] }>("/api/v1/site/keys");
  const active = keys.filter((k) => !k.revoked_at && k.scope === scope);
  return c.html(
    <Layout title="Revoke all other keys?" user={c.var.user} active="/admin/settings">
      <h1>Revoke all other keys?</h1>
      <form method="post" action="/admin/settings/keys" class="card" id="confirm-form">
        <p>
          A new key is issued and{" "}
          <strong>{active.length === 1 ? "this key stops" : `these ${active.length} keys stop`}</strong> working at
          once:
        </p>
        <ul id="keys-to-revoke">
          {active.map((k) => (
            <li>
              <code>{k.prefix}…</code> (created {formatTime(k.created_at)})
            </li>
          ))}
        </ul>
        <p>
          Everything that uses them gets 401 until it is given the new key: the shop's server-side purchase and refund
          calls, catalogue and CRM imports, scripts, and CDP integrations. This cannot be undone.
        </p>
        <input type="hidden" name="scope" value={scope} />
        <input type="hidden" name="revoke_others" value="1" />
        <input type="hidden" name="confirmed" value="1" />
        <div class="actions">
          <button type="submit" class="danger">
            Yes, issue a key and revoke {active.length === 1 ? "the other key" : `${active.length} keys`}
          </button>
          <a class="button secondary" href="/admin/settings">
            Cancel
          </a>
        </div>
      </form>
    </Layout>,
  );
}
