/**
 * The evaluator and the SQL compiler must select exactly the same profiles for every expression
 * (docs/architecture.md, "Segments: one language, two back ends": both must agree on every
 * profile, including missing values). Random profiles
 * with missing values go into a real D1; random expressions over every field and operator are run
 * through compileSegment and through the SQL condition (selectProfiles in ./profiles-fixture, countSegment).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { compileSegment } from "../../worker/segments";
import { NUMBER_FIELDS } from "../../worker/segments/fields";
import { countSegment } from "../../worker/segments/query";
import {
  type CustomerInput,
  db,
  home,
  insertProfiles,
  insertSite,
  loadProfiles,
  profileKey,
  selectProfiles,
  type VisitorInput,
} from "./profiles-fixture";

const NOW = Date.UTC(2025, 5, 15, 13, 30);
const HOUR = 3_600_000;
const CATEGORIES = ["rings", "earrings", "watches"];
const CLUSTERS = ["rings", "earrings", "gifts", "self"];
const ATTRS = ["tier", "age", "vip", "zip"];
const EVENTS = ["newsletter_signup", "video_play", "__proto__"];

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { freq: 3, nil: null });
/** Times on whole hours from a day ahead to 400 days back: UTC day boundaries fall between them,
 *  so whole-day counts (`days_since_* = 0` is today) are tested on both sides of midnight. */
const pastTime = fc.integer({ min: -24, max: 400 * 24 }).map((hours) => NOW - hours * HOUR);
const dayKey = fc.integer({ min: -2, max: 95 }).map((ago) => new Date(NOW - ago * DAY).toISOString().slice(0, 10));
const perDay = fc.dictionary(dayKey, fc.integer({ min: 0, max: 4 }), { maxKeys: 6 });

const customerArb = (i: number): fc.Arbitrary<CustomerInput> =>
  fc.record({
    customerId: fc.constant(`C-${i}`),
    gender: maybe(fc.constantFrom("f", "m", "d", "F")),
    lifetimeRevenue: maybe(fc.constantFrom(0, 50, 100, 100.5, 250.25, 1000)),
    orders: maybe(fc.integer({ min: 0, max: 6 })),
    firstOrderAt: maybe(pastTime),
    lastOrderAt: maybe(pastTime),
    couponsRedeemed: maybe(fc.integer({ min: 0, max: 3 })),
    clusters: fc.subarray(CLUSTERS),
    attributes: fc.dictionary(
      fc.constantFrom(...ATTRS),
      fc.oneof(
        fc.constantFrom("gold", "silver", "Gold", ""),
        fc.integer({ min: 0, max: 60 }),
        fc.boolean(),
        fc.constant(null),
      ),
      { maxKeys: 4 },
    ),
  });

const visitorArb = (i: number, customerCount: number): fc.Arbitrary<VisitorInput> =>
  fc
    .record({
      customerId: fc.oneof(
        { weight: 2, arbitrary: fc.constant(null) },
        { weight: 3, arbitrary: fc.integer({ min: 0, max: customerCount - 1 }).map((n) => `C-${n}`) },
        { weight: 1, arbitrary: fc.constant("C-unknown") },
      ),
      firstSeenAt: pastTime,
      lastSeenAt: pastTime,
      visits: fc.integer({ min: 0, max: 10 }),
      pageviews: fc.integer({ min: 0, max: 30 }),
      interests: fc.dictionary(fc.constantFrom(...CATEGORIES), fc.integer({ min: 0, max: 6 })),
      interestDays: fc.dictionary(fc.constantFrom(...CATEGORIES), perDay),
      visitDays: perDay,
      eventCounts: fc.dictionary(fc.constantFrom(...EVENTS), fc.integer({ min: 0, max: 4 })),
      eventDays: fc.dictionary(fc.constantFrom(...EVENTS), perDay),
      purchaseDays: perDay,
      acquisition: maybe(fc.constantFrom("banner", "display", "other")),
      cartItems: fc.integer({ min: 0, max: 4 }),
      cartValue: fc.constantFrom(0, 19.99, 100, 250.5),
      cartUpdatedAt: maybe(fc.integer({ min: 0, max: 72 }).map((h) => NOW - h * HOUR)),
      lastPurchaseAt: maybe(pastTime),
      lookalikeScore: maybe(fc.constantFrom(0, 0.25, 0.5, 0.75, 1)),
    })
    .map((v) => ({ ...v, cookieId: i.toString(16).padStart(32, "0") }));

const datasetArb = fc.integer({ min: 20, max: 30 }).chain((customerCount) =>
  fc.tuple(
    fc.tuple(...Array.from({ length: customerCount }, (_, i) => customerArb(i))),
    fc
      .integer({ min: 25, max: 35 })
      .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => visitorArb(i, customerCount)))),
  ),
);

const str = (values: string[]) => fc.constantFrom(...values).map((s) => JSON.stringify(s));
const numberValue = fc.constantFrom(0, 1, 2, 3, 5, 10, 50, 100, 100.5, 180, 0.5, -1, 24).map(String);
const orderOp = fc.constantFrom("=", "!=", "<", "<=", ">", ">=");
const eqOp = fc.constantFrom("=", "!=");
const list = (value: fc.Arbitrary<string>) =>
  fc.array(value, { minLength: 1, maxLength: 3 }).map((v) => `(${v.join(", ")})`);

function leaf(field: fc.Arbitrary<string>, value: fc.Arbitrary<string>, ops: fc.Arbitrary<string>, contains = false) {
  const options = [
    fc.tuple(field, ops, value).map(([f, o, v]) => `${f} ${o} ${v}`),
    fc.tuple(field, list(value)).map(([f, l]) => `${f} in ${l}`),
  ];
  if (contains) {
    options.push(fc.tuple(field, value).map(([f, v]) => `${f} contains ${v}`));
    options.push(fc.tuple(field, list(value)).map(([f, l]) => `${f} contains ${l}`));
  }
  return fc.oneof(...options);
}

const windowDays = fc.constantFrom(1, 2, 7, 30, 89, 90);
const eventName = str([...EVENTS, "never_sent"]);
const category = str([...CATEGORIES, "bracelets"]);
const comparison = fc.oneof(
  leaf(fc.constantFrom(...NUMBER_FIELDS), numberValue, orderOp),
  leaf(
    fc.oneof(
      category.map((c) => `interest(${c})`),
      fc.tuple(category, windowDays).map(([c, d]) => `interest(${c}, ${d})`),
      windowDays.map((d) => `visits(${d})`),
      eventName.map((e) => `event(${e})`),
      fc.tuple(eventName, windowDays).map(([e, d]) => `event(${e}, ${d})`),
      windowDays.map((d) => `purchases(${d})`),
    ),
    numberValue,
    orderOp,
  ),
  leaf(fc.constant("gender"), str(["f", "m", "F", ""]), eqOp, true),
  leaf(fc.constant("acquisition"), str(["banner", "display", "other", "play"]), eqOp, true),
  leaf(fc.constant("cluster"), str([...CLUSTERS, "watches"]), eqOp, true),
  fc.constantFrom("customer", "customer = true", "customer = false", "customer != true", "customer != false"),
  fc
    .constantFrom(...ATTRS, "missing")
    .chain((name) =>
      fc.oneof(
        leaf(fc.constant(`attr.${name}`), numberValue, orderOp),
        leaf(fc.constant(`attr.${name}`), str(["gold", "Gold", "old", ""]), eqOp, true),
        leaf(fc.constant(`attr.${name}`), fc.constantFrom("true", "false"), eqOp),
      ),
    ),
);

const { expression } = fc.letrec<{ expression: string }>((tie) => ({
  expression: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    comparison,
    fc.tuple(tie("expression"), fc.constantFrom("and", "or"), tie("expression")).map(([a, op, b]) => `${a} ${op} ${b}`),
    tie("expression").map((e) => `not (${e})`),
    tie("expression").map((e) => `not ${e}`),
    tie("expression").map((e) => `(${e})`),
  ),
}));

describe("evaluator and SQL agree", () => {
  it("select exactly the same profiles for random expressions over random profiles with missing values", async () => {
    for (const seed of [1, Date.now() % 100_000]) {
      const [[customerRows, visitorRows]] = fc.sample(datasetArb, { numRuns: 1, seed });
      const siteId = await insertSite();
      await insertProfiles(siteId, customerRows, visitorRows);
      const profiles = await loadProfiles(siteId);
      expect(profiles.size).toBeGreaterThan(customerRows.length);
      let nonTrivial = 0;
      await fc.assert(
        fc.asyncProperty(expression, async (expr) => {
          const predicate = compileSegment(expr);
          const byEvaluator = [...profiles].filter(([, p]) => predicate(p, NOW)).map(([key]) => key);
          const rows = await selectProfiles(db, siteId, expr, NOW);
          const bySql = rows.map(profileKey);
          expect(bySql.sort(), `${expr} (data seed ${seed})`).toEqual(byEvaluator.sort());
          const counts = await countSegment(home, siteId, expr, NOW);
          expect(counts.visitors).toBe(rows.filter((r) => r.visitorId !== null).length);
          if (byEvaluator.length > 0 && byEvaluator.length < profiles.size) nonTrivial++;
        }),
        { numRuns: 150, seed: seed + 7 },
      );
      // The generator must produce selective expressions, or agreement would prove little.
      expect(nonTrivial).toBeGreaterThan(50);
    }
  }, 120_000);
});
