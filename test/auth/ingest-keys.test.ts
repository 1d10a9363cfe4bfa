/**
 * Ingest-only API keys (worker/auth/api-keys.ts, README "API keys"): the key a shop pastes into
 * Segment, RudderStack or Jitsu sends events and nothing else, so a leaked write key no longer
 * hands over the tenant. The walk over every operation is in unauthenticated-walk.test.ts.
 */
import { describe, expect, it } from "vitest";
import { newCookieId } from "../../worker/lib/visitor-cookie";
import { visitorOf } from "../collect/post-events";
import { basicAuth, call, createTestSite, errorOf } from "../fixtures/api";

async function ingestKeyOf(apiKey: string, body: Record<string, unknown> = { scope: "ingest" }) {
  const res = await call("/api/v1/site/keys", { method: "POST", key: apiKey, json: body });
  expect(res.status).toBe(201);
  return (await res.json()) as { api_key: string; scope: string; revoked: number };
}

describe("ingest-only API keys", () => {
  it("are issued by an admin key without revoking it, and send events through /api/v1/events and /v1/*", async () => {
    const { apiKey } = await createTestSite();
    const issued = await ingestKeyOf(apiKey);
    expect(issued).toMatchObject({ scope: "ingest", revoked: 0 });
    expect((await call("/api/v1/site", { key: apiKey })).status).toBe(200);
    const cookie = newCookieId();
    const events = await call("/api/v1/events", {
      method: "POST",
      key: issued.api_key,
      json: { events: [{ type: "page", ts: Date.now(), cookie_id: cookie }] },
    });
    expect(events.status).toBe(204);
    const track = await call("/v1/page", {
      method: "POST",
      headers: { Authorization: basicAuth(issued.api_key), "Content-Type": "application/json" },
      body: JSON.stringify({ type: "page", anonymousId: cookie, messageId: "ingest-1" }),
    });
    expect(track.status).toBe(200);
    expect(await visitorOf(cookie)).toMatchObject({ pageviews: 2 });
  });

  it("cannot mint keys, read the site, export audiences or change anything: 403 with the error shape", async () => {
    const { apiKey } = await createTestSite();
    const { api_key: ingest } = await ingestKeyOf(apiKey);
    for (const [method, path] of [
      ["POST", "/api/v1/site/keys"],
      ["GET", "/api/v1/site"],
      ["GET", "/api/v1/audiences/1/export"],
      ["DELETE", "/api/v1/visitors/00000000000000000000000000000000"],
    ] as const) {
      const res = await call(path, { method, key: ingest, ...(method === "POST" ? { json: {} } : {}) });
      expect([path, res.status]).toEqual([path, 403]);
      expect((await errorOf(res)).code).toBe("ingest_key");
    }
  });

  it("revoke_others revokes only the keys of the new key's scope, and the last admin key cannot be revoked", async () => {
    const { apiKey } = await createTestSite();
    const first = await ingestKeyOf(apiKey);
    const second = await ingestKeyOf(apiKey, { scope: "ingest", revoke_others: true });
    expect(second.revoked).toBe(1);
    expect((await call("/api/v1/site", { key: apiKey })).status).toBe(200);
    const refused = await call("/api/v1/events", {
      method: "POST",
      key: first.api_key,
      json: { events: [{ type: "page", ts: Date.now(), cookie_id: newCookieId() }] },
    });
    expect(refused.status).toBe(401);
    const list = (await (await call("/api/v1/site/keys", { key: apiKey })).json()) as {
      keys: { id: number; scope: string; revoked_at: number | null }[];
    };
    const admin = list.keys.find((k) => k.scope === "admin");
    const last = await call(`/api/v1/site/keys/${admin?.id}`, { method: "DELETE", key: apiKey });
    expect(last.status).toBe(409);
  });
});
