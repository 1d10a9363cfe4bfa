import { basePathOf, publicBase } from "../../worker/lib/base-path";
import { formatTime } from "../../worker/lib/format";
import type { AdminApp } from "../app";
import { Page, pageFrame } from "../components";
import { Empty, Snippet } from "../ui";
import { loadPlacements, slotSnippet } from "./placements";

type RecentEvent = {
  id: string;
  received_at: number;
  type: string;
  name: string | null;
  cookie_id: string;
  url: string | null;
};
type Rejected = { id: number; received_at: number; source: string; reason: string };

function tagSnippet(edge: string, siteKey: string, consentMode: string) {
  const stub = "<script>window.tw=window.tw||function(){(tw.q=tw.q||[]).push(arguments)}</script>";
  const consent = consentMode === "required" ? ' data-consent="required"' : "";
  return {
    own: `${stub}\n<script async src="${edge}/t.js" data-site="${siteKey}"${consent}></script>`,
    cmp: `${stub}\n<script async src="${edge}/tc.js" data-site="${siteKey}" data-consent="cmp"></script>`,
  };
}

function signingSnippets(customerVar = "customerId") {
  return {
    node: [
      'import { createHmac } from "node:crypto";',
      `const sig = createHmac("sha256", process.env.TAGWERK_IDENTITY_SECRET).update(${customerVar}).digest("hex");`,
      `// in the page: tw('identify', {customer: ${customerVar}, sig})`,
    ].join("\n"),
    php: [
      "<?php",
      "$sig = hash_hmac('sha256', $customerId, getenv('TAGWERK_IDENTITY_SECRET'));",
      "// in the page: tw('identify', {customer: <?= json_encode($customerId) ?>, sig: '<?= $sig ?>'})",
    ].join("\n"),
    python: [
      "import hmac, hashlib, os",
      'sig = hmac.new(os.environ["TAGWERK_IDENTITY_SECRET"].encode(), customer_id.encode(), hashlib.sha256).hexdigest()',
      "# in the page: tw('identify', {customer: customer_id, sig: sig})",
    ].join("\n"),
  };
}

export function installPages(app: AdminApp) {
  app.get("/admin/install", async (c) => {
    const site = c.var.site;
    const edge = publicBase(c);
    const api = c.var.api;
    const [placements, recent, rejected] = await Promise.all([
      loadPlacements(c),
      api.get<{ events: RecentEvent[] }>("/api/v1/events?limit=20"),
      api.get<{ rejected_events: Rejected[] }>("/api/v1/rejected-events?limit=20"),
    ]);
    // With same-origin serving the shop's pages load the tag from their own origin's prefix: a
    // root-relative src, since the admin (on the Worker's own host) does not know the shop's.
    const tag = tagSnippet(basePathOf(c.env) || edge, site.key, site.consentMode);
    const sign = signingSnippets();
    return c.html(
      <Page frame={await pageFrame(c)} title="Install" active="/admin/install">
        <p class="muted">
          What the shop puts on its pages and servers to connect site <code>{site.key}</code>, then a live check of what
          arrives. The addresses below are this edge as you reached it: <code id="edge-url">{edge}</code>.
        </p>

        <section class="card" aria-labelledby="tag-title">
          <h2 id="tag-title">1. The tag</h2>
          <p>
            This site's consent mode is <strong id="consent-mode">{site.consentMode}</strong>.{" "}
            {site.consentMode === "required"
              ? "Nothing is sent before consent. If the shop calls tw('consent', true) from its own banner, use:"
              : "Events are sent from the first page view (consent implied). Put this before </head>:"}
          </p>
          <Snippet id="tag-snippet">{tag.own}</Snippet>
          <p>
            With a consent management platform (IAB TCF v2.2 or Google Consent Mode v2) use the CMP-aware build instead:
            it waits for the CMP's answer and follows withdrawals.
          </p>
          <Snippet id="tag-snippet-cmp">{tag.cmp}</Snippet>
        </section>

        <section class="card" aria-labelledby="slots-title">
          <h2 id="slots-title">2. Banner slots</h2>
          {placements.length === 0 ? (
            <Empty>No placements yet: they appear here once a rule names one or it gets a fallback.</Empty>
          ) : (
            <>
              <p>
                One empty element per placement where the banner goes, all {placements.length} of them, each with its
                size (<a href="/admin/placements">Placements</a> has each one's rules and ad-server tags):
              </p>
              <Snippet id="slot-snippets">{placements.map(slotSnippet).join("\n")}</Snippet>
            </>
          )}
        </section>

        <section class="card" aria-labelledby="identify-title">
          <h2 id="identify-title">3. Identify logged-in customers (shop backend)</h2>
          <p>
            The backend signs the CRM customer ID with the site's identity secret (made on{" "}
            <a href="/admin/settings">Site &amp; API keys</a>, kept in TAGWERK_IDENTITY_SECRET) and writes both into the
            page. An identify without a valid signature links nothing.
          </p>
          <h3>Node</h3>
          <Snippet id="sign-node">{sign.node}</Snippet>
          <h3>PHP</h3>
          <Snippet id="sign-php">{sign.php}</Snippet>
          <h3>Python</h3>
          <Snippet id="sign-python">{sign.python}</Snippet>
        </section>

        <section class="card" aria-labelledby="cdp-title">
          <h2 id="cdp-title">4. Segment, RudderStack, Jitsu and server-side events</h2>
          <p>
            tagwerk speaks Segment's HTTP API. Authentication: HTTP Basic with an API key of this site (from{" "}
            <a href="/admin/settings">Site &amp; API keys</a>) as user name and an empty password — the write key.
          </p>
          <p id="ingest-key-advice">
            Use an <strong>ingest-only key</strong> here (Site &amp; API keys → Scope: Ingest only): it can send events
            to <code>/v1/*</code> and <code>/api/v1/events</code> and nothing else — every other call answers 403 — so a
            write key that leaks from a CDP's settings cannot read or change the site. Events about a visitor who
            refused consent are refused on these paths too.
          </p>
          <dl class="facts">
            <dt>Endpoint (batch)</dt>
            <dd>
              <code id="segment-endpoint">{`${edge}/v1/batch`}</code>
            </dd>
            <dt>Single calls</dt>
            <dd>
              <code>{`${edge}/v1/track`}</code>, <code>{`${edge}/v1/identify`}</code>, <code>{`${edge}/v1/page`}</code>
            </dd>
            <dt>Segment / RudderStack / Jitsu webhook destination</dt>
            <dd>
              URL <code>{`${edge}/v1/batch`}</code>, header <code>Authorization: Basic base64(API_KEY + ":")</code>
            </dd>
          </dl>
          <Snippet id="segment-client">
            {[
              'import { Analytics } from "@segment/analytics-node";',
              `const analytics = new Analytics({ writeKey: API_KEY, host: "${new URL(edge).origin}", path: "${new URL(edge).pathname.replace(/\/$/, "")}/v1/batch" });`,
              "",
              'import RudderAnalytics from "@rudderstack/rudder-sdk-node";',
              `const rudder = new RudderAnalytics(API_KEY, { dataPlaneUrl: "${edge}" });`,
            ].join("\n")}
          </Snippet>
          <p>
            Send <code>anonymousId</code> = the visitor's <code>tw_id</code> cookie and <code>userId</code> = the CRM
            customer ID. Product Viewed, Product Added / Removed and Order Completed (with <code>coupon</code>) become
            views, cart changes and purchases; identify links the cookie to the customer; a repeated{" "}
            <code>messageId</code> is ignored. Without a CDP, <code>POST {`${edge}/api/v1/events`}</code> with{" "}
            <code>Authorization: Bearer API_KEY</code> takes the same events as the tag.
          </p>
        </section>

        <section class="card" aria-labelledby="live-title">
          <h2 id="live-title">5. Live check</h2>
          <h3>Last events received (24 hours)</h3>
          {recent.events.length === 0 ? (
            <Empty>Nothing received in the last 24 hours.</Empty>
          ) : (
            <table id="recent-events">
              <thead>
                <tr>
                  <th scope="col">Received (UTC)</th>
                  <th scope="col">Type</th>
                  <th scope="col">Visitor</th>
                  <th scope="col">Page</th>
                </tr>
              </thead>
              <tbody>
                {recent.events.map((e) => (
                  <tr>
                    <td>{formatTime(e.received_at, { seconds: true })}</td>
                    <td>{e.name ? `${e.type}: ${e.name}` : e.type}</td>
                    <td>
                      <a href={`/admin/explain?who=${e.cookie_id}`}>
                        <code>{e.cookie_id}</code>
                      </a>
                    </td>
                    <td>{e.url ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h3>Last refused, and why</h3>
          {rejected.rejected_events.length === 0 ? (
            <Empty>Nothing refused.</Empty>
          ) : (
            <table id="rejected-events">
              <thead>
                <tr>
                  <th scope="col">Received (UTC)</th>
                  <th scope="col">Source</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {rejected.rejected_events.map((r) => (
                  <tr>
                    <td>{formatTime(r.received_at, { seconds: true })}</td>
                    <td>{r.source}</td>
                    <td>{r.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <p>
            <a href="/admin/install">Refresh</a>
          </p>
        </section>
      </Page>,
    );
  });
}
