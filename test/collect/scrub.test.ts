/**
 * What rejected_events keeps of a refused input (worker/collect/scrub.ts): no personal data in any
 * column, a capped size, and nothing left after the subject's erasure (worker/privacy/erasure.ts).
 * Batches go through `POST /e` exactly as a browser sends them.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { customerRef, MAX_PAYLOAD_CHARS, scrubPayload } from "../../worker/collect/scrub";
import { call, createTestSite, importCsv, siteIdOf } from "../fixtures/api";
import { randomCookie } from "../fixtures/banner";
import { countRows, event, postEvents, SHOP, signedIdentify } from "./post-events";

const EMAIL = "anna.schmidt@example.com";
const PHONE = "+49 170 1234567";
const NAME = "Anna Schmidt";

/** A rejected identify: the tag's props plus personal fields a careless shop added. */
const identifyWithPersonalData = (customer: string) =>
  event("identify", { customer, email: EMAIL, phone: PHONE, name: NAME, first_name: "Anna" });

async function rejectedRows(siteId: number) {
  const rows = await env.DB.prepare("select * from rejected_events where site_id = ? order by id")
    .bind(siteId)
    .all<Record<string, unknown>>();
  return rows.results;
}

async function siteWithCustomer(customer: string) {
  const { siteKey, apiKey } = await createTestSite({ allowed_origins: [SHOP] });
  const imported = await importCsv(apiKey, `customer_id,email\n${customer},${EMAIL}`);
  expect(imported.status).toBe(200);
  return { siteKey, apiKey, siteId: await siteIdOf(siteKey) };
}

describe("scrubbing rejected payloads", () => {
  it("stores a rejected identify with email, phone and name props without them, naming the customer only by hash", async () => {
    const { siteKey, siteId } = await siteWithCustomer("C-1");
    const res = await postEvents(
      { site: siteKey, events: [identifyWithPersonalData("C-1")] },
      { cookie: randomCookie() },
    );
    expect(res.status).toBe(202);
    const rows = await rejectedRows(siteId);
    expect(rows).toHaveLength(1);
    const everything = JSON.stringify(rows);
    for (const personal of [EMAIL, "anna.schmidt", PHONE, "1234567", NAME, "Schmidt", "C-1"]) {
      expect(everything).not.toContain(personal);
    }
    // The shape stays readable: which fields were sent, and that they were removed.
    expect(JSON.parse(String(rows[0].payload))).toMatchObject({
      type: "identify",
      props: { customer: "[id]", email: "[removed]", phone: "[removed]", name: "[removed]", first_name: "[removed]" },
    });
    expect(rows[0].reason).toMatch(/^event 0: /);
    expect(rows[0].customer_ref).toBe(await customerRef(siteId, "C-1"));
  });

  it("removes an e-mail address under any field name and keeps only the shape of a body that is not JSON", async () => {
    const { siteKey, siteId } = await siteWithCustomer("C-2");
    const custom = event("event", { note: `mail ${EMAIL}`, nested: { deep: [EMAIL] } }, { name: "contact" });
    // An unknown top-level key makes the custom event invalid; its props would otherwise be stored.
    expect((await postEvents({ site: siteKey, events: [{ ...custom, extra: EMAIL }] })).status).toBe(202);
    // A body that is not JSON names no site; /e keeps its shape only (checked on the function:
    // its row belongs to no site, and site 0's bound is shared with every other test's bad bodies).
    const unparsed = await scrubPayload(`{"site": "${siteKey}", "events": [{"email": "${EMAIL}"`, null);
    expect(JSON.parse(String(unparsed.payload))).toMatchObject({
      unparsed_body_shape: expect.stringContaining('{"xxxx": '),
    });
    expect(unparsed.payload).not.toContain("anna");
    const all = await env.DB.prepare("select * from rejected_events").all();
    const everything = JSON.stringify(all.results);
    expect(everything).not.toContain(EMAIL);
    expect(everything).not.toContain("anna");
    // The custom event's own name is not a person's: it is kept.
    expect(everything).toContain("contact");
    expect(await countRows("rejected_events", "site_id = ?", siteId)).toBe(1);
  });

  it("keeps the name of a thing — Segment's context.library.name, a product's — and removes a person's", async () => {
    const message = {
      type: "track",
      event: "Order Completed",
      context: {
        library: { name: "analytics-node", version: "2.1.0" },
        os: { name: "iOS" },
        traits: { name: NAME, email: EMAIL },
      },
      properties: { products: [{ name: "Chronograph", price: 240 }], name: NAME },
    };
    const { payload } = await scrubPayload(message, null);
    const kept = JSON.parse(payload as string);
    expect(kept.context.library).toEqual({ name: "analytics-node", version: "2.1.0" });
    expect(kept.context.os).toEqual({ name: "iOS" });
    expect(kept.properties.products).toEqual([{ name: "Chronograph", price: 240 }]);
    expect(kept.context.traits).toEqual({ name: "[removed]", email: "[removed]" });
    expect(kept.properties.name).toBe("[removed]");
    // A thing's name that looks like an e-mail address is still removed.
    const sneaky = JSON.parse((await scrubPayload({ library: { name: EMAIL } }, null)).payload as string);
    expect(sneaky.library.name).toBe("[removed]");
  });

  it("caps a rejected payload at 2,000 characters however large the event", async () => {
    const { siteKey, siteId } = await siteWithCustomer("C-3");
    const props = Object.fromEntries(Array.from({ length: 35 }, (_, i) => [`p${i}`, "v".repeat(300)]));
    const res = await postEvents({ site: siteKey, events: [event("event", props, { name: "big" })] });
    expect(res.status).toBe(202);
    const [row] = await rejectedRows(siteId);
    expect(row.reason).toContain("at most 30 properties");
    expect(String(row.payload).length).toBeLessThanOrEqual(MAX_PAYLOAD_CHARS + 1);
    expect(String(row.payload).length).toBeGreaterThan(MAX_PAYLOAD_CHARS / 2);
  });
});

describe("erasure reaches rejected events", () => {
  it("DELETE /api/v1/customers/:id removes the rows naming that customer and those of its cookies, no one else's", async () => {
    const { siteKey, apiKey, siteId } = await siteWithCustomer("C-4");
    const linked = randomCookie();
    const stranger = randomCookie();
    // A cookie linked to C-4 by a verified identify (the shop's signature), with a rejected event.
    const identify = await signedIdentify(apiKey, "C-4");
    expect((await postEvents({ site: siteKey, events: [identify] }, { cookie: linked })).status).toBe(204);
    expect((await postEvents({ site: siteKey, events: [event("nope")] }, { cookie: linked })).status).toBe(202);
    // A rejected identify naming C-4 sent without a cookie: reached only through customer_ref.
    expect((await postEvents({ site: siteKey, events: [identifyWithPersonalData("C-4")] })).status).toBe(202);
    // Someone else's rejection stays.
    expect((await postEvents({ site: siteKey, events: [event("nope")] }, { cookie: stranger })).status).toBe(202);
    expect(await countRows("rejected_events", "site_id = ?", siteId)).toBe(3);

    const res = await call("/api/v1/customers/C-4", { method: "DELETE", key: apiKey });
    expect(res.status).toBe(204);
    const left = await rejectedRows(siteId);
    expect(left).toHaveLength(1);
    expect(left[0].cookie_id).toBe(stranger);
  });

  it("DELETE /api/v1/visitors/:cid removes that cookie's rows, also when every event it sent was refused", async () => {
    const { siteKey, apiKey, siteId } = await siteWithCustomer("C-5");
    const visitor = randomCookie();
    const refusedOnly = randomCookie();
    const other = randomCookie();
    const batch = (cookie: string, events: unknown[]) => postEvents({ site: siteKey, events }, { cookie });
    expect((await batch(visitor, [event("page"), identifyWithPersonalData("C-5")])).status).toBe(202);
    expect((await batch(refusedOnly, [event("nope")])).status).toBe(202);
    expect((await batch(other, [event("nope")])).status).toBe(202);

    for (const cookie of [visitor, refusedOnly]) {
      const res = await call(`/api/v1/visitors/${cookie}`, { method: "DELETE", key: apiKey });
      expect(res.status).toBe(204);
      expect(await countRows("rejected_events", "site_id = ? and cookie_id = ?", siteId, cookie)).toBe(0);
    }
    expect(await countRows("rejected_events", "site_id = ? and cookie_id = ?", siteId, other)).toBe(1);
  });
});
