/**
 * Explain: a marketer enters a cookie ID or a CRM customer ID and a placement, and sees every rule
 * of the placement with matched / why not, the holdout, the coupon it would show and the rendered
 * creative — through POST /api/v1/placements/:placement/explain, which records and claims nothing.
 * A GET form: an explanation changes nothing, and its URL can be shared with a colleague.
 */
import type { Context } from "hono";
import type { Explanation } from "../../worker/decide/explain";
import { formatDay, formatPercent } from "../../worker/lib/format";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import { Page, pageFrame } from "../components";
import { creativeFrame, EXPLAIN_FRAME_PATH, frameMessage } from "../frame";
import type { Creative, Pool, Rule } from "../types";
import { Empty } from "../ui";

const COOKIE = /^[0-9a-f]{32}$/;

/** A 32-hex-character value is a cookie ID (tw_id); anything else is taken as a CRM customer ID. */
function whoOf(value: string) {
  const v = value.trim();
  return COOKIE.test(v) ? { cookie_id: v } : { customer: v };
}

function explain(c: Context<AdminEnv>, placement: string, who: string) {
  return c.var.api.call<Explanation>("POST", `/api/v1/placements/${encodeURIComponent(placement)}/explain`, {
    json: whoOf(who),
  });
}

const OUTCOME: Record<Explanation["outcome"], string> = {
  rule: "sees the chosen rule's creative",
  holdout: "is in the chosen rule's holdout (control group) and sees the fallback",
  fallback: "matches no rule and sees the placement's fallback",
  empty: "matches no rule, and the placement has no fallback: an empty 1×1 creative",
};

const COUPON: Record<NonNullable<Explanation["coupon"]>["state"], string> = {
  held: "holds this code and sees it again",
  would_claim: "holds no code yet: the first real view claims one (the preview shows YOUR-CODE)",
  redeemed: "already redeemed this pool's code: the rule shows its no-coupon variant",
  dry: "the pool has no free code left: the rule shows its no-coupon variant",
  no_consent: "no consent: the visitor may not be personalised, so the banner shows and claims no code",
};

export function explainPages(app: AdminApp) {
  app.get("/admin/explain", async (c) => {
    const placement = c.req.query("placement") ?? "";
    const who = c.req.query("who") ?? "";
    const api = c.var.api;
    const [rules, creatives, pools] = await Promise.all([
      api.get<{ rules: Rule[] }>("/api/v1/rules"),
      api.get<{ creatives: Creative[] }>("/api/v1/creatives"),
      api.call<{ pools: Pool[] }>("GET", "/api/v1/pools"),
    ]);
    const placements = [...new Set(rules.rules.map((r) => r.placement))].sort();
    const asked = placement !== "" && who.trim() !== "";
    const result = asked ? await explain(c, placement, who) : null;
    const creativeName = (id: number) => creatives.creatives.find((cr) => cr.id === id)?.name ?? `#${id}`;
    const poolName = (id: number) =>
      (pools.ok ? pools.data.pools.find((p) => p.id === id)?.name : undefined) ?? `#${id}`;
    const data = result?.ok ? result.data : null;
    const frameSrc = `${EXPLAIN_FRAME_PATH}?${new URLSearchParams({ placement, who })}`;
    return c.html(
      <Page frame={await pageFrame(c)} title="Explain a visitor" active="/admin/explain">
        <p class="muted">
          Why does someone see what they see? Enter their cookie ID (tw_id, 32 hex characters) or CRM customer ID.
          Nothing is recorded and no code is claimed.
        </p>
        <form method="get" action="/admin/explain" class="card">
          <div class="grid">
            <div class="field">
              <label for="f-placement">Placement</label>
              <input
                id="f-placement"
                name="placement"
                list="placements"
                value={placement || placements[0] || ""}
                required
                pattern="[A-Za-z0-9_\-]{1,64}"
              />
              <datalist id="placements">
                {placements.map((p) => (
                  <option value={p} />
                ))}
              </datalist>
            </div>
            <div class="field">
              <label for="f-who">Cookie ID or customer ID</label>
              <input
                id="f-who"
                name="who"
                value={who}
                required
                aria-invalid={result && !result.ok ? "true" : undefined}
                aria-describedby={result && !result.ok ? "who-error" : undefined}
              />
              {result && !result.ok && (
                <span class="field-error" id="who-error" role="alert">
                  {result.error.message}
                </span>
              )}
            </div>
          </div>
          <div class="actions">
            <button type="submit">Explain</button>
          </div>
        </form>
        {!asked && placements.length === 0 && <Empty>No rules yet: there is nothing to explain.</Empty>}
        {data && (
          <>
            <section class="card" aria-labelledby="verdict-title">
              <h2 id="verdict-title">Outcome</h2>
              <p id="explain-outcome">
                {data.visitor.known ? "This visitor" : "This visitor (not seen yet: a first visit)"}{" "}
                {OUTCOME[data.outcome]}.
              </p>
              <dl class="facts">
                <dt>Customer</dt>
                <dd>{data.visitor.customer ?? "not linked to a CRM customer"}</dd>
                <dt>Holdout</dt>
                <dd>
                  {data.holdout
                    ? `in the control group of rule #${data.holdout.rule} (share ${formatPercent(data.holdout.share, 0)})`
                    : data.visitor.cookie_id
                      ? "not in a control group"
                      : "no cookie: the holdout does not apply"}
                </dd>
                <dt>Coupon</dt>
                <dd id="explain-coupon">
                  {data.coupon ? (
                    <>
                      {poolName(data.coupon.pool_id)}: {COUPON[data.coupon.state]}
                      {data.coupon.code && (
                        <>
                          {" "}
                          —{" "}
                          <a href={`/admin/coupons?code=${encodeURIComponent(data.coupon.code)}`}>{data.coupon.code}</a>
                        </>
                      )}
                      {data.coupon.expires && <> — valid until {formatDay(data.coupon.expires)} (UTC)</>}
                    </>
                  ) : (
                    "none"
                  )}
                </dd>
                <dt>Creative</dt>
                <dd>{data.creative ? creativeName(data.creative.id) : "none"}</dd>
              </dl>
            </section>
            <section class="card">
              <h2>Rules of {placement}, in the order they are tried</h2>
              <div class="table-wrap">
                <table id="explain-rules">
                  <thead>
                    <tr>
                      <th>Priority</th>
                      <th>Rule</th>
                      <th>Matched</th>
                      <th>Why</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.rules.map((r) => (
                      <tr class={r.id === data.chosen ? "chosen" : undefined}>
                        <td class="num">{r.priority}</td>
                        <td>
                          <a href={`/admin/rules/${r.id}`}>{r.name}</a>
                          {r.id === data.chosen && (
                            <>
                              {" "}
                              <span class="badge on">chosen</span>
                            </>
                          )}
                        </td>
                        <td>{r.matched ? "yes" : "no"}</td>
                        <td>{r.reason}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </section>
            {data.creative && (
              <section class="card">
                <h2>What they see</h2>
                <div class="preview-box">
                  <iframe
                    id="explain-frame"
                    title="The creative this visitor sees"
                    sandbox=""
                    width={String(data.creative.width)}
                    height={String(data.creative.height)}
                    src={frameSrc}
                  />
                </div>
              </section>
            )}
          </>
        )}
      </Page>,
      result && !result.ok ? (result.status === 404 ? 404 : 400) : 200,
    );
  });

  app.get(EXPLAIN_FRAME_PATH, async (c) => {
    const placement = c.req.query("placement") ?? "";
    const who = c.req.query("who") ?? "";
    if (!placement || !who.trim()) return frameMessage(c, "Nothing to show.");
    const result = await explain(c, placement, who);
    if (!result.ok) return frameMessage(c, result.error.message);
    const creative = result.data.creative;
    if (!creative) return frameMessage(c, "An empty 1×1 creative.", 200);
    return creativeFrame(c, creative.format, creative.body);
  });
}
