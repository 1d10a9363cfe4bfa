/**
 * Delta exports (`since=CURSOR`): across refreshes where members enter and leave — a new customer,
 * the 28-day list on day 29, a withdrawn consent, an erased customer — every ID space lists the
 * adds and removes since the export that gave the cursor; removals survive later refreshes and the
 * erasure; unknown and expired cursors answer 410.
 */

import { env } from "cloudflare:workers";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { refreshAudience } from "../../worker/audiences/refresh";
import { getAudience } from "../../worker/audiences/store";
import { createDb } from "../../worker/db/client";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { postEvents, SHOP } from "../collect/post-events";
import { call, createTestSite, errorOf, importCsv, siteIdOf } from "../fixtures/api";
import { HOME_PEOPLE } from "../shards/people-fixture";
import { addLink, cookie, sha256Base64, sha256Hex, T0 } from "./helpers";

const db = createDb(env.DB);
const SPACES = ["tw", "email_sha256", "uid2_email", "dsp"] as const;

type Space = (typeof SPACES)[number];
type Ids = Record<Space, string>;

/** Customer n: e-mail cN@example.com, cookie n, DSP ID dsp-n. */
function idsOf(n: number): Ids {
  return {
    tw: cookie(n),
    email_sha256: sha256Hex(`c${n}@example.com`),
    uid2_email: sha256Base64(`c${n}@example.com`),
    dsp: `dsp-${n}`,
  };
}

async function addCustomer(apiKey: string, siteId: number, n: number, firstOrderAt: number) {
  const res = await importCsv(
    apiKey,
    `customer_id,email,first_order_at\nC-${n},C${n}@Example.com,${new Date(firstOrderAt).toISOString()}\n`,
  );
  expect(await res.json()).toMatchObject({ accepted: 1 });
  await importCsv(apiKey, `cookie_id,customer_id\n${cookie(n)},C-${n}\n`, "/api/v1/import/links");
  await addLink(siteId, "dsp", `dsp-${n}`, cookie(n));
}

async function exportOf(apiKey: string, audienceId: number, space: Space, since?: string) {
  const query = new URLSearchParams({ format: "csv", id_space: space, layout: "id" });
  if (since !== undefined) query.set("since", since);
  const res = await call(`/api/v1/audiences/${audienceId}/export?${query}`, { key: apiKey });
  return res;
}

async function fullExport(apiKey: string, audienceId: number, space: Space) {
  const res = await exportOf(apiKey, audienceId, space);
  expect(res.status).toBe(200);
  const cursor = res.headers.get("x-tagwerk-cursor");
  expect(cursor).toBeTruthy();
  const ids = (parse(await res.text(), { columns: true }) as { id: string }[]).map((r) => r.id).sort();
  return { ids, cursor: cursor as string };
}

async function delta(apiKey: string, audienceId: number, space: Space, since: string) {
  const res = await exportOf(apiKey, audienceId, space, since);
  expect(res.status).toBe(200);
  const rows = parse(await res.text(), { columns: true }) as { op: string; id: string }[];
  return { rows, cursor: res.headers.get("x-tagwerk-cursor") as string };
}

async function setup() {
  // Customers imported without `ads_consent` reach the e-mail spaces only under this site default.
  const { siteKey, apiKey } = await createTestSite({ allowed_origins: [SHOP], crm_ads_consent_default: true });
  const siteId = await siteIdOf(siteKey);
  expect(
    (await call("/api/v1/partners", { method: "POST", key: apiKey, json: { key: "dsp", name: "DSP" } })).status,
  ).toBe(201);
  const res = await call("/api/v1/audiences", {
    method: "POST",
    key: apiKey,
    json: { name: "New customers, last 4 weeks", kind: "new_customers", params: { days: 28 } },
  });
  const { id } = (await res.json()) as { id: number };
  const refresh = async (now: number) => refreshAudience(db, HOME_PEOPLE, await getAudience(db, siteId, id), now);
  return { siteKey, siteId, apiKey, id, refresh };
}

describe("delta exports", () => {
  it("lists adds and removes since the cursor in every ID space: new customer, day 29, withdrawn consent, erasure", async () => {
    const { siteKey, siteId, apiKey, id, refresh } = await setup();
    await addCustomer(apiKey, siteId, 1, T0 - 2 * DAY);
    await addCustomer(apiKey, siteId, 2, T0 - 2 * DAY);
    // Customer 3's first order is 27 days before T0: in the list at T0, out of it on day 29.
    await addCustomer(apiKey, siteId, 3, T0 - 27 * DAY);
    await refresh(T0);

    const cursors = {} as Record<Space, string>;
    for (const space of SPACES) {
      const full = await fullExport(apiKey, id, space);
      expect(full.ids).toEqual([1, 2, 3].map((n) => idsOf(n)[space]).sort());
      cursors[space] = full.cursor;
      // Nothing changed since: the delta is empty and hands back a cursor.
      expect((await delta(apiKey, id, space, full.cursor)).rows).toEqual([]);
    }

    // Exactly 28 days after customer 3's first order it is still in the list: nothing changed.
    await refresh(T0 + DAY);
    expect((await delta(apiKey, id, "tw", cursors.tw)).rows).toEqual([]);

    // Customer 1 is erased; customer 2 withdraws consent; customer 4 arrives; day 29 for customer 3.
    expect((await call("/api/v1/customers/C-1", { method: "DELETE", key: apiKey })).status).toBe(204);
    const withdrawn = await postEvents(
      { site: siteKey, events: [{ type: "consent", ts: T0, props: { granted: false } }] },
      { cookie: cookie(2) },
    );
    expect(withdrawn.status).toBe(204);
    await addCustomer(apiKey, siteId, 4, T0 + DAY);
    // days_since_first_order counts whole UTC days: 29 for customer 3 here.
    await refresh(T0 + 2 * DAY);

    for (const space of SPACES) {
      const { rows } = await delta(apiKey, id, space, cursors[space]);
      const [c1, c2, c3, c4] = [1, 2, 3, 4].map((n) => idsOf(n)[space]);
      // The erasure's removal was logged when it happened, before the refresh's changes.
      expect(rows[0]).toEqual({ op: "remove", id: c1 });
      expect(rows.slice(1)).toEqual(
        expect.arrayContaining([
          { op: "add", id: c4 },
          { op: "remove", id: c2 },
          { op: "remove", id: c3 },
        ]),
      );
      expect(rows).toHaveLength(4);
      expect((await fullExport(apiKey, id, space)).ids).toEqual([c4]);
    }

    // Removals survive later refreshes; the erased customer's IDs remain only as one removal each.
    await refresh(T0 + 3 * DAY);
    for (const space of SPACES) {
      const { rows } = await delta(apiKey, id, space, cursors[space]);
      expect(rows.filter((r) => r.op === "remove")).toHaveLength(3);
    }
    for (const value of Object.values(idsOf(1))) {
      const { results } = await env.DB.prepare("select op from audience_changes where value = ?").bind(value).all();
      expect(results).toEqual([{ op: "remove" }]);
    }
  });

  it("chains cursors: each delta's cursor yields only what changed after it", async () => {
    const { siteId, apiKey, id, refresh } = await setup();
    await addCustomer(apiKey, siteId, 1, T0 - DAY);
    await refresh(T0);
    const first = await fullExport(apiKey, id, "tw");
    await addCustomer(apiKey, siteId, 2, T0);
    await refresh(T0 + 1000);
    const second = await delta(apiKey, id, "tw", first.cursor);
    expect(second.rows).toEqual([{ op: "add", id: cookie(2) }]);
    await addCustomer(apiKey, siteId, 3, T0);
    await refresh(T0 + 2000);
    expect((await delta(apiKey, id, "tw", second.cursor)).rows).toEqual([{ op: "add", id: cookie(3) }]);
  });

  it("answers 410 asking for a full export for a cursor of another space or audience, a forged one, and an expired one", async () => {
    const { siteId, apiKey, id, refresh } = await setup();
    await addCustomer(apiKey, siteId, 1, T0 - DAY);
    await refresh(T0);
    const tw = await fullExport(apiKey, id, "tw");

    for (const since of ["garbage", tw.cursor.replace(/^\d+/, "999"), `${tw.cursor}0`]) {
      const res = await exportOf(apiKey, id, "tw", since);
      expect(res.status).toBe(410);
      expect(await errorOf(res)).toMatchObject({ code: "cursor_unknown" });
    }
    const otherSpace = await exportOf(apiKey, id, "email_sha256", tw.cursor);
    expect(otherSpace.status).toBe(410);
    expect((await errorOf(otherSpace)).message).toContain("full export");

    const other = await call("/api/v1/audiences", {
      method: "POST",
      key: apiKey,
      json: { name: "Other", kind: "new_customers", params: {} },
    });
    const otherId = ((await other.json()) as { id: number }).id;
    expect((await exportOf(apiKey, otherId, "tw", tw.cursor)).status).toBe(410);

    // Customer 1 leaves on day 29; a month later the log rows are purged and the old cursor has expired.
    await refresh(T0 + 29 * DAY);
    await refresh(T0 + 29 * DAY + 31 * DAY);
    const expired = await exportOf(apiKey, id, "tw", tw.cursor);
    expect(expired.status).toBe(410);
    expect(await errorOf(expired)).toMatchObject({ code: "cursor_expired" });
    // A fresh full export starts a new chain that works.
    const fresh = await fullExport(apiKey, id, "tw");
    expect(fresh.ids).toEqual([]);
    expect((await delta(apiKey, id, "tw", fresh.cursor)).rows).toEqual([]);
  });
});
