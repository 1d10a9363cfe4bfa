/**
 * How long the compiled segment evaluator takes for one profile against 1,000 segments (the
 * decision logic as a whole has 50 µs: docs/architecture.md, "Budgets and where they are measured"). Run: `npx tsx bench/segment-latency.ts`. The segments mix
 * every kind of field the language has; each is compiled once, as the decision cache does.
 */

import { MS_PER_DAY as DAY } from "../worker/lib/time";
import { buildProfile, compileSegment } from "../worker/segments";
import type { CustomerRow, VisitorRow } from "../worker/segments/profile";

const NOW = Date.UTC(2025, 5, 15, 12);

const TEMPLATES = [
  (i: number) =>
    `gender = "f" and days_since_last_order >= ${i % 365} and lifetime_revenue > ${i} and coupons_redeemed = 0`,
  (i: number) => `cluster in ("rings", "earrings", "c${i}") and interest("rings") >= ${i % 5}`,
  (i: number) => `cart_items > 0 and cart_age_hours >= ${i % 48} and not customer`,
  (i: number) => `days_since_first_order <= ${i % 60}`,
  (i: number) => `interest("watches", ${1 + (i % 30)}) > 1 or visits(${1 + (i % 14)}) >= 2`,
  (i: number) => `attr.tier = "gold" and attr.age > ${i % 80} and placement = "home" and device != "desktop"`,
  (i: number) => `not (orders < ${i % 10} or lookalike_score >= 0.${i % 10}) and country in ("DE", "AT", "CH")`,
];

const segments = Array.from({ length: 1_000 }, (_, i) => compileSegment(TEMPLATES[i % TEMPLATES.length](i)));

const day = (ago: number) => new Date(NOW - ago * DAY).toISOString().slice(0, 10);
const visitDays = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [day(i), 1 + (i % 3)]));
const visitor = {
  id: 1,
  siteId: 1,
  cookieId: "0".repeat(32),
  customerId: "C-1",
  firstSeenAt: NOW - 300 * DAY,
  lastSeenAt: NOW - DAY,
  visits: 42,
  pageviews: 300,
  interests: { rings: 7, watches: 3, earrings: 1 },
  interestDays: { rings: visitDays, watches: { [day(2)]: 2, [day(40)]: 1 } },
  visitDays,
  eventCounts: { newsletter_signup: 1 },
  eventDays: { newsletter_signup: { [day(3)]: 1 } },
  purchaseDays: { [day(90)]: 1 },
  cart: [],
  recentSkus: [],
  cartItems: 2,
  cartValue: 120,
  cartUpdatedAt: NOW - 5 * 3_600_000,
  lastPurchaseAt: NOW - 90 * DAY,
  consent: "granted",
  lookalikeScore: 0.4,
  acquisition: "display",
  createdAt: NOW - 300 * DAY,
} satisfies VisitorRow;
const customer = {
  id: 1,
  siteId: 1,
  customerId: "C-1",
  copy: false,
  copiesOn: [],
  emailSha256: null,
  uid2Email: null,
  gender: "f",
  lifetimeRevenue: 480,
  orders: 6,
  firstOrderAt: NOW - 700 * DAY,
  lastOrderAt: NOW - 200 * DAY,
  couponsRedeemed: 0,
  adsConsent: null,
  clusters: ["rings", "gifts"],
  attributes: { tier: "gold", age: 41 },
  createdAt: NOW,
  updatedAt: NOW,
} satisfies CustomerRow;
const profile = buildProfile(visitor, customer, { placement: "home", country: "DE", device: "mobile" });

/** A new profile object per pass, as each request builds its own: nothing is reused across passes. */
function runAll(now: number): number {
  const requestProfile = { ...profile };
  let matched = 0;
  for (const segment of segments) if (segment(requestProfile, now)) matched++;
  return matched;
}

for (let i = 0; i < 2_000; i++) runAll(NOW); // warm up the JIT
const rounds = 5_000;
let matched = 0;
const start = process.hrtime.bigint();
for (let i = 0; i < rounds; i++) matched += runAll(NOW);
const elapsed = Number(process.hrtime.bigint() - start);
const perPass = elapsed / rounds;
console.log(
  `1 profile × 1,000 segments: ${(perPass / 1000).toFixed(1)} µs per pass, ${(perPass / 1000).toFixed(0)} ns per segment ` +
    `(${matched / rounds} matched; node ${process.version})`,
);
