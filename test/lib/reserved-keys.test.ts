/**
 * A `__proto__` (or `constructor` / `prototype`) key in event props is a rejected event with its
 * reason, not a property that silently vanishes (issue 13 item 10).
 */
import { describe, expect, it } from "vitest";
import { countRows, event, postEvents, SHOP } from "../collect/post-events";
import { createTestSite } from "../fixtures/api";

describe("reserved keys in events", () => {
  it("rejects an event whose props carry __proto__, constructor or prototype, and keeps the rest of the batch", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const raw = `{"site":"${siteKey}","events":[
      {"type":"event","ts":1,"name":"signup","props":{"__proto__":{"admin":true},"plan":"pro"}},
      {"type":"event","ts":1,"name":"signup","props":{"constructor":"x"}},
      {"type":"view","ts":1,"props":{"sku":"R-1","category":"prototype"}},
      {"type":"event","ts":1,"name":"signup","props":{"plan":"pro"}}
    ]}`;
    const res = await postEvents(null, { raw });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: number; rejected: { index: number; reason: string }[] };
    expect(body.accepted).toBe(1);
    expect(body.rejected).toEqual([
      { index: 0, reason: expect.stringContaining("props.__proto__: reserved key name") },
      { index: 1, reason: expect.stringContaining("props.constructor: reserved key name") },
      { index: 2, reason: expect.stringContaining("props.category: is a reserved name") },
    ]);
    expect(await countRows("rejected_events", "site_key = ? and reason like '%reserved%'", siteKey)).toBe(3);
  });

  it("accepts names that merely contain a reserved word", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const res = await postEvents({
      site: siteKey,
      events: [event("event", { proto: 1, constructor_name: "x", my_prototype: true }, { name: "e" })],
    });
    expect(res.status).toBe(204);
  });
});
