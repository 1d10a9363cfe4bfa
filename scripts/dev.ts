/**
 * `npm run dev`: migrate and seed the local D1, then serve the Worker (wrangler dev, port $PORT or
 * 8787) and the demo shop (the next port) together. Safe to run again: migrations and seed skip
 * what is already there.
 */
import { join } from "node:path";
import { startDemoShop } from "../demo/server";
import { DEMO_BASE_PATH } from "../demo/shop";
import { readCrons, runCronLocally } from "./dev-cron";
import { buildTag, ensureDevVars, freePort, portIsFree, prepareLocalDatabase, ROOT, startWorker } from "./local-worker";
import { DEMO } from "./seed/demo";

const port = Number(process.env.PORT ?? 8787);
const shopPort = port + 1;
const persistTo = join(ROOT, ".wrangler", "state");
const edgeUrl = `http://localhost:${port}`;
// Another host than the Worker's: cookies ignore ports, so on one host the admin's cookie would
// reach the shop (README, "Same-origin route").
const shopUrl = `http://127.0.0.1:${shopPort}`;

// A second `npm run dev` (or anything else) on the port: say so in one line, before seeding.
for (const p of [port, shopPort]) {
  if (!(await portIsFree(p))) {
    console.error(`Port ${p} is already in use (another npm run dev?): stop it or set PORT=… and try again.`);
    process.exit(1);
  }
}

ensureDevVars();
buildTag();
console.log("Applying migrations and seeding the demo data…");
const seeded = await prepareLocalDatabase(persistTo, [shopUrl, `http://localhost:${shopPort}`]);
console.log(`Seeded site "${DEMO.siteKey}" with ${seeded.customers} demo CRM customers.`);
if (seeded.demoKeyRestored) {
  console.log(`The demo API key ${DEMO.apiKey} had been revoked in the admin: restored, the demo shop needs it.`);
}

// Same-origin serving, as in production behind a Workers route: the shop proxies its /_tw to the
// Worker, which answers under that prefix (and without it on its own port).
const worker = await startWorker({
  port,
  inspectorPort: await freePort(),
  persistTo,
  testScheduled: true,
  vars: { BASE_PATH: DEMO_BASE_PATH },
});
const crons = readCrons(ROOT);
const stopCron = runCronLocally(edgeUrl, crons);
const shop = await startDemoShop(shopPort, {
  edgeUrl: `${shopUrl}${DEMO_BASE_PATH}`,
  siteKey: DEMO.siteKey,
  proxyTo: edgeUrl,
});

console.log(`
  tagwerk is running (local development only — never deployed with these credentials)

  Worker        ${edgeUrl}
  Health        ${edgeUrl}/healthz
  API reference ${edgeUrl}/docs   (document: ${edgeUrl}/api/v1/openapi.json)
  Admin UI      ${edgeUrl}/admin  (${DEMO.adminEmail} / ${DEMO.adminPassword})
  Demo shop     ${shopUrl}   (tagwerk's public routes under its own ${shopUrl}${DEMO_BASE_PATH}/, e.g. /t.js; never the admin)
  Site key      ${DEMO.siteKey}    API key: ${DEMO.apiKey} (active; revoking it in the admin breaks the
                demo shop's server-side purchases until the next start restores it)
  Cron          the scheduled handler runs now and on ${crons.join(", ")} (UTC), as deployed:
                audiences, look-alike scores, webhooks, retention (${edgeUrl}/__scheduled runs it at once)

  Press Ctrl+C to stop.
`);

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  stopCron();
  // The shop's server waits for open keep-alive connections: give it five seconds, not forever.
  await Promise.race([Promise.all([worker.stop(), shop.close()]), new Promise((r) => setTimeout(r, 5_000))]);
  process.exit(0);
}
// Ctrl+C, `kill`, and a closed terminal. Should anything exit first, startWorker's exit hook still
// ends wrangler's process group.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, shutdown);
