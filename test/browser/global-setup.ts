/**
 * Browser tests run against the real thing: `wrangler dev` (workerd, a migrated and seeded local
 * D1) on a free port and the demo shop on another. Without Chromium the suite is skipped loudly —
 * unless REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
 */
import { existsSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startDemoShop } from "../../demo/server";
import { buildTag, ensureDevVars, prepareLocalDatabase, ROOT, startWorker } from "../../scripts/local-worker";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

declare module "vitest" {
  export interface ProvidedContext {
    browserAvailable: boolean;
    edgeUrl: string;
    shopUrl: string;
    persistTo: string;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export default async function setup(project: TestProject) {
  if (!existsSync(CHROMIUM)) {
    if (process.env.REQUIRE_BROWSER === "1") {
      throw new Error(`REQUIRE_BROWSER=1 but no Chromium at ${CHROMIUM}: install Debian's chromium package`);
    }
    console.warn(
      `\n${"!".repeat(78)}\n!! BROWSER TESTS SKIPPED: no Chromium at ${CHROMIUM}.\n` +
        `!! Install it (apt-get install chromium) or set REQUIRE_BROWSER=1 to make this an error.\n${"!".repeat(78)}\n`,
    );
    project.provide("browserAvailable", false);
    project.provide("edgeUrl", "");
    project.provide("shopUrl", "");
    project.provide("persistTo", "");
    return;
  }
  ensureDevVars();
  buildTag();
  const [edgePort, shopPort] = [await freePort(), await freePort()];
  const persistTo = join(ROOT, ".wrangler", `browser-test-${process.pid}`);
  rmSync(persistTo, { recursive: true, force: true });
  const shopUrl = `http://localhost:${shopPort}`;
  await prepareLocalDatabase(persistTo, [shopUrl]);
  const worker = await startWorker({ port: edgePort, persistTo, quiet: true });
  const shop = await startDemoShop(shopPort, { edgeUrl: worker.url, siteKey: "demo" });
  project.provide("browserAvailable", true);
  project.provide("edgeUrl", worker.url);
  project.provide("shopUrl", shop.url);
  project.provide("persistTo", persistTo);
  return async () => {
    await Promise.all([worker.stop(), shop.close()]);
    rmSync(persistTo, { recursive: true, force: true });
  };
}
