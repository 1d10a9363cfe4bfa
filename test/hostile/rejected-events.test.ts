/**
 * Property tests of `GET /api/v1/rejected-events` with hostile query strings: a clear 4xx or a
 * page, never a 5xx, and never a row of another site, whatever the filters, cursor or stray
 * parameters say.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { utcDayKey } from "../../worker/lib/time";
import { event, postEvents, SHOP } from "../collect/post-events";
import { call, createTestSite, siteIdOf } from "../fixtures/api";
import { INJECTIONS, shortHostileString } from "./arbitraries";

const RUNS = 60;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const enc = (value: string) => encodeURIComponent(value.replace(LONE_SURROGATE, "\uFFFD"));

/** A site with rejected events through /e, whose reasons carry hostile text too. */
async function siteWithRejections() {
  const { siteKey, apiKey } = await createTestSite({ allowed_origins: [SHOP] });
  const events = [event("nope"), event("page", { x: 1 }), ...INJECTIONS.slice(0, 5).map((t) => event(t))];
  expect((await postEvents({ site: siteKey, events })).status).toBe(202);
  const siteId = await siteIdOf(siteKey);
  const ids = await env.DB.prepare("select id from rejected_events where site_id = ?")
    .bind(siteId)
    .all<{ id: number }>();
  expect(ids.results.length).toBeGreaterThan(0);
  return { apiKey, siteId, ids: new Set(ids.results.map((r) => r.id)) };
}

/** Values a shop, a typo or an attacker might put in each parameter. */
const paramValue = fc.oneof(
  shortHostileString,
  fc.constantFrom(
    utcDayKey(Date.now()),
    "2026-02-30",
    "0000-00-00",
    "9999-12-31",
    "event 0",
    "event",
    "%",
    "_",
    "1",
    "0",
    "-1",
    "500",
    "501",
    "1e3",
    "9999999999999999",
    "99999999999999999999",
    "NaN",
    "",
  ),
);

const PARAMS = ["day", "reason", "limit", "cursor"];

const queryString = fc.oneof(
  // Known parameters with hostile values, some repeated, plus stray ones.
  fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...PARAMS), shortHostileString), paramValue), { maxLength: 6 })
    .map((pairs) => pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join("&")),
  // A raw query string, as a hand-written URL might carry it.
  shortHostileString.map((s) => s.replace(LONE_SURROGATE, "\uFFFD").replace(/#/g, "%23")),
);

describe("GET /api/v1/rejected-events with hostile query strings", () => {
  it("answers a clear 4xx or a page of the calling site's rows only, never a 5xx", async () => {
    const own = await siteWithRejections();
    const other = await siteWithRejections();
    let pagesWithRows = 0;
    await fc.assert(
      fc.asyncProperty(queryString, fc.boolean(), async (query, asOther) => {
        const site = asOther ? other : own;
        const res = await call(`/api/v1/rejected-events?${query}`, { key: site.apiKey });
        if (res.status >= 500) expect.fail(`${res.status} for ?${query}: ${(await res.text()).slice(0, 300)}`);
        if (res.status !== 200) {
          expect(res.status).toBe(400);
          expect(((await res.json()) as { error: { code: string } }).error.code).toBeTypeOf("string");
          return;
        }
        const page = (await res.json()) as { rejected_events: { id: number }[]; next_cursor: string | null };
        for (const row of page.rejected_events) expect(site.ids.has(row.id), `row ${row.id} for ?${query}`).toBe(true);
        if (page.rejected_events.length > 0) pagesWithRows++;
        // Following the cursor stays within the site as well.
        if (page.next_cursor) {
          const next = await call(`/api/v1/rejected-events?${query}&cursor=${page.next_cursor}`, { key: site.apiKey });
          expect(next.status).toBeLessThan(500);
        }
      }),
      { numRuns: RUNS },
    );
    // The property says something only if some queries were answered with rows.
    expect(pagesWithRows).toBeGreaterThan(0);
  });
});
