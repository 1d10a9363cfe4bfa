/**
 * Browser tests run against the real thing: `wrangler dev` (workerd, a migrated and seeded local
 * D1, BASE_PATH=/_tw as in `npm run dev`) on a free port, the demo shop on another loading the tag
 * from the edge's own origin, and the demo shop as `npm run dev` serves it (tagwerk proxied under
 * its own /_tw) on a third. Without Chromium the suite is skipped loudly —
 * unless REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
 */
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startDemoShop } from "../../demo/server";
import { DEMO_BASE_PATH } from "../../demo/shop";
import { buildTag, ensureDevVars, freePort, prepareLocalDatabase, ROOT, startWorker } from "../../scripts/local-worker";

export { freePort };

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

declare module "vitest" {
  export interface ProvidedContext {
    browserAvailable: boolean;
    edgeUrl: string;
    shopUrl: string;
    /** The demo shop as `npm run dev` serves it: tagwerk proxied under its own /_tw. */
    sameOriginShopUrl: string;
    persistTo: string;
  }
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
    project.provide("sameOriginShopUrl", "");
    project.provide("persistTo", "");
    return;
  }
  ensureDevVars();
  buildTag();
  const [edgePort, shopPort, sameOriginPort] = [await freePort(), await freePort(), await freePort()];
  const persistTo = join(ROOT, ".wrangler", `browser-test-${process.pid}`);
  rmSync(persistTo, { recursive: true, force: true });
  const shopUrl = `http://localhost:${shopPort}`;
  // Another host than the edge's (localhost), so its cookies are its own: 127.0.0.1.
  const sameOriginShopUrl = `http://127.0.0.1:${sameOriginPort}`;
  await prepareLocalDatabase(persistTo, [shopUrl, sameOriginShopUrl]);
  const worker = await startWorker({
    port: edgePort,
    inspectorPort: await freePort(),
    persistTo,
    quiet: true,
    testScheduled: true,
    vars: { BASE_PATH: DEMO_BASE_PATH },
  });
  const shop = await startDemoShop(shopPort, { edgeUrl: worker.url, siteKey: "demo" });
  const sameOriginShop = await startDemoShop(sameOriginPort, {
    edgeUrl: `${sameOriginShopUrl}${DEMO_BASE_PATH}`,
    siteKey: "demo",
    proxyTo: worker.url,
  });
  project.provide("browserAvailable", true);
  project.provide("edgeUrl", worker.url);
  project.provide("shopUrl", shop.url);
  project.provide("sameOriginShopUrl", sameOriginShopUrl);
  project.provide("persistTo", persistTo);
  return async () => {
    await Promise.all([worker.stop(), shop.close(), sameOriginShop.close()]);
    rmSync(persistTo, { recursive: true, force: true });
  };
}
