import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { countRows, event, SHOP } from "../collect/post-events";
import { call, createTestSite, expectClear } from "../fixtures/api";
import { countArchived } from "../fixtures/archive";
import { bannerSite, fetchWorker, randomCookie } from "../fixtures/banner";
import {
  hostileObject,
  hostileString,
  hostileValue,
  nested,
  nestedObject,
  shortHostileString,
  shortHostileValue,
} from "./arbitraries";

const RUNS = 40;

/** Lone surrogates cannot be percent-encoded; they become U+FFFD, as a browser sends them. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
function enc(value: string): string {
  return encodeURIComponent(value.replace(LONE_SURROGATE, "\uFFFD"));
}

/** Each request from its own address: hundreds of runs (and shrinking) must not hit the rate limit. */
function send(path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set(
    "CF-Connecting-IP",
    `10.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`,
  );
  return fetchWorker(path, { ...init, headers });
}

const postE = (body: string, cookie?: string) =>
  send("/e", {
    method: "POST",
    headers: { "Content-Type": "text/plain", Origin: SHOP, ...(cookie ? { Cookie: `tw_id=${cookie}` } : {}) },
    body,
  });

describe("POST /e with hostile input", () => {
  it("answers a clear 4xx or success to any body text, never a 5xx", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          hostileString,
          hostileValue.map((v) => JSON.stringify(v) ?? "null"),
          hostileObject(["site", "events"]).map((o) => JSON.stringify(o)),
          fc
            .array(hostileObject(["type", "ts", "url", "ref", "props", "name"]), { maxLength: 60 })
            .map((events) => JSON.stringify({ site: siteKey, events })),
        ),
        async (body) => {
          const res = await postE(body);
          await expectClear(res);
          expect([202, 204, 400, 403, 413]).toContain(res.status);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("keeps every valid event of a batch that also carries hostile ones, and nothing of the bad ones", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    const siteId = (await env.DB.prepare("select id from sites where key = ?").bind(siteKey).first<{ id: number }>())!
      .id;
    const goodEvent = fc.oneof(
      fc.constant(event("page")),
      fc
        .record({ sku: hostileString, category: hostileString })
        .map((p) =>
          event("view", { sku: p.sku.slice(0, 60) || "s", category: p.category.slice(0, 60) || "c", price: 1 }),
        ),
      shortHostileString.map((name) => event("event", { note: name.slice(0, 100) }, { name: "custom" })),
    );
    const badEvent = hostileObject(["type", "ts", "props"], shortHostileValue).map((o) => ({
      ...o,
      type: `bad-${JSON.stringify(o.type) ?? ""}`,
    }));
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            goodEvent.map((e) => ({ good: true, e })),
            badEvent.map((e) => ({ good: false, e })),
          ),
          {
            minLength: 1,
            maxLength: 20,
          },
        ),
        async (items) => {
          const cookie = randomCookie();
          const res = await postE(JSON.stringify({ site: siteKey, events: items.map((i) => i.e) }), cookie);
          await expectClear(res);
          const answer =
            res.status === 202 ? ((await res.json()) as { accepted: number; rejected: { index: number }[] }) : null;
          const accepted = answer ? answer.accepted : items.length;
          const rejectedIdx = new Set(answer?.rejected.map((r) => r.index) ?? []);
          // Every bad event is rejected; the stored events are exactly the accepted ones.
          items.forEach((item, index) => {
            if (!item.good) expect(rejectedIdx.has(index), `status ${res.status}`).toBe(true);
          });
          expect(accepted).toBe(items.length - rejectedIdx.size);
          expect(await countArchived(siteId, cookie), `status ${res.status}, answer ${JSON.stringify(answer)}`).toBe(
            accepted,
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("answers 400 to deeply nested JSON (202 rejecting a nested event) and 413 to an oversized body", async () => {
    const { siteKey } = await createTestSite({ allowed_origins: [SHOP] });
    for (const body of [nested(100_000), nestedObject(10_000)]) {
      const res = await postE(body);
      await expectClear(res);
      expect([400, 413]).toContain(res.status);
    }
    const inner = await postE(`{"site":"${siteKey}","events":[${nested(5_000)}, ${JSON.stringify(event("page"))}]}`);
    expect(inner.status).toBe(202);
    expect(((await inner.json()) as { accepted: number; rejected: { index: number }[] }).rejected).toEqual([
      { index: 0, reason: expect.any(String) },
    ]);
    const huge = await postE(JSON.stringify({ site: siteKey, events: [event("page", { x: "y".repeat(2_000_000) })] }));
    expect(huge.status).toBe(413);
  });
});

describe("GET /b, /c and /sync with hostile input", () => {
  it("/b answers 200 (a creative) or a clear 4xx to any placement and query, never a 5xx", async () => {
    const site = await bannerSite();
    const creative = await site.creative("html", "<p>{{coupon}}</p>");
    await site.rule({ creative_id: creative });
    await fc.assert(
      fc.asyncProperty(
        hostileString,
        fc.record(
          {
            site: fc.oneof(fc.constant(site.siteKey), hostileString),
            format: hostileString,
            p: hostileString,
            puid: hostileString,
            t: hostileString,
            click: hostileString,
          },
          { requiredKeys: [] },
        ),
        hostileString,
        async (placement, query, cookie) => {
          const params = new URLSearchParams(
            Object.entries(query).map(([k, v]): [string, string] => [k, v.slice(0, 3_000)]),
          );
          const res = await send(`/b/${enc(placement.slice(0, 200)) || "x"}?${params}`, {
            headers: { Cookie: `tw_id=${enc(cookie.slice(0, 100))}` },
          });
          await expectClear(res);
          expect([200, 400, 404]).toContain(res.status);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("/c never redirects a token it did not sign, and never answers a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          hostileString,
          fc.tuple(fc.base64String(), fc.base64String(), fc.base64String()).map((p) => p.join(".")),
          fc.constant("eyJhbGciOiJub25lIn0.eyJ1cmwiOiJodHRwczovL2V2aWwuZXhhbXBsZSJ9."),
        ),
        async (token) => {
          const raw = await send("/c/%ZZ%E0%A4%A", { redirect: "manual" });
          await expectClear(raw);
          const res = await send(`/c/${enc(token.slice(0, 3_000)) || "x"}`, { redirect: "manual" });
          await expectClear(res);
          expect(res.status).not.toBe(302);
          expect(res.headers.get("Location")).toBeNull();
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("/sync redirects only to the partner's registered sync URL, whatever redirect it is asked for", async () => {
    const { siteKey, apiKey } = await createTestSite();
    const registered = "https://sync.partner.example/match?tw={tw_id}";
    await call("/api/v1/partners", {
      method: "POST",
      key: apiKey,
      json: { key: "net", name: "Net", sync_url: registered },
    });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(hostileString, fc.webUrl(), fc.constant("https://evil.example/"), fc.constant("//evil.example")),
        hostileString,
        async (redirect, puid) => {
          const params = new URLSearchParams({
            site: siteKey,
            p: "net",
            puid: puid.slice(0, 300) || "u",
            redirect: redirect.slice(0, 2_500),
          });
          const res = await send(`/sync?${params}`, { redirect: "manual" });
          await expectClear(res);
          // No generated value equals the registered URL (it holds the literal `{tw_id}`), so none may
          // redirect; test/sync/ shows the registered one does.
          expect(res.headers.get("Location")).toBeNull();
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe("coupon redemption with hostile input", () => {
  it("answers 200/404/409/410 or a clear 400 to any body and Idempotency-Key, never a 5xx, and redeems nothing unknown", async () => {
    const site = await bannerSite();
    const pool = await site.pool();
    await site.codes(pool, ["REAL-CODE-1"]);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          hostileObject(["code", "order"]).map((o) => JSON.stringify(o)),
          hostileString,
        ),
        fc.option(hostileString.map((k) => k.replace(/[^\x20-\x7e]/g, "").slice(0, 300))),
        async (body, key) => {
          const headers: Record<string, string> = {
            Authorization: `Bearer ${site.apiKey}`,
            "Content-Type": "application/json",
          };
          if (key) headers["Idempotency-Key"] = key;
          const res = await send("/api/v1/coupons/redeem", { method: "POST", headers, body });
          await expectClear(res);
          expect([200, 400, 404, 409, 410, 422]).toContain(res.status);
        },
      ),
      { numRuns: RUNS },
    );
    expect(await countRows("coupons", "pool_id = ? and redeemed_at is not null", pool)).toBe(0);
  });
});
