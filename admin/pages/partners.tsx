/** Partners (cookie sync) and webhooks (segment entries → signed POSTs): deliveries, failures, replay. */
import type { Context } from "hono";
import { publicBase } from "../../worker/lib/base-path";
import { formatTime } from "../../worker/lib/format";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import { type Column, DataTable, FormCard, Page, pageFrame } from "../components";
import { type Flash, redirectWithFlash } from "../flash";
import { failedHere, text } from "../forms";
import type { Partner, Segment, Webhook } from "../types";
import { ActionButton, type ActionFailure, can, Empty, ErrorAlert, Field, Select, Snippet } from "../ui";

/** The partner's cookie-sync pixel (README.md, "Cookie sync, audiences and webhooks": GET /sync). */
const syncPixel = (edge: string, siteKey: string, partner: string) =>
  `<img src="${edge}/sync?site=${encodeURIComponent(siteKey)}&p=${encodeURIComponent(partner)}&puid=PARTNER_USER_ID" width="1" height="1" alt="" style="display:none">`;

type Delivery = {
  id: number;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
};

/** A refused webhook keeps what was typed and shows the reason inside its own form. */
type View = {
  error?: string;
  failed?: ActionFailure;
  webhook?: { url: string; segment_id: string };
  partner?: { key: string; name: string; sync_url: string };
};

const partnerColumns = (writable: boolean, failed?: ActionFailure): Column<Partner>[] => [
  { header: "Key", cell: (p) => <code>{p.key}</code> },
  { header: "Name", cell: (p) => p.name },
  { header: "Sync URL", cell: (p) => p.sync_url ?? "—" },
  {
    header: "Actions",
    cell: (p) =>
      writable && (
        <ActionButton
          action={`/admin/partners/${p.id}/delete`}
          label="Delete"
          danger
          accessibleLabel={`Delete partner ${p.name}`}
          failed={failed}
        />
      ),
  },
];

const deliveryColumns = (webhookId: number, writable: boolean): Column<Delivery>[] => [
  { header: "Created", nowrap: true, cell: (x) => formatTime(x.created_at) },
  { header: "Status", cell: (x) => x.status },
  { header: "Attempts", num: true, cell: (x) => x.attempts },
  { header: "Last error", cell: (x) => x.last_error ?? "—" },
  {
    header: "Action",
    cell: (x) =>
      writable &&
      x.status === "failed" && (
        <ActionButton
          action={`/admin/webhooks/${webhookId}/deliveries/${x.id}/replay`}
          label="Replay"
          accessibleLabel={`Replay delivery ${x.id}`}
        />
      ),
  },
];

async function render(c: Context<AdminEnv>, view: View = {}) {
  const api = c.var.api;
  const [{ partners }, webhooks, segments] = await Promise.all([
    api.get<{ partners: Partner[] }>("/api/v1/partners"),
    api.call<{ webhooks: Webhook[] }>("GET", "/api/v1/webhooks"),
    api.call<{ segments: Segment[] }>("GET", "/api/v1/segments"),
  ]);
  const hooks = webhooks.ok ? webhooks.data.webhooks : [];
  const deliveries = await Promise.all(
    hooks.map((w) => api.call<{ deliveries: Delivery[] }>("GET", `/api/v1/webhooks/${w.id}/deliveries`)),
  );
  const segmentList = segments.ok ? segments.data.segments : [];
  const writable = can(c.var.role, "marketer");
  return c.html(
    <Page frame={await pageFrame(c)} title="Partners & webhooks" active="/admin/partners" needs="marketer">
      {!view.webhook && !view.partner && <ErrorAlert message={view.error} />}
      <h2>Partners</h2>
      <DataTable
        columns={partnerColumns(writable, view.failed)}
        rows={partners}
        empty="No partners yet. Add your display network below; its pixel then calls /sync to link its user IDs."
      />
      {partners.length > 0 && (
        <section class="card" aria-labelledby="sync-title">
          <h3 id="sync-title">Sync pixels</h3>
          <p class="muted">
            The partner puts its pixel on its own pages, with its user ID in place of PARTNER_USER_ID (usually one of
            its macros): tagwerk links that ID to the visitor's cookie, then redirects to the partner's sync URL.
          </p>
          {partners.map((p) => (
            <>
              <h4>{p.name}</h4>
              <Snippet id={`sync-${p.key}`}>{syncPixel(publicBase(c), c.var.site.key, p.key)}</Snippet>
            </>
          ))}
        </section>
      )}
      {writable && (
        <FormCard
          action="/admin/partners"
          id="partner-form"
          title="Add a partner"
          subsection
          error={view.partner && view.error}
          submit="Add partner"
        >
          <Field label="Key" name="key" value={view.partner?.key} required hint="lower-case, e.g. adnet" />
          <Field label="Name" name="name" value={view.partner?.name} required />
          <Field
            label="Sync URL"
            name="sync_url"
            type="url"
            value={view.partner?.sync_url}
            hint="Optional; {tw_id} is replaced"
          />
        </FormCard>
      )}
      <h2>Webhooks</h2>
      {!webhooks.ok && <ErrorAlert message={`Webhooks are not available: ${webhooks.error.message}`} />}
      {webhooks.ok && hooks.length === 0 && (
        <Empty>No webhooks yet. Add one to be told when a visitor enters a segment.</Empty>
      )}
      {hooks.map((w, i) => {
        const d = deliveries[i];
        const list = d.ok ? d.data.deliveries : [];
        const failed = list.filter((x) => x.status === "failed").length;
        return (
          <section class="card">
            <h3>
              {w.url}{" "}
              <span class="muted">
                → {segmentList.find((s) => s.id === w.segment_id)?.name ?? `segment ${w.segment_id}`}
              </span>{" "}
              <span class={`badge ${w.enabled ? "on" : "off"}`}>{w.enabled ? "enabled" : "disabled"}</span>
            </h3>
            {writable && (
              <div class="actions">
                <form method="post" action={`/admin/webhooks/${w.id}`} class="inline" id={`webhook-edit-${w.id}`}>
                  <label for={`f-url-${w.id}`}>URL</label>{" "}
                  <input id={`f-url-${w.id}`} name="url" type="url" value={w.url} required size={40} />{" "}
                  <button type="submit" class="secondary">
                    Save URL
                  </button>
                </form>
                <ActionButton
                  action={`/admin/webhooks/${w.id}/test`}
                  label="Send test delivery"
                  accessibleLabel={`Send a signed test delivery to ${w.url}`}
                  failed={view.failed}
                />
                <ActionButton
                  action={`/admin/webhooks/${w.id}/toggle`}
                  fields={{ enabled: w.enabled ? "0" : "1" }}
                  label={w.enabled ? "Disable" : "Enable"}
                  accessibleLabel={`${w.enabled ? "Disable" : "Enable"} the webhook to ${w.url}`}
                  failed={view.failed}
                />
                {can(c.var.role, "admin") && (
                  <ActionButton
                    action={`/admin/webhooks/${w.id}/secret`}
                    label="Show signing secret"
                    accessibleLabel={`Show the signing secret of the webhook to ${w.url}`}
                  />
                )}
              </div>
            )}
            <p>
              {list.length} recent deliveries, {failed} failed
            </p>
            <DataTable columns={deliveryColumns(w.id, writable)} rows={list.slice(0, 20)} />
            {writable && (
              <ActionButton
                action={`/admin/webhooks/${w.id}/delete`}
                label="Delete webhook"
                accessibleLabel={`Delete the webhook to ${w.url}`}
                danger
                failed={view.failed}
              />
            )}
          </section>
        );
      })}
      {writable && webhooks.ok && (
        <FormCard
          action="/admin/webhooks"
          id="webhook-form"
          title="Add a webhook"
          subsection
          error={view.webhook && view.error}
          submit="Add webhook"
          submitDisabled={segmentList.length === 0}
        >
          <Field
            label="URL"
            name="url"
            type="url"
            value={view.webhook?.url}
            required
            hint="https; receives a signed POST per segment entry"
          />
          <Select
            label="Segment"
            name="segment_id"
            value={view.webhook?.segment_id}
            options={segmentList.map((s) => ({ value: s.id, label: s.name }))}
            required
          />
        </FormCard>
      )}
    </Page>,
    view.error ? 400 : 200,
  );
}

type TestResult = { message_id: string; delivered: boolean; receiver_status: number | null; error: string | null };

function testFlash(r: TestResult): Flash {
  const answered = r.receiver_status === null ? "did not answer" : `answered HTTP ${r.receiver_status}`;
  if (r.delivered) return { notice: `Test delivery ${r.message_id} sent: the receiver ${answered}.` };
  return {
    problems: [
      `Test delivery ${r.message_id} failed: the receiver ${answered} (${r.error}).`,
      "A 401 or 400 usually means the receiver checks the signature with another secret.",
    ],
  };
}

export function partnerPages(app: AdminApp) {
  app.get("/admin/partners", (c) => render(c));

  app.post("/admin/partners", async (c) => {
    const form = await c.req.parseBody();
    const partner = { key: text(form, "key"), name: text(form, "name"), sync_url: text(form, "sync_url") };
    const json = { ...partner, sync_url: partner.sync_url || null };
    const result = await c.var.api.call("POST", "/api/v1/partners", { json });
    if (!result.ok) return render(c, { partner, error: result.error.message });
    return c.redirect("/admin/partners?done=created", 303);
  });

  app.post("/admin/partners/:id{[0-9]+}/delete", async (c) => {
    const result = await c.var.api.call("DELETE", `/api/v1/partners/${c.req.param("id")}`);
    if (!result.ok) return render(c, { failed: failedHere(c, result.error.message) });
    return c.redirect("/admin/partners?done=deleted", 303);
  });

  app.post("/admin/webhooks", async (c) => {
    const form = await c.req.parseBody();
    const webhook = { url: text(form, "url").trim(), segment_id: text(form, "segment_id") };
    if (!/^[0-9]+$/.test(webhook.segment_id)) {
      return render(c, { webhook, error: "Choose the segment whose entries the webhook receives." });
    }
    const json = { url: webhook.url, segment_id: Number(webhook.segment_id) };
    const result = await c.var.api.call<{ secret: string }>("POST", "/api/v1/webhooks", { json });
    if (!result.ok) return render(c, { webhook, error: result.error.message });
    return redirectWithFlash(c, "/admin/partners", {
      notice: "Webhook added.",
      secret: { label: "Signing secret — copy it now, it is shown only once:", value: result.data.secret },
    });
  });

  app.post("/admin/webhooks/:id{[0-9]+}", async (c) => {
    const url = text(await c.req.parseBody(), "url").trim();
    const result = await c.var.api.call("PATCH", `/api/v1/webhooks/${c.req.param("id")}`, { json: { url } });
    if (!result.ok) return render(c, { failed: failedHere(c, result.error.message) });
    return c.redirect("/admin/partners?done=saved", 303);
  });

  app.post("/admin/webhooks/:id{[0-9]+}/toggle", async (c) => {
    const enabled = text(await c.req.parseBody(), "enabled") === "1";
    const result = await c.var.api.call("PATCH", `/api/v1/webhooks/${c.req.param("id")}`, { json: { enabled } });
    if (!result.ok) return render(c, { failed: failedHere(c, result.error.message) });
    return c.redirect("/admin/partners?done=saved", 303);
  });

  // The secret is derived, never stored (worker/webhooks/store.ts): shown again once, to admins.
  app.post("/admin/webhooks/:id{[0-9]+}/secret", async (c) => {
    const result = await c.var.api.call<{ secret: string }>("GET", `/api/v1/webhooks/${c.req.param("id")}/secret`);
    if (!result.ok) return render(c, { error: result.error.message });
    return redirectWithFlash(c, "/admin/partners", {
      secret: {
        label: "Signing secret — it verifies the Standard Webhooks signature (webhook-signature):",
        value: result.data.secret,
      },
    });
  });

  // Synchronous: the owner sees at once what the receiver answered to a delivery signed like the real ones.
  app.post("/admin/webhooks/:id{[0-9]+}/test", async (c) => {
    const result = await c.var.api.call<TestResult>("POST", `/api/v1/webhooks/${c.req.param("id")}/test`);
    if (!result.ok) return render(c, { failed: failedHere(c, result.error.message) });
    return redirectWithFlash(c, "/admin/partners", testFlash(result.data));
  });

  app.post("/admin/webhooks/:id{[0-9]+}/delete", async (c) => {
    const result = await c.var.api.call("DELETE", `/api/v1/webhooks/${c.req.param("id")}`);
    if (!result.ok) return render(c, { failed: failedHere(c, result.error.message) });
    return c.redirect("/admin/partners?done=deleted", 303);
  });

  app.post("/admin/webhooks/:id{[0-9]+}/deliveries/:delivery{[0-9]+}/replay", async (c) => {
    const { id, delivery } = c.req.param();
    const result = await c.var.api.call("POST", `/api/v1/webhooks/${id}/deliveries/${delivery}/replay`);
    if (!result.ok) return render(c, { error: result.error.message });
    return c.redirect("/admin/partners?done=replayed", 303);
  });
}
