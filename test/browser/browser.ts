/** Shared helpers for the browser tests: Chromium through playwright-core, screenshots, local D1 and R2 reads. */

import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, inject } from "vitest";
import { unstable_readConfig } from "wrangler";
import { ROOT } from "../../scripts/local-worker";
import { type ArchivedEvent, parseNdjson } from "../../worker/archive/archive";
import { CHROMIUM } from "./global-setup";

const SCREENSHOTS = join(ROOT, "test-results", "screenshots");

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-quic",
      "--disable-sync",
    ],
  });
}

export async function screenshot(page: Page, name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * Reads the local D1 that the running `wrangler dev` writes to (SQLite files under persistTo),
 * through `wrangler d1 execute`: the assertions see exactly what the Worker stored.
 */
export function queryD1<T = Record<string, unknown>>(sql: string, binding = "DB"): T[] {
  const result = spawnSync(
    join(ROOT, "node_modules", ".bin", "wrangler"),
    ["d1", "execute", binding, "--local", "--persist-to", inject("persistTo"), "--json", "--command", sql],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, CI: "true" } },
  );
  if (result.status !== 0) throw new Error(`d1 execute failed: ${result.stderr || result.stdout}`);
  const parsed = JSON.parse(result.stdout) as { results: T[] }[];
  return parsed[0]?.results ?? [];
}

/**
 * The raw events the running `wrangler dev` archived for `cookieId` (worker/archive/archive.ts), in
 * the order they were received: read from its local R2 (under persistTo/v3/r2, keyed by the
 * bucket name) by a Miniflare of its own, since wrangler has no local `r2 object list`.
 */
export async function archivedEventsOf(cookieId: string): Promise<ArchivedEvent[]> {
  const mf = new Miniflare({
    modules: true,
    script: "export default {}",
    r2Persist: join(inject("persistTo"), "v3", "r2"),
    r2Buckets: { ARCHIVE: "tagwerk-archive" },
  });
  try {
    const bucket = await mf.getR2Bucket("ARCHIVE");
    const lines: ArchivedEvent[] = [];
    let cursor: string | undefined;
    do {
      const page = await bucket.list({ prefix: "site/", cursor });
      for (const { key } of page.objects) {
        const text = (await (await bucket.get(key))?.text()) ?? "";
        lines.push(...parseNdjson(text).filter((line) => line.cookie_id === cookieId));
      }
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return lines.sort((a, b) => a.received_at - b.received_at || a.ts - b.ts);
  } finally {
    await mf.dispose();
  }
}

export const browserAvailable = () => inject("browserAvailable");

/** The local deployment's operator token (.dev.vars), for `POST /api/v1/sites`. */
export function operatorToken(): string {
  const vars = readFileSync(join(ROOT, ".dev.vars"), "utf8");
  return /^OPERATOR_TOKEN="?([^"\n]+)"?/m.exec(vars)?.[1] ?? "";
}

/**
 * Resolves when the page sends a batch to `endpoint` (the edge's /e unless given) containing
 * `text`. The steps wait for the tag's own one-second flush instead of relying on beacons sent
 * from pagehide during a navigation, which headless Chromium accepts (sendBeacon answers true) but
 * does not deliver here.
 */
export function beaconWith(page: Page, text: string, endpoint = `${inject("edgeUrl")}/e`) {
  return page.waitForRequest((request) => request.url() === endpoint && (request.postData() ?? "").includes(text));
}

/** Every request the page sends to `endpoint` (the edge's /e unless given). */
/**
 * The positive signal before asserting that the tag sent nothing: the tag flushes now (as it does
 * on pagehide, the same flush its one-second timer runs), and a marker request sent right after it
 * from the page is answered. A beacon that flush sent would have been requested before the marker,
 * so a test waits for the marker's answer instead of sleeping past the timer.
 */
export async function flushTagAndSettle(page: Page) {
  const marker = `${inject("edgeUrl")}/healthz?after-flush=${crypto.randomUUID()}`;
  const answered = page.waitForResponse((response) => response.url() === marker);
  await page.evaluate(`dispatchEvent(new Event("pagehide")); fetch(${JSON.stringify(marker)}, { mode: "no-cors" })`);
  await answered;
}

export function watchBeacons(page: Page, endpoint = `${inject("edgeUrl")}/e`) {
  const sent: string[] = [];
  page.on("request", (request) => {
    if (request.url().startsWith(endpoint)) sent.push(request.postData() ?? "");
  });
  return sent;
}

/**
 * Headless Chromium says "HeadlessChrome" in its user agent, which isbot rightly counts as a bot
 * (answered 204, no cookie, nothing stored): the visitor here browses with Chrome's ordinary one.
 */
export async function newVisitor(browser: Browser) {
  const probe = await browser.newPage();
  const userAgent = (await probe.evaluate("navigator.userAgent")) as string;
  await probe.close();
  return browser.newContext({ userAgent: userAgent.replace("HeadlessChrome", "Chrome") });
}

/** Creates a site through the operator API (answers 201) and returns its first API key. */
export async function createSite(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${inject("edgeUrl")}/api/v1/sites`, {
    method: "POST",
    headers: { Authorization: `Bearer ${operatorToken()}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`POST /api/v1/sites answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { api_key: string }).api_key;
}

/** How many clicks the site's D1 holds since `since` (ms): clicks through a token carry no cookie. */
export function clicksSince(siteKey: string, since: number): number | undefined {
  return queryD1<{ n: number }>(
    `select count(*) as n from clicks c join sites s on s.id = c.site_id where s.key = '${siteKey}' and c.ts >= ${since}`,
  )[0]?.n;
}

/** The impressions the demo's report counters hold (docs/architecture.md, "Counters"). */
export function countedImpressions(): number {
  return queryD1<{ n: number }>("select coalesce(sum(impressions), 0) as n from report_counters")[0].n;
}

/**
 * A query of person rows wherever a site keeps them (README.md, "Shards"): HOME and every PEOPLE
 * shard wrangler.toml declares, the answers concatenated. A site created through the operator API
 * lives on a shard; the seeded demo site keeps its people in HOME.
 */
export function queryPeople<T = Record<string, unknown>>(sql: string): T[] {
  const config = unstable_readConfig({ config: join(ROOT, "wrangler.toml") });
  return config.d1_databases.flatMap((d: { binding: string }) => queryD1<T>(sql, d.binding));
}

/**
 * Rows written into the local D1 past the writers need their decision rows, as after a restore:
 * the operator's rebuild call of the running edge (worker/decide/rebuild-routes.ts).
 */
export async function rebuildDecisionRows(siteKey: string): Promise<void> {
  const res = await fetch(`${inject("edgeUrl")}/api/v1/sites/${siteKey}/decision-rows/rebuild`, {
    method: "POST",
    headers: { Authorization: "Bearer dev-operator-token" },
  });
  if (!(await res.text()).includes('"done":true')) throw new Error(`rebuild answered ${res.status}`);
}

/** A 1280×900 page logged in to the admin as the demo admin (scripts/seed/demo.ts). */
export async function adminPage(browser: Browser, options: { clipboard?: boolean } = {}): Promise<Page> {
  const edge = inject("edgeUrl");
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  if (options.clipboard) await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: edge });
  const page = await context.newPage();
  await page.goto(`${edge}/admin/login`);
  await page.getByLabel("E-mail").fill("admin@example.com");
  await page.getByLabel("Password").fill("tagwerk-demo");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(`${edge}/admin`);
  return page;
}

/**
 * The demo admin's Chromium session for a describe block: opened before its tests (adminPage),
 * closed after them, and the page's screenshot when a test fails (test-results/screenshots/
 * failed-*.png, a CI artifact). The fields are set once the block's tests start.
 */
export function adminSession(options: { clipboard?: boolean } = {}): { browser: Browser; page: Page } {
  const session = {} as { browser: Browser; page: Page };
  beforeAll(async () => {
    session.browser = await launchChromium();
    session.page = await adminPage(session.browser, options);
  });
  afterAll(async () => {
    await session.browser?.close();
  });
  beforeEach(({ task, onTestFailed }) => {
    onTestFailed(() => screenshot(session.page, `failed-${task.name.replace(/\W+/g, "-").slice(0, 60)}`));
  });
  return session;
}
