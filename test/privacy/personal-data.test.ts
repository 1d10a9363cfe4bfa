import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newCookieId } from "../../worker/lib/visitor-cookie";
import { shardBindings } from "../../worker/shards/routing";
import { cookieIdOf, event, SHOP } from "../collect/post-events";
import { call } from "../fixtures/api";
import { bannerSite, directEnv } from "../fixtures/banner";

const IPV4 = "203.0.113.77";
const IPV6 = "2001:db8:0:0:0:0:0:77";

async function send(path: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
  const headers = {
    "CF-Connecting-IP": IPV4,
    "X-Forwarded-For": `${IPV6}, ${IPV4}`,
    "X-Real-IP": IPV4,
    ...init.headers,
  };
  return call(path, { ...init, headers, env: directEnv, settle: true });
}

/** Every row of every table of one database, as text. */
async function dump(d1: D1Database): Promise<string> {
  const tables = await d1
    .prepare(
      "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like '_cf_%' and name != 'd1_migrations'",
    )
    .all<{ name: string }>();
  expect(tables.results.length).toBeGreaterThan(10);
  const dumps: string[] = [];
  for (const { name } of tables.results) {
    const rows = await d1.prepare(`select * from "${name}"`).all();
    dumps.push(JSON.stringify(rows.results));
  }
  return dumps.join("\n");
}

/** Every row of every table of HOME and of every PEOPLE shard (docs/architecture.md, "Shards"), as text. */
async function wholeDatabase(): Promise<string> {
  const all = [await dump(env.DB)];
  for (const shard of shardBindings(env)) all.push(await dump(shard));
  return all.join("\n");
}

describe("no IP address is ever stored", () => {
  it("keeps no trace of the client IP in any column after /e, /b, /c, /sync, /optout, imports and redemptions", async () => {
    const site = await bannerSite({ allowed_origins: [SHOP] });
    const creative = await site.creative("html", '<a href="{{click_url}}">{{coupon}}</a>');
    const pool = await site.pool();
    await site.codes(pool, ["IP-CODE-1", "IP-CODE-2"]);
    await site.rule({ creative_id: creative, pool_id: pool });
    await call("/api/v1/partners", { method: "POST", key: site.apiKey, json: { key: "net", name: "Net" } });

    const collected = await send("/e", {
      method: "POST",
      headers: { "Content-Type": "text/plain", Origin: SHOP },
      body: JSON.stringify({
        site: site.siteKey,
        events: [event("page"), event("view", { sku: "S", category: "c" }), { bad: true }],
      }),
    });
    expect(collected.status).toBe(202);
    const cookie = cookieIdOf(collected)!;
    const banner = await send(`/b/slot?site=${site.siteKey}&format=json`, { headers: { Cookie: `tw_id=${cookie}` } });
    const { click_url, coupon } = (await banner.json()) as { click_url: string; coupon: { code: string } };
    expect((await send(new URL(click_url).pathname, { headers: { Cookie: `tw_id=${cookie}` } })).status).toBe(302);
    expect(
      (await send(`/sync?site=${site.siteKey}&p=net&puid=IP-1`, { headers: { Cookie: `tw_id=${cookie}` } })).status,
    ).toBe(200);
    const auth = { Authorization: `Bearer ${site.apiKey}` };
    expect(
      (
        await send("/api/v1/import/customers", {
          method: "POST",
          headers: { ...auth, "Content-Type": "text/csv" },
          body: "customer_id,email\nIP-C,ip@example.com",
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await send("/api/v1/coupons/redeem", {
          method: "POST",
          headers: { ...auth, "Content-Type": "application/json", "Idempotency-Key": "ip-key" },
          body: JSON.stringify({ code: coupon.code, order: "O-IP" }),
        })
      ).status,
    ).toBe(200);
    expect(
      (await send(`/e`, { method: "POST", headers: { "Content-Type": "text/plain" }, body: "{not json" })).status,
    ).toBe(400);
    expect((await send(`/optout?site=${site.siteKey}`, { headers: { Cookie: `tw_id=${cookie}` } })).status).toBe(200);

    const everything = await wholeDatabase();
    expect(everything).toContain(site.siteKey);
    expect(everything).not.toContain(IPV4);
    expect(everything).not.toContain("2001:db8");
    expect(everything).not.toContain("203.0.113");
  });
});

describe("e-mail addresses are only stored hashed", () => {
  it("keeps the SHA-256 of the lower-cased address and never the address itself", async () => {
    const site = await bannerSite();
    const res = await call("/api/v1/import/customers", {
      method: "POST",
      key: site.apiKey,
      headers: { "Content-Type": "text/csv" },
      body: "customer_id,email\nH-1, Hidden.Person@Example.COM ",
    });
    expect(res.status).toBe(200);
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode("hidden.person@example.com"));
    const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
    const everything = (await wholeDatabase()).toLowerCase();
    expect(everything).toContain(hex);
    expect(everything).not.toContain("hidden.person");
  });
});

describe("cookie IDs are unguessable", () => {
  it("are 128 random bits: distinct, and every bit position set about half the time", () => {
    const samples = 4_000;
    const ids = Array.from({ length: samples }, () => newCookieId());
    expect(ids.every((id) => /^[0-9a-f]{32}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(samples);
    const ones = new Array<number>(128).fill(0);
    let total = 0;
    for (const id of ids) {
      for (let bit = 0; bit < 128; bit++) {
        const nibble = Number.parseInt(id[bit >> 2], 16);
        if ((nibble >> (3 - (bit & 3))) & 1) {
          ones[bit]++;
          total++;
        }
      }
    }
    // Per position: mean 2,000, sigma ≈ 31.6; 0.4..0.6 is over 6 sigma. Overall: sigma ≈ 358.
    for (const count of ones) {
      expect(count / samples).toBeGreaterThan(0.4);
      expect(count / samples).toBeLessThan(0.6);
    }
    expect(Math.abs(total - samples * 64)).toBeLessThan(6 * 358);
  });

  it("are handed out by /e from the same generator (fresh for every new browser)", async () => {
    const site = await bannerSite({ allowed_origins: [SHOP] });
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const res = await send("/e", {
        method: "POST",
        headers: { "Content-Type": "text/plain", Origin: SHOP, "CF-Connecting-IP": `198.51.100.${i}` },
        body: JSON.stringify({ site: site.siteKey, events: [event("page")] }),
      });
      const id = cookieIdOf(res);
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      seen.add(id!);
    }
    expect(seen.size).toBe(20);
  });
});
