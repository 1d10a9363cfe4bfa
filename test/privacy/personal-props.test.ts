/**
 * Personal data in event props is refused per event, with its reason, and the rejected row keeps
 * it scrubbed (worker/privacy/personal-data.ts, README "Personal data"), on /e, /api/v1/events and
 * Segment's /v1/track alike.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newCookieId } from "../../worker/lib/visitor-cookie";
import { personalDataRefusal } from "../../worker/privacy/personal-data";
import { event, postEvents, SHOP } from "../collect/post-events";
import { basicAuth, call, createTestSite, siteIdOf } from "../fixtures/api";

const EMAIL = "anna.schmidt@example.com";
const PHONE = "+49 171 2345678";

async function stored(siteId: number) {
  const events = await env.DB.prepare("select * from events where site_id = ?").bind(siteId).all();
  const rejected = await env.DB.prepare("select reason, payload from rejected_events where site_id = ? order by id")
    .bind(siteId)
    .all<{ reason: string; payload: string | null }>();
  return { events: JSON.stringify(events.results), rejected: rejected.results };
}

const personal = [
  event("event", { email: "x" }, { name: "newsletter" }),
  event("event", { note: EMAIL }, { name: "contact" }),
  event("event", { callback: PHONE }, { name: "contact" }),
  event("event", { "First Name": "Anna" }, { name: "signup" }),
  event("view", { sku: "R-1", name: EMAIL }),
];
const harmless = event("event", { plan: "gold", order_ref: "0012345678", size: 7 }, { name: "signup" });

function expectRefusedAndScrubbed(result: Awaited<ReturnType<typeof stored>>, reasonPrefix = "event") {
  expect(result.rejected).toHaveLength(personal.length);
  for (const row of result.rejected) {
    expect(row.reason).toMatch(new RegExp(`^${reasonPrefix} \\d: props\\.[^:]+: personal data`));
    expect(row.payload ?? "").not.toContain(EMAIL);
    expect(row.payload ?? "").not.toContain(PHONE);
    expect(row.payload ?? "").not.toContain("Anna");
  }
  expect(result.events).not.toContain(EMAIL);
  expect(result.events).not.toContain(PHONE);
}

describe("personal data in event props", () => {
  it("names the field it found", () => {
    expect(personalDataRefusal(personal[0] as never)).toMatch(/^props\.email: personal data/);
    expect(personalDataRefusal(personal[3] as never)).toMatch(/^props\.First Name: /);
    expect(personalDataRefusal(harmless as never)).toBeNull();
  });

  it("is refused on /e, the rest of the batch is taken", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const siteId = await siteIdOf(siteKey);
    const res = await postEvents({ site: siteKey, events: [...personal, harmless] });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: number; rejected: { index: number }[] };
    expect(body.accepted).toBe(1);
    expect(body.rejected.map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
    await expect.poll(async () => (await stored(siteId)).rejected.length).toBe(personal.length);
    expectRefusedAndScrubbed(await stored(siteId));
  });

  it("is refused on POST /api/v1/events and Segment's /v1/track", async () => {
    const { siteKey, apiKey } = await createTestSite();
    const siteId = await siteIdOf(siteKey);
    const cookie = newCookieId();
    const res = await call("/api/v1/events", {
      method: "POST",
      key: apiKey,
      json: { events: [...personal, harmless].map((e) => ({ ...e, cookie_id: cookie })) },
    });
    expect(res.status).toBe(202);
    expect(((await res.json()) as { accepted: number }).accepted).toBe(1);
    expectRefusedAndScrubbed(await stored(siteId));

    const other = await createTestSite();
    const otherId = await siteIdOf(other.siteKey);
    for (const properties of [
      { email: "x" },
      { note: EMAIL },
      { callback: PHONE },
      { first_name: "Anna" },
      { sku: "R", name: EMAIL },
    ]) {
      await call("/v1/track", {
        method: "POST",
        headers: { Authorization: basicAuth(other.apiKey), "Content-Type": "application/json" },
        body: JSON.stringify({ type: "track", event: "Contact Form", anonymousId: cookie, properties }),
      });
    }
    expectRefusedAndScrubbed(await stored(otherId));
  });
});
