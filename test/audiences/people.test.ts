/**
 * Audiences are of people (README.md, "Cookie sync, audiences and webhooks"): CRM customers who never
 * had a cookie are members of customer-based audiences and are listed in the e-mail ID spaces, as
 * far as their `ads_consent` (import column, or the site's `crm_ads_consent_default`) allows.
 */

import { env } from "cloudflare:workers";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { refreshAudience } from "../../worker/audiences/refresh";
import { getAudience } from "../../worker/audiences/store";
import { createDb } from "../../worker/db/client";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { call, createTestSite, importCsv, siteIdOf } from "../fixtures/api";
import { HOME_PEOPLE } from "../shards/people-fixture";
import { cookie, sha256Hex, T0 } from "./helpers";

const db = createDb(env.DB);
const LONG_AGO = new Date(T0 - 400 * DAY).toISOString();

async function exportIds(apiKey: string, id: number, space: string, since?: string) {
  const query = `format=csv&id_space=${space}&layout=id${since ? `&since=${encodeURIComponent(since)}` : ""}`;
  const res = await call(`/api/v1/audiences/${id}/export?${query}`, { key: apiKey });
  expect(res.status).toBe(200);
  const rows = parse(await res.text(), { columns: true }) as Record<string, string>[];
  return { rows, cursor: res.headers.get("x-tagwerk-cursor") as string };
}

/**
 * Dormant customers: D-1…D-3 never visited (consent true, false, unsaid), D-4 has a cookie and
 * said false, D-5 has a cookie and said true.
 */
async function setup(settings: Record<string, unknown> = {}) {
  const { siteKey, apiKey } = await createTestSite(settings);
  const siteId = await siteIdOf(siteKey);
  const imported = await importCsv(
    apiKey,
    `customer_id,email,last_order_at,orders,ads_consent
D-1,d1@example.com,${LONG_AGO},2,true
D-2,d2@example.com,${LONG_AGO},2,false
D-3,d3@example.com,${LONG_AGO},2,
D-4,d4@example.com,${LONG_AGO},2,false
D-5,d5@example.com,${LONG_AGO},2,true
`,
  );
  expect(imported.status).toBe(200);
  expect(((await imported.json()) as { accepted: number }).accepted).toBe(5);
  const links = await importCsv(
    apiKey,
    `cookie_id,customer_id\n${cookie(4)},D-4\n${cookie(5)},D-5\n`,
    "/api/v1/import/links",
  );
  expect(links.status).toBe(200);
  const created = await call("/api/v1/audiences", {
    method: "POST",
    key: apiKey,
    json: { name: "Dormant", kind: "dormant", params: { days: 180 } },
  });
  const { id } = (await created.json()) as { id: number };
  const refresh = async (now = T0) => refreshAudience(db, HOME_PEOPLE, await getAudience(db, siteId, id), now);
  return { apiKey, siteId, id, refresh };
}

describe("audiences of people", () => {
  it("holds CRM customers without a cookie and lists them in the e-mail space as their consent allows", async () => {
    const { apiKey, id, refresh } = await setup();
    // Five people: three without a cookie, two through theirs.
    expect((await refresh()).size).toBe(5);

    const emails = (await exportIds(apiKey, id, "email_sha256")).rows.map((r) => r.id).sort();
    // D-1 said yes; D-5 said yes (through its cookie). D-2 and D-4 said no; D-3 never said, default off.
    expect(emails).toEqual([sha256Hex("d1@example.com"), sha256Hex("d5@example.com")].sort());
    // A customer who said no is never exported through its cookie either.
    const cookies = (await exportIds(apiKey, id, "tw")).rows.map((r) => r.id);
    expect(cookies).toEqual([cookie(5)]);
  });

  it("lists customers who never said under the site default, never those who said no", async () => {
    const { apiKey, id, refresh } = await setup({ crm_ads_consent_default: true });
    await refresh();
    const emails = (await exportIds(apiKey, id, "email_sha256")).rows.map((r) => r.id).sort();
    expect(emails).toEqual(
      [sha256Hex("d1@example.com"), sha256Hex("d3@example.com"), sha256Hex("d5@example.com")].sort(),
    );
  });

  it("shows and changes crm_ads_consent_default through GET and PATCH /api/v1/site", async () => {
    const { apiKey } = await createTestSite();
    const before = (await (await call("/api/v1/site", { key: apiKey })).json()) as Record<string, unknown>;
    expect(before.crm_ads_consent_default).toBe(false);
    const patched = await call("/api/v1/site", {
      method: "PATCH",
      key: apiKey,
      json: { crm_ads_consent_default: true },
    });
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as Record<string, unknown>).crm_ads_consent_default).toBe(true);
    const bad = await call("/api/v1/site", { method: "PATCH", key: apiKey, json: { crm_ads_consent_default: "yes" } });
    expect(bad.status).toBe(400);
  });

  it("takes Shopify's Accepts Marketing column as ads_consent and refuses a value that is no yes or no", async () => {
    const { siteKey, apiKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    const res = await importCsv(
      apiKey,
      `Customer ID,Email,Accepts Marketing\nS-1,s1@example.com,yes\nS-2,s2@example.com,no\nS-3,s3@example.com,maybe\n`,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      accepted: number;
      rejected: { line: number; reason: string; problems: string[] }[];
    };
    expect(body.accepted).toBe(2);
    const problem = 'ads_consent: expected true or false ("maybe")';
    expect(body.rejected).toEqual([{ line: 4, reason: problem, problems: [problem] }]);
    const rows = await env.DB.prepare(
      "select customer_id, ads_consent from customers where site_id = ? order by customer_id",
    )
      .bind(siteId)
      .all<{ customer_id: string; ads_consent: number | null }>();
    expect(rows.results).toEqual([
      { customer_id: "S-1", ads_consent: 1 },
      { customer_id: "S-2", ads_consent: 0 },
    ]);
  });

  it("gives deltas of CRM-only customers: added when they become dormant, removed when they say no", async () => {
    const { apiKey, id, refresh } = await setup();
    await refresh();
    const { cursor } = await exportIds(apiKey, id, "email_sha256");
    // A new CRM-only customer who says yes, and D-1 withdrawing its consent in the next import.
    await importCsv(apiKey, `customer_id,email,last_order_at,ads_consent\nD-6,d6@example.com,${LONG_AGO},true\n`);
    await importCsv(apiKey, "customer_id,ads_consent\nD-1,false\n");
    await refresh(T0 + 60_000);
    const { rows } = await exportIds(apiKey, id, "email_sha256", cursor);
    expect(rows).toEqual([
      { op: "add", id: sha256Hex("d6@example.com") },
      { op: "remove", id: sha256Hex("d1@example.com") },
    ]);
  });
});
