/**
 * Hostile properties for the endpoints issue 13 (items 6–9) changed: every PATCH of the API,
 * the admin login, and Idempotency-Key reuse on redemption. Each answers a clear 4xx or a success,
 * never a 5xx, and a refused request changes nothing.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { countRows } from "../collect/post-events";
import { BASE, call, createTestSite, expectClear } from "../fixtures/api";
import { bannerSite, fetchWorker } from "../fixtures/banner";
import { apiOf, comparable, FIXTURES, type Json } from "../fixtures/patchable";
import { hostileObject, hostileString, nestedObject, shortHostileString } from "./arbitraries";

const RUNS = 20;

describe("PATCH with hostile bodies", () => {
  for (const [path, fixture] of Object.entries(FIXTURES)) {
    it(`PATCH ${path} answers a clear 4xx or 200, never a 5xx, and a refused PATCH changes nothing`, async () => {
      const { apiKey } = await createTestSite();
      const made = await fixture.create(apiOf(apiKey));
      const fields = Object.keys(made.changes);
      let state: Json = comparable(await made.read());
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            hostileObject(fields).map((o) => JSON.stringify(o)),
            shortHostileString,
            fc.constant(nestedObject(5_000)),
            fc.constant("null"),
            fc.constant("[]"),
          ),
          async (body) => {
            const res = await call(made.path, {
              method: "PATCH",
              key: apiKey,
              body,
              headers: { "Content-Type": "application/json" },
            });
            await expectClear(res);
            const after = comparable(await made.read());
            if (res.status !== 200) expect(after).toEqual(state);
            state = after;
          },
        ),
        { numRuns: RUNS },
      );
    }, 120_000);
  }
});

describe("admin login with hostile input", () => {
  it("answers 401 or 429 to any e-mail and password, never a 5xx, and sets no cookie", async () => {
    await fc.assert(
      fc.asyncProperty(hostileString, shortHostileString, fc.ipV4(), async (email, password, ip) => {
        const res = await call("/admin/login", {
          method: "POST",
          headers: { Origin: BASE, "Content-Type": "application/x-www-form-urlencoded", "CF-Connecting-IP": ip },
          body: new URLSearchParams({ email, password }).toString(),
          redirect: "manual",
        });
        expect([401, 429]).toContain(res.status);
        expect(res.headers.get("Set-Cookie")).toBeNull();
        await res.text();
      }),
      { numRuns: RUNS },
    );
  });
});

describe("Idempotency-Key reuse with hostile bodies", () => {
  it("replays the first answer only for the same body; any other body answers 422 or 400 and redeems nothing", async () => {
    const site = await bannerSite();
    const pool = await site.pool();
    await site.codes(pool, ["REUSE-1"]);
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 40 }).map((k) => k.replace(/[^\x21-\x7e]/g, "k")),
        hostileObject(["code", "order"]),
        async (key, other) => {
          const headers = { Authorization: `Bearer ${site.apiKey}`, "Content-Type": "application/json" };
          const first = { code: "NO-SUCH-CODE", order: "O-1" };
          const send = (body: unknown) =>
            fetchWorker("/api/v1/coupons/redeem", {
              method: "POST",
              headers: { ...headers, "Idempotency-Key": `hostile-${key}` },
              body: JSON.stringify(body),
            });
          const a = await send(first);
          const b = await send(other);
          await expectClear(b);
          const same = JSON.stringify(other) === JSON.stringify(first);
          if (same) expect(b.status).toBe(a.status);
          else expect([400, 404, 422]).toContain(b.status);
          await a.text();
        },
      ),
      { numRuns: RUNS },
    );
    expect(await countRows("coupons", "pool_id = ? and redeemed_at is not null", pool)).toBe(0);
  });
});
