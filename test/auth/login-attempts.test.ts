/**
 * Issue 13 item 8: the admin login tells a prober nothing — known and unknown e-mails answer
 * alike (status, body, lock) — counts guesses atomically, and locks per (e-mail, IP) only; creating
 * a user never reveals another site's users.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  ACCOUNT_FREE_ATTEMPTS,
  attemptKey,
  clientNetwork,
  FREE_ATTEMPTS,
  NETWORK_FREE_ATTEMPTS,
} from "../../worker/auth/login-attempts";
import { createAdminUser, PASSWORD, sessionCookie } from "../fixtures/admin";
import { BASE, call, createTestSite, errorOf } from "../fixtures/api";

function loginFrom(ip: string, email: string, password: string) {
  return call("/admin/login", {
    method: "POST",
    headers: { Origin: BASE, "Content-Type": "application/x-www-form-urlencoded", "CF-Connecting-IP": ip },
    body: new URLSearchParams({ email, password }).toString(),
    redirect: "manual",
  });
}

/** Status, Retry-After and body with the e-mail (echoed into the form) taken out. */
async function answerOf(res: Response, email: string) {
  return {
    status: res.status,
    retryAfter: res.headers.get("Retry-After"),
    cookie: res.headers.get("Set-Cookie"),
    body: (await res.text()).replaceAll(email, "EMAIL"),
  };
}

describe("login answers", () => {
  it("answers a known and an unknown e-mail identically, through the lock as well", async () => {
    const { siteKey } = await createTestSite();
    const known = (await createAdminUser(siteKey, "admin")).email;
    const unknown = `nobody-${crypto.randomUUID().slice(0, 8)}@example.test`;
    for (let i = 0; i < FREE_ATTEMPTS + 1; i++) {
      const a = await answerOf(await loginFrom("198.51.100.1", known, `wrong-${i}`), known);
      const b = await answerOf(await loginFrom("198.51.100.1", unknown, `wrong-${i}`), unknown);
      expect(a, `attempt ${i + 1}`).toEqual(b);
      expect(a.status).toBe(i < FREE_ATTEMPTS - 1 ? 401 : 429);
    }
  });

  it(`40 parallel wrong guesses get at most ${FREE_ATTEMPTS} password checks`, async () => {
    const { siteKey } = await createTestSite();
    const { email } = await createAdminUser(siteKey, "admin");
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) => loginFrom("198.51.100.2", email, `guess-${i}`)),
    );
    const statuses = responses.map((r) => r.status);
    // Each check that failed below the threshold answers 401; everything else was refused locked.
    expect(statuses.filter((s) => s === 401)).toHaveLength(FREE_ATTEMPTS - 1);
    expect(statuses.filter((s) => s === 429)).toHaveLength(40 - (FREE_ATTEMPTS - 1));
    const key = await attemptKey(env.SESSION_SECRET, email, "198.51.100.2");
    const row = await env.DB.prepare("select attempts from login_attempts where key = ?").bind(key).first();
    expect(row).toEqual({ attempts: FREE_ATTEMPTS });
  });

  it("a stranger's failures from another IP do not lock the owner out", async () => {
    const { siteKey } = await createTestSite();
    const { email } = await createAdminUser(siteKey, "admin");
    for (let i = 0; i < FREE_ATTEMPTS + 3; i++) await loginFrom("203.0.113.66", email, `attack-${i}`);
    expect((await loginFrom("203.0.113.66", email, PASSWORD)).status).toBe(429);
    const owner = await loginFrom("192.0.2.10", email, PASSWORD);
    expect(owner.status).toBe(302);
    expect(owner.headers.get("Set-Cookie")).toMatch(/^__Host-tw_admin=/);
  });

  it("counts every address of one IPv6 /64 as one client: rotating addresses gets no fresh guesses", async () => {
    const { siteKey } = await createTestSite();
    const { email } = await createAdminUser(siteKey, "admin");
    const statuses: number[] = [];
    for (let i = 1; i <= FREE_ATTEMPTS + 2; i++) {
      statuses.push((await loginFrom(`2001:db8:7:9:${i.toString(16)}::1`, email, `guess-${i}`)).status);
    }
    expect(statuses.slice(FREE_ATTEMPTS - 1)).toEqual([429, 429, 429]);
    expect((await loginFrom("2001:db8:7:9:ffff::2", email, PASSWORD)).status).toBe(429);
    expect((await loginFrom("2001:db8:7:a::1", email, PASSWORD)).status).toBe(302);
    expect(clientNetwork("2001:0db8:0:0007::1")).toBe("2001:db8:0:7::/64");
    expect(clientNetwork("::ffff:198.51.100.9")).toBe("198.51.100.9");
  });

  it(`bounds one account over many networks (${ACCOUNT_FREE_ATTEMPTS}) and one network over many accounts (${NETWORK_FREE_ATTEMPTS})`, async () => {
    const { siteKey } = await createTestSite();
    const { email } = await createAdminUser(siteKey, "admin");
    // One guess from each of many addresses: a distributed guess at one account.
    for (let i = 0; i < ACCOUNT_FREE_ATTEMPTS; i++) await loginFrom(`203.0.113.${100 + i}`, email, `spread-${i}`);
    expect((await loginFrom("192.0.2.200", email, PASSWORD)).status).toBe(429);
    // One network spraying many e-mails, a few guesses each (below the pair's lock).
    const other = await createAdminUser(siteKey, "viewer");
    const statuses: number[] = [];
    for (let i = 0; i < NETWORK_FREE_ATTEMPTS; i++) {
      statuses.push((await loginFrom("2001:db8:55:1::9", `sprayed-${i}@example.test`, "wrong-password")).status);
    }
    expect(statuses.at(-1)).toBe(429);
    expect((await loginFrom("2001:db8:55:1::10", other.email, PASSWORD)).status).toBe(429);
    expect((await loginFrom("2001:db8:56:1::10", other.email, PASSWORD)).status).toBe(302);
  });

  it("counts only failures against a network: many people logging in from one office stay welcome", async () => {
    const { siteKey } = await createTestSite();
    const { email } = await createAdminUser(siteKey, "viewer");
    const statuses: number[] = [];
    for (let i = 0; i < NETWORK_FREE_ATTEMPTS + 2; i++)
      statuses.push((await loginFrom("192.0.2.77", email, PASSWORD)).status);
    expect(new Set(statuses)).toEqual(new Set([302]));
  });

  it("stores neither the e-mail nor the IP of a failed login", async () => {
    const email = `probe-${crypto.randomUUID().slice(0, 8)}@example.test`;
    await loginFrom("198.51.100.77", email, "whatever-password");
    const rows = await env.DB.prepare("select * from login_attempts").all();
    const text = JSON.stringify(rows.results);
    expect(text).not.toContain(email);
    expect(text).not.toContain("198.51.100.77");
  });
});

describe("creating a user", () => {
  it("an e-mail that is a user of another site is no conflict and reveals nothing; both accounts log in", async () => {
    const a = await createTestSite();
    const b = await createTestSite();
    const { email } = await createAdminUser(a.siteKey, "admin");
    const res = await call("/api/v1/users", {
      method: "POST",
      key: b.apiKey,
      json: { email, password: "b-site-password", role: "marketer" },
    });
    expect(res.status).toBe(201);
    // Each password opens its own site's account.
    const sessionA = await sessionCookie(email, PASSWORD);
    const sessionB = await sessionCookie(email, "b-site-password");
    const keyOf = async (cookie: string) =>
      ((await (await call("/api/v1/site", { headers: { Cookie: cookie } })).json()) as { key: string }).key;
    expect(await keyOf(sessionA)).toBe(a.siteKey);
    expect(await keyOf(sessionB)).toBe(b.siteKey);
  });

  it("the same e-mail twice in one site answers 409 naming only this site", async () => {
    const { siteKey, apiKey } = await createTestSite();
    const { email } = await createAdminUser(siteKey, "viewer");
    const res = await call("/api/v1/users", {
      method: "POST",
      key: apiKey,
      json: { email, password: "another-password", role: "viewer" },
    });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).message).toContain("This site has a user");
  });
});
