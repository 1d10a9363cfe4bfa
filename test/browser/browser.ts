/** Shared helpers for the browser tests: Chromium through playwright-core, screenshots, local D1 reads. */
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { inject } from "vitest";
import { ROOT } from "../../scripts/local-worker";
import { CHROMIUM } from "./global-setup";

export const SCREENSHOTS = join(ROOT, "test-results", "screenshots");

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
export function queryD1<T = Record<string, unknown>>(sql: string): T[] {
  const result = spawnSync(
    join(ROOT, "node_modules", ".bin", "wrangler"),
    ["d1", "execute", "DB", "--local", "--persist-to", inject("persistTo"), "--json", "--command", sql],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, CI: "true" } },
  );
  if (result.status !== 0) throw new Error(`d1 execute failed: ${result.stderr || result.stdout}`);
  const parsed = JSON.parse(result.stdout) as { results: T[] }[];
  return parsed[0]?.results ?? [];
}

export const browserAvailable = () => inject("browserAvailable");
