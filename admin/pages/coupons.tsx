/**
 * Customer service: look up a code (GET /api/v1/coupons/:code — who holds it by kind, never the
 * cookie, when assigned, redeemed for which order), and redeem or roll it back by hand with a
 * reason (POST /api/v1/coupons/redeem | rollback with `reason`), which the lookup then lists.
 */
import type { Context } from "hono";
import type { FC } from "hono/jsx";
import type { CouponLookup as Lookup } from "../../worker/coupons/lookup";
import { formatTime } from "../../worker/lib/format";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import { Page, pageFrame } from "../components";
import { type FormData, text } from "../forms";
import { can } from "../ui";

type Action = {
  kind: "redeem" | "rollback";
  order: string;
  revenue: string;
  reason: string;
  error?: string;
  field?: string;
};

const HOLDER: Record<string, string> = {
  customer: "a CRM customer (the code follows them across devices)",
  visitor: "an anonymous visitor (a browser not linked to a customer)",
};

/** Which field an API error belongs to, from the message's "field: …" prefix or its code. */
function fieldOf(code: string, message: string): string {
  const named = /^(order|reason|revenue|code)\b/.exec(message)?.[1];
  if (named) return named;
  return code === "other_order" ? "order" : "code";
}

const ErrorFor: FC<{ action?: Action; field: string }> = ({ action, field }) =>
  action?.error && action.field === field ? (
    <span class="field-error" id={`${field}-error`} role="alert">
      {action.error}
    </span>
  ) : null;

const lookUp = (c: Context<AdminEnv>, code: string) =>
  c.var.api.call<Lookup>("GET", `/api/v1/coupons/${encodeURIComponent(code)}`);

/**
 * The code as typed or in another case: people read codes off receipts and type them in lower
 * case, and every generated code is upper case — a case slip is not a mistyped code (issue 30).
 * The API compares codes regardless of case (worker/coupons/lookup.ts); the page says when it did.
 */
async function findCode(c: Context<AdminEnv>, code: string) {
  const result = await lookUp(c, code);
  if (!result.ok || result.data.code === code) return { result, caseNote: null };
  const stored = result.data.code;
  const which =
    stored === code.toUpperCase()
      ? "in upper case"
      : stored === code.toLowerCase()
        ? "in lower case"
        : "in another case";
  return {
    result,
    caseNote: `There is no code “${code}”, but there is “${stored}”, the same ${which}: shown below.`,
  };
}

async function render(c: Context<AdminEnv>, code: string, action?: Action) {
  const found = code ? await findCode(c, code) : null;
  const result = found?.result ?? null;
  const coupon = result?.ok ? result.data : null;
  const writable = can(c.var.role, "marketer");
  const kind = coupon?.state === "redeemed" ? "rollback" : "redeem";
  const a: Action =
    action?.kind === kind
      ? action
      : { kind, order: coupon?.state === "redeemed" ? (coupon.order ?? "") : "", revenue: "", reason: "" };
  const described = (field: string) => (a.error && a.field === field ? `${field}-error` : undefined);
  const status = action?.error ? 400 : result && !result.ok ? (result.status === 404 ? 404 : 400) : 200;
  return c.html(
    <Page frame={await pageFrame(c)} title="Coupon codes" heading="Look up a coupon code" active="/admin/coupons">
      {found?.caseNote && (
        <p class="alert ok" id="case-note">
          {found.caseNote}
        </p>
      )}
      <form method="get" action="/admin/coupons" class="card">
        <div class="field">
          <label for="f-code">Code</label>
          <input
            id="f-code"
            name="code"
            value={code}
            required
            maxlength={64}
            aria-invalid={result && !result.ok ? "true" : undefined}
            aria-describedby={result && !result.ok ? "lookup-error" : undefined}
          />
          {result && !result.ok && (
            <span class="field-error" id="lookup-error" role="alert">
              {result.error.message}
            </span>
          )}
          <span class="hint">
            A code in lower case is also looked up in upper case. The holder's cookie ID is never shown.
          </span>
        </div>
        <div class="actions">
          <button type="submit">Look up</button>
        </div>
      </form>
      {coupon && (
        <section class="card" aria-labelledby="coupon-title">
          <h2 id="coupon-title">
            <code>{coupon.code}</code>{" "}
            <span class={`badge ${coupon.state === "redeemed" ? "on" : "off"}`}>{coupon.state}</span>
          </h2>
          <dl class="facts" id="coupon-facts">
            <dt>Pool</dt>
            <dd>
              {coupon.pool.name} ({coupon.pool.kind}
              {coupon.pool.discount ? `, ${coupon.pool.discount}` : ""})
            </dd>
            <dt>Held by</dt>
            <dd>
              {coupon.holder_kind ? HOLDER[coupon.holder_kind] : "nobody yet"}
              {coupon.customer && (
                <>
                  {" "}
                  — customer <code>{coupon.customer}</code>
                </>
              )}
            </dd>
            <dt>Rule</dt>
            <dd>
              {coupon.rule_id == null ? (
                "—"
              ) : (
                <a href={`/admin/reports/rules/${coupon.rule_id}`}>rule #{coupon.rule_id}</a>
              )}
            </dd>
            <dt>Assigned (UTC)</dt>
            <dd>{formatTime(coupon.assigned_at)}</dd>
            <dt>Expires (UTC)</dt>
            <dd>{formatTime(coupon.expires_at)}</dd>
            <dt>Redeemed (UTC)</dt>
            <dd>{formatTime(coupon.redeemed_at)}</dd>
            {coupon.archived_at && (
              <>
                <dt>Archived (UTC)</dt>
                <dd>{formatTime(coupon.archived_at)} — replaced by the customer's code when its holder was linked</dd>
              </>
            )}
            <dt>Order</dt>
            <dd>{coupon.order ?? "—"}</dd>
          </dl>
          {coupon.notes.length > 0 && (
            <>
              <h3>Done by hand</h3>
              <ul id="coupon-notes">
                {coupon.notes.map((n) => (
                  <li>
                    {formatTime(n.at)} — {n.action} for order {n.order} by {n.by}: {n.reason}
                  </li>
                ))}
              </ul>
            </>
          )}
        </section>
      )}
      {coupon && writable && coupon.state !== "free" && (
        <form
          method="post"
          action={`/admin/coupons/${encodeURIComponent(coupon.code)}/${kind}`}
          class="card"
          data-confirm={kind === "rollback" ? `Roll back the redemption of ${coupon.code}?` : undefined}
          data-note={kind === "rollback" ? " The code becomes usable again." : undefined}
        >
          {kind === "rollback" && (
            <input type="hidden" name="confirm" value={`Roll back the redemption of ${coupon.code}?`} />
          )}
          <h2>{kind === "redeem" ? "Redeem by hand" : "Roll back the redemption"}</h2>
          <p class="muted">
            {kind === "redeem"
              ? "For an order the shop could not apply the code to. It counts like a redemption from the shop."
              : "For a cancelled order: the code becomes usable again."}
          </p>
          <div class="grid">
            <div class="field">
              <label for="f-order">Order</label>
              <input
                id="f-order"
                name="order"
                value={a.order}
                required
                maxlength={200}
                aria-describedby={described("order")}
              />
              <ErrorFor action={a} field="order" />
            </div>
            {kind === "redeem" && (
              <div class="field">
                <label for="f-revenue">Order value in {c.var.site.currency} (optional)</label>
                <input
                  id="f-revenue"
                  name="revenue"
                  type="number"
                  min="0"
                  step="0.01"
                  value={a.revenue}
                  aria-describedby={described("revenue")}
                />
                <ErrorFor action={a} field="revenue" />
              </div>
            )}
            <div class="field">
              <label for="f-reason">Reason</label>
              <input
                id="f-reason"
                name="reason"
                value={a.reason}
                required
                minlength={3}
                maxlength={500}
                aria-describedby={described("reason") ?? "f-reason-hint"}
              />
              <span class="hint" id="f-reason-hint">
                Kept with the code and your e-mail; write no personal data.
              </span>
              <ErrorFor action={a} field="reason" />
            </div>
          </div>
          <ErrorFor action={a} field="code" />
          <div class="actions">
            <button type="submit">{kind === "redeem" ? "Redeem" : "Roll back"}</button>
          </div>
        </form>
      )}
    </Page>,
    status,
  );
}

function actionOf(kind: Action["kind"], form: FormData): Action {
  return {
    kind,
    order: text(form, "order").trim(),
    revenue: text(form, "revenue").trim(),
    reason: text(form, "reason").trim(),
  };
}

export function couponPages(app: AdminApp) {
  app.get("/admin/coupons", (c) => render(c, (c.req.query("code") ?? "").trim()));

  for (const kind of ["redeem", "rollback"] as const) {
    app.post(`/admin/coupons/:code/${kind}`, async (c) => {
      const code = c.req.param("code");
      const action = actionOf(kind, await c.req.parseBody());
      const revenue = action.revenue === "" ? undefined : Number(action.revenue.replace(",", "."));
      if (revenue !== undefined && !(Number.isFinite(revenue) && revenue >= 0)) {
        return render(c, code, { ...action, field: "revenue", error: "A non-negative amount, e.g. 89.90" });
      }
      const json = {
        code,
        order: action.order,
        reason: action.reason,
        ...(kind === "redeem" && revenue !== undefined ? { revenue } : {}),
      };
      const result = await c.var.api.call("POST", `/api/v1/coupons/${kind}`, { json });
      if (!result.ok) {
        return render(c, code, {
          ...action,
          field: fieldOf(result.error.code, result.error.message),
          error: result.error.message,
        });
      }
      return c.redirect(`/admin/coupons?code=${encodeURIComponent(code)}&done=saved`, 303);
    });
  }
}
