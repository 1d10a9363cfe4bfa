/**
 * Demo data for local development (`npm run dev`) and the browser tests: site `demo` with API key
 * `demo-api-key`, admin `admin@example.com` / `tagwerk-demo`, the jewellery catalogue and a few
 * hundred CRM customers across clusters. Idempotent: running it again changes nothing it made.
 * Local only: nothing here is part of the Worker, so `wrangler deploy` never ships it.
 */

import { eq, sql } from "drizzle-orm";
import { CATALOGUE } from "../../demo/catalogue";
import { hashApiKey } from "../../worker/auth/api-keys";
import { sha256Hex } from "../../worker/auth/crypto";
import { hashPassword } from "../../worker/auth/password";
import { importProducts } from "../../worker/catalogue/products";
import { createDb } from "../../worker/db/client";
import { adminUsers, apiKeys, customers, sites, visitors } from "../../worker/db/schema";
import { rebuildDecisionRows } from "../../worker/decide/decision-rows";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { createRandom } from "./random";

export const DEMO = {
  siteKey: "demo",
  apiKey: "demo-api-key",
  adminEmail: "admin@example.com",
  adminPassword: "tagwerk-demo",
  /** docs/architecture.md, "Trust boundaries": the demo shop signs its identifies with it. */
  identitySecret: "demo-identity-secret",
} as const;

const CLUSTERS = ["rings", "earrings", "necklaces", "watches"] as const;
const CUSTOMER_COUNT = 300;

export type SeedOptions = { shopOrigins: string[]; now?: number };

export async function seedDemo(d1: D1Database, { shopOrigins, now = Date.now() }: SeedOptions) {
  const db = createDb(d1);
  await db
    .insert(sites)
    .values({
      key: DEMO.siteKey,
      name: "Maison Bijou (demo)",
      allowedOrigins: shopOrigins,
      consentMode: "implied",
      holdout: 0.1,
    })
    .onConflictDoUpdate({ target: sites.key, set: { allowedOrigins: shopOrigins } });
  const [site] = await db.select().from(sites).where(sql`${sites.key} = ${DEMO.siteKey}`);

  // The demo shop's server-side purchase calls use this key: a key revoked in the admin while trying it
  // out is brought back on the next start (local data only), and the start banner says so.
  const demoKeyHash = await hashApiKey(DEMO.apiKey);
  const [previous] = await db
    .select({ revokedAt: apiKeys.revokedAt })
    .from(apiKeys)
    .where(eq(apiKeys.hash, demoKeyHash));
  await db
    .insert(apiKeys)
    .values({ siteId: site.id, prefix: DEMO.apiKey.slice(0, 10), hash: demoKeyHash })
    .onConflictDoUpdate({ target: apiKeys.hash, set: { revokedAt: null } });
  const demoKeyRestored = previous?.revokedAt != null;

  const existingAdmin = await db.select().from(adminUsers).where(sql`${adminUsers.email} = ${DEMO.adminEmail}`);
  if (existingAdmin.length === 0) {
    await db.insert(adminUsers).values({
      siteId: site.id,
      email: DEMO.adminEmail,
      passwordHash: await hashPassword(DEMO.adminPassword),
      role: "admin",
    });
  }

  // The catalogue goes through the catalogue import (POST /api/v1/products' own function), as a
  // Google Merchant Center feed would: products are written by nothing else.
  const feed = CATALOGUE.map((p) =>
    JSON.stringify({
      id: p.sku,
      title: p.name,
      price: `${p.price.toFixed(2)} EUR`,
      product_type: p.category,
      link: `/product/${p.sku}`,
      // Relative like link: resolved against the shop's address (the creative's landing URL).
      image_link: `/images/${p.sku}.svg`,
      availability: "in stock",
    }),
  ).join("\n");
  await importProducts({ DB: d1 }, site, new Blob([feed]).stream(), "ndjson", now);
  await db.update(sites).set({ identitySecret: DEMO.identitySecret }).where(sql`${sites.id} = ${site.id}`);

  const rows = await demoCustomers(site.id, now);
  // Multi-row inserts stay under D1's 100 bound parameters per statement (13 columns × 7 rows).
  for (let i = 0; i < rows.length; i += 7) {
    await db
      .insert(customers)
      .values(rows.slice(i, i + 7))
      .onConflictDoNothing();
  }

  // A share of the customers also browse the shop: linked visitors make segment previews
  // count cookies, not only CRM records.
  const random = createRandom(7);
  for (const row of rows.filter((_, index) => index % 3 === 0)) {
    const cookieId = (await sha256Hex(`demo-visitor:${row.customerId}`)).slice(0, 32);
    const category = (row.clusters as string[])[0] ?? "rings";
    const lastSeen = now - random.int(0, 60) * DAY;
    await db
      .insert(visitors)
      .values({
        siteId: site.id,
        cookieId,
        customerId: row.customerId,
        firstSeenAt: lastSeen - random.int(1, 300) * DAY,
        lastSeenAt: lastSeen,
        visits: random.int(1, 30),
        pageviews: random.int(2, 120),
        interests: { [category]: random.int(1, 12) },
        consent: "granted",
        acquisition: random.pick(["other", "display", "banner", "other"]),
      })
      .onConflictDoNothing();
  }
  // Rows written past the writers, as a restore would: the decision rows /b reads come from the
  // operator's rebuild (worker/decide/decision-rows.ts), which is safe to run again.
  for (let after = 0; ; ) {
    const step = await rebuildDecisionRows(d1, site.id, after, now);
    if (!step) break;
    after = step.last;
  }
  return { siteId: site.id, customers: rows.length, demoKeyRestored };
}

async function demoCustomers(siteId: number, now: number) {
  const random = createRandom(42);
  const rows: (typeof customers.$inferInsert)[] = [];
  for (let n = 1; n <= CUSTOMER_COUNT; n++) {
    const orders = random.chance(0.1) ? 0 : random.int(1, 12);
    const firstOrderAt = orders ? now - random.int(3, 900) * DAY : null;
    const lastOrderAt = firstOrderAt ? Math.min(now, firstOrderAt + random.int(0, 700) * DAY) : null;
    const primary = random.pick(CLUSTERS);
    const clusters = random.chance(0.3) ? [primary, random.pick(CLUSTERS)] : [primary];
    rows.push({
      siteId,
      customerId: `C-${String(n).padStart(5, "0")}`,
      emailSha256: await sha256Hex(`customer${n}@example.com`),
      gender: primary === "watches" ? random.pick(["m", "m", "f"]) : random.pick(["f", "f", "f", "m"]),
      lifetimeRevenue: orders ? Math.round(orders * random.int(40, 900) * 100) / 100 : 0,
      orders,
      firstOrderAt,
      lastOrderAt,
      couponsRedeemed: random.chance(0.6) ? 0 : random.int(1, 4),
      clusters: [...new Set(clusters)],
      attributes: { newsletter: random.chance(0.5), store: random.pick(["Munich", "Berlin", "online"]) },
    });
  }
  return rows;
}
