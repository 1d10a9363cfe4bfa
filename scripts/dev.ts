/**
 * `npm run dev`: migrate and seed the local D1, then serve the Worker (wrangler dev, port $PORT or
 * 8787) and the demo shop (the next port) together. Safe to run again: migrations and seed skip
 * what is already there.
 */
import { join } from "node:path";
import { startDemoShop } from "../demo/server";
import { buildTag, ensureDevVars, prepareLocalDatabase, ROOT, startWorker } from "./local-worker";
import { DEMO } from "./seed/demo";

const port = Number(process.env.PORT ?? 8787);
const shopPort = port + 1;
const persistTo = join(ROOT, ".wrangler", "state");
const edgeUrl = `http://localhost:${port}`;
const shopUrl = `http://localhost:${shopPort}`;

ensureDevVars();
buildTag();
console.log("Applying migrations and seeding the demo data…");
const seeded = await prepareLocalDatabase(persistTo, [shopUrl, `http://127.0.0.1:${shopPort}`]);
console.log(`Seeded site "${DEMO.siteKey}" with ${seeded.customers} demo CRM customers.`);

const worker = await startWorker({ port, persistTo });
const shop = await startDemoShop(shopPort, { edgeUrl, siteKey: DEMO.siteKey });

console.log(`
  tagwerk is running (local development only — never deployed with these credentials)

  Worker        ${edgeUrl}
  Health        ${edgeUrl}/healthz
  API reference ${edgeUrl}/docs   (document: ${edgeUrl}/api/v1/openapi.json)
  Admin UI      ${edgeUrl}/admin  (${DEMO.adminEmail} / ${DEMO.adminPassword})
  Demo shop     ${shopUrl}
  Site key      ${DEMO.siteKey}    API key: ${DEMO.apiKey}

  Press Ctrl+C to stop.
`);

async function shutdown() {
  await Promise.all([worker.stop(), shop.close()]);
  process.exit(0);
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
