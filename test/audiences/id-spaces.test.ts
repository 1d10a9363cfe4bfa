/**
 * Network-ready files: each ID space exported through the public API in the column layout its
 * destination's upload takes, read back with csv-parse as the network's importer would.
 */

import { env } from "cloudflare:workers";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { refreshAudience } from "../../worker/audiences/refresh";
import { getAudience } from "../../worker/audiences/store";
import { createDb } from "../../worker/db/client";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { createAdminUser, sessionCookie } from "../fixtures/admin";
import { call, createTestSite, errorOf, importCsv, siteIdOf } from "../fixtures/api";
import { HOME_PEOPLE } from "../shards/people-fixture";
import { addLink, cookie, sha256Base64, sha256Hex, T0 } from "./helpers";

const db = createDb(env.DB);

/**
 * Four new customers linked to cookies 1–4, all with `ads_consent` (without it the e-mail spaces
 * would leave them out); C-3 came with a hash only, C-4 with no e-mail.
 */
async function setup() {
  const { siteKey, apiKey } = await createTestSite();
  const siteId = await siteIdOf(siteKey);
  const day = new Date(T0 - DAY).toISOString();
  const customers = await importCsv(
    apiKey,
    `customer_id,email,email_sha256,first_order_at,ads_consent
C-1, Jane.Saoirse+Work@gmail.com ,,${day},true
C-2,User35@example.com,,${day},true
C-3,,${sha256Hex("hashonly@example.com")},${day},true
C-4,,,${day},true
`,
  );
  expect(customers.status).toBe(200);
  const links = await importCsv(
    apiKey,
    `cookie_id,customer_id\n${[1, 2, 3, 4].map((n) => `${cookie(n)},C-${n}`).join("\n")}\n`,
    "/api/v1/import/links",
  );
  expect(links.status).toBe(200);
  expect(
    (await call("/api/v1/partners", { method: "POST", key: apiKey, json: { key: "dsp", name: "DSP" } })).status,
  ).toBe(201);
  await addLink(siteId, "dsp", 'dsp,"1"', cookie(1));
  const created = await call("/api/v1/audiences", {
    method: "POST",
    key: apiKey,
    json: { name: "New customers", kind: "new_customers", params: { days: 28 } },
  });
  const { id } = (await created.json()) as { id: number };
  await refreshAudience(db, HOME_PEOPLE, await getAudience(db, siteId, id), T0);
  return { apiKey, id, siteKey };
}

function records<T extends Record<string, string>>(text: string): T[] {
  return parse(text, { columns: true }) as T[];
}

async function exportText(apiKey: string, id: number, query: string) {
  const res = await call(`/api/v1/audiences/${id}/export?format=csv&${query}`, { key: apiKey });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/csv");
  return res.text();
}

describe("audience export in network layouts", () => {
  it("gives Google Customer Match an Email column of hex SHA-256 hashes", async () => {
    const { apiKey, id } = await setup();
    const rows = records<{ Email: string }>(await exportText(apiKey, id, "id_space=email_sha256"));
    expect(Object.keys(rows[0])).toEqual(["Email"]);
    expect(rows.map((r) => r.Email).sort()).toEqual(
      [
        sha256Hex("jane.saoirse+work@gmail.com"),
        sha256Hex("user35@example.com"),
        sha256Hex("hashonly@example.com"),
      ].sort(),
    );
  });

  it("gives Meta the EMAIL_SHA256 schema column with the same hashes", async () => {
    const { apiKey, id } = await setup();
    const rows = records<{ EMAIL_SHA256: string }>(await exportText(apiKey, id, "id_space=email_sha256&layout=meta"));
    expect(Object.keys(rows[0])).toEqual(["EMAIL_SHA256"]);
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row.EMAIL_SHA256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("gives The Trade Desk one UID2 Base64 hash per line, no header, and only customers with a clear address", async () => {
    const { apiKey, id } = await setup();
    const text = await exportText(apiKey, id, "id_space=uid2_email");
    const lines = parse(text) as string[][];
    expect(lines.map((l) => l[0]).sort()).toEqual(
      ["ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8=", sha256Base64("user35@example.com")].sort(),
    );
    // A Base64 hash may start with "+": it must reach the network as made, or it matches nobody.
    expect(sha256Base64("user35@example.com").startsWith("+")).toBe(true);
    expect(text.split("\n")).toContain(sha256Base64("user35@example.com"));
  });

  it("gives cookie-synced DSPs an id column of their own IDs, quoted where the ID needs it", async () => {
    const { apiKey, id } = await setup();
    const rows = records(await exportText(apiKey, id, "id_space=dsp"));
    expect(rows).toEqual([{ id: 'dsp,"1"' }]);
    const tw = records<{ id: string }>(await exportText(apiKey, id, "id_space=tw"));
    expect(tw.map((r) => r.id).sort()).toEqual([1, 2, 3, 4].map(cookie));
  });

  it("refuses a layout that does not fit the space, an unknown space, and partner keys that name built-in spaces", async () => {
    const { apiKey, id } = await setup();
    const wrong = await call(`/api/v1/audiences/${id}/export?id_space=uid2_email&layout=google`, { key: apiKey });
    expect(wrong.status).toBe(400);
    expect((await errorOf(wrong)).message).toContain("layout google takes id_space email_sha256");
    const unknown = await call(`/api/v1/audiences/${id}/export?id_space=nobody`, { key: apiKey });
    expect(unknown.status).toBe(400);
    for (const key of ["email_sha256", "uid2_email"]) {
      const partner = await call("/api/v1/partners", { method: "POST", key: apiKey, json: { key, name: "x" } });
      expect(partner.status).toBe(400);
    }
  });
});

describe("audience reach per ID space", () => {
  it("tells what share each space reaches: all cookies, the synced ones per partner, those with e-mail hashes", async () => {
    const { apiKey, id, siteKey } = await setup();
    const res = await call(`/api/v1/audiences/${id}/reach`, { key: apiKey });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      members: 4,
      spaces: [
        { id_space: "tw", members: 4, share: 1, ids: 4 },
        { id_space: "dsp", members: 1, share: 0.25, ids: 1 },
        { id_space: "email_sha256", members: 3, share: 0.75, ids: 3 },
        { id_space: "uid2_email", members: 2, share: 0.5, ids: 2 },
      ],
    });

    const { email } = await createAdminUser(siteKey, "viewer");
    const page = await call("/admin/audiences", { headers: { Cookie: await sessionCookie(email) } });
    const html = await page.text();
    expect(html).toContain("Reachable per ID space");
    expect(html).toMatch(/hashed e-mail \(Google, Meta\)<\/td><td class="num">3<\/td><td class="num">75 %<\/td>/);
    expect(html).toContain(`/api/v1/audiences/${id}/export?format=csv&amp;id_space=uid2_email&amp;layout=ttd`);
  });
});
