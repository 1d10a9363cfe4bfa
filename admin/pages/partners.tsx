/** Partners (cookie sync) and webhooks (segment entries → signed POSTs): deliveries, failures, replay. */
import type { Context } from "hono";
import { publicBase } from "../../worker/lib/base-path";
import { formatTime } from "../../worker/lib/format";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import { redirectWithFlash, takeFlash } from "../flash";
import { FLASH, failedHere, text } from "../forms";
import type { Partner, Segment, Webhook } from "../types";
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
  Snippet,
} from "../ui";

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
  const flash = await takeFlash(c);
  return c.html(
    <Layout title="Partners & webhooks" user={c.var.user} active="/admin/partners">
      <h1>Partners &amp; webhooks</h1>
      <Notice message={FLASH[c.req.query("done") ?? ""]} />
      <FlashView flash={flash} />
      <ReadOnlyNote role={c.var.role} needs="marketer" />
      {!view.webhook && !view.partner && <ErrorAlert message={view.error} />}
      <h2>Partners</h2>
      {partners.length === 0 ? (
        <Empty>No partners yet. Add your display network below; its pixel then calls /sync to link its user IDs.</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Key</th>
                <th>Name</th>
                <th>Sync URL</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {partners.map((p) => (
                <tr>
                  <td>
                    <code>{p.key}</code>
                  </td>
                  <td>{p.name}</td>
                  <td>{p.sync_url ?? "—"}</td>
                  <td>
                    {writable && (
                      <ActionButton
                        action={`/admin/partners/${p.id}/delete`}
                        label="Delete"
                        danger
                        accessibleLabel={`Delete partner ${p.name}`}
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
        <form method="post" action="/admin/partners" class="card" id="partner-form">
          <h3>Add a partner</h3>
          {view.partner && <ErrorAlert message={view.error} />}
          <div class="grid">
            <Field label="Key" name="key" value={view.partner?.key} required hint="lower-case, e.g. adnet" />
            <Field label="Name" name="name" value={view.partner?.name} required />
            <Field
              label="Sync URL"
              name="sync_url"
              type="url"
              value={view.partner?.sync_url}
              hint="Optional; {tw_id} is replaced"
            />
          </div>
          <div class="actions">
            <button type="submit">Add partner</button>
          </div>
        </form>
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
            {list.length > 0 && (
              <div class="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th>Created</th>
                      <th>Status</th>
                      <th class="num">Attempts</th>
                      <th>Last error</th>
                      <th>Action</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.slice(0, 20).map((x) => (
                      <tr>
                        <td>{formatTime(x.created_at)}</td>
                        <td>{x.status}</td>
                        <td class="num">{x.attempts}</td>
                        <td>{x.last_error ?? "—"}</td>
                        <td>
                          {writable && x.status === "failed" && (
                            <ActionButton
                              action={`/admin/webhooks/${w.id}/deliveries/${x.id}/replay`}
                              label="Replay"
                              accessibleLabel={`Replay delivery ${x.id}`}
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
        <form method="post" action="/admin/webhooks" class="card" id="webhook-form">
          <h3>Add a webhook</h3>
          {view.webhook && <ErrorAlert message={view.error} />}
          <div class="grid">
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
          </div>
          <div class="actions">
            <button type="submit" disabled={segmentList.length === 0}>
              Add webhook
            </button>
          </div>
        </form>
      )}
    </Layout>,
    view.error ? 400 : 200,
  );
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
