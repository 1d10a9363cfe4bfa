/**
 * The look-alike model measured on data that went through the real event path: every person of the
 * generated population (bench/lookalike-population.ts) becomes tag event batches — a landing page
 * (with `utm_medium=display` for those who arrived from display), page views, product views, a
 * purchase for the converters, cart adds — delivered as events-queue messages, 50 per delivery (the
 * consumer's max_batch_size), to the Worker's own queue consumer running in workerd
 * (bench/bench-worker.ts, `/bench/consume` → consumeEventsBatch). Acquisition, interests, visits and
 * purchases are whatever collect made of those events; the training positives are the rows
 * production's POSITIVE condition selects.
 * The model then trains on the first 70 % of the visitors and is measured on the held-out rest.
 */
import { sql } from "drizzle-orm";
import { NO_PURCHASE } from "../worker/audiences/kinds";
import { auc, liftAt, scoreLookalike, trainLookalike } from "../worker/audiences/lookalike";
import { COLUMNS, type LookalikeRow, POSITIVE, toInput } from "../worker/audiences/lookalike-scores";
import { MEMBERS_FROM } from "../worker/audiences/refresh";
import { type TagEvent, validateEvents } from "../worker/collect/event-schema";
import { createDb } from "../worker/db/client";
import { MS_PER_DAY as DAY } from "../worker/lib/time";
import type { EventsMessage } from "../worker/pipeline/messages";
import { generatePopulation, mulberry32, type Person, POPULATION_NOW } from "./lookalike-population";

const SHOP = "https://shop.example";
/** The consumer's max_batch_size (wrangler.toml): messages written in one D1 batch. */
const MESSAGES_PER_BATCH = 50;

export type LookalikeEventFigures = {
  population: number;
  batches: number;
  events: number;
  applySeconds: number;
  /** Rows the production POSITIVE condition selects among all visitors, and how many should. */
  positivesInD1: number;
  expectedPositives: number;
  trainSize: number;
  trainPositives: number;
  testSize: number;
  baseRate: number;
  auc: number;
  oracleAuc: number;
  liftTopDecile: number;
  trainMillis: number;
};

type Batch = { cookieId: string; now: number; events: TagEvent[] };

const cookieOf = (i: number) => i.toString(16).padStart(32, "0");

/** Spreads `total` over `slots` slots (each slot gets at least `min`). */
function spread(total: number, slots: number, random: () => number, min = 0): number[] {
  const out = new Array<number>(slots).fill(min);
  for (let n = min * slots; n < total; n++) out[Math.floor(random() * slots)]++;
  return out;
}

/** One person's visits as tag batches, oldest first, one day apart, the last at their last visit. */
function batchesOf(person: Person, index: number, random: () => number): Batch[] {
  const { input, cart } = person;
  const cookieId = cookieOf(index);
  const visits = input.visits;
  const pages = spread(input.pageviews, visits, random, 1);
  const views = Object.entries(input.interests).flatMap(([category, n]) => Array.from({ length: n }, () => category));
  const viewsPerVisit = spread(views.length, visits, random);
  const batches: Batch[] = [];
  let viewed = 0;
  for (let v = 0; v < visits; v++) {
    const now = input.lastSeenAt - (visits - 1 - v) * DAY;
    const event = (type: string, extra: Record<string, unknown>) =>
      ({ type, ts: now, ref: null, ...extra }) as TagEvent;
    const events: TagEvent[] = [];
    for (let p = 0; p < pages[v]; p++) {
      const landing = v === 0 && p === 0 && person.fromDisplay ? "/?utm_source=net&utm_medium=display" : `/p${p}`;
      events.push(event("page", { url: `${SHOP}${landing}` }));
    }
    for (let k = 0; k < viewsPerVisit[v]; k++) {
      const category = views[viewed++];
      events.push(event("view", { url: `${SHOP}/${category}`, props: { sku: `${category}-${k}`, category } }));
    }
    if (v === visits - 1) {
      if (person.converted) events.push(event("purchase", { props: { order: `O-${index}`, value: 120 } }));
      // The cart left open after the visit (after the purchase, which empties the cart).
      for (let k = 0; k < cart.items; k++) {
        const price = cart.value / cart.items;
        events.push(event("cart", { props: { action: "add", sku: `C-${k}`, price, qty: 1 } }));
      }
    }
    // Through the /e schema, as the tag's batches are: defaults filled, nothing invalid slips in.
    const checked = validateEvents(events);
    if (checked.rejected.length > 0) throw new Error(`generated event refused: ${checked.rejected[0].reason}`);
    batches.push({ cookieId, now, events: checked.accepted.map((a) => a.event) });
  }
  return batches;
}

export async function measureLookalikeFromEvents(
  d1: D1Database,
  workerUrl: string,
  { size, seed = 42, trainShare = 0.7 }: { size: number; seed?: number; trainShare?: number },
): Promise<LookalikeEventFigures> {
  const db = createDb(d1);
  const [site] = await db.all<{ id: number }>(
    sql`insert into sites (key, name) values (${`lookalike-${seed}-${size}`}, 'look-alike bench') returning id`,
  );
  const people = generatePopulation(size, seed);
  const random = mulberry32(seed + 1);
  const perPerson = people.map((person, i) => batchesOf(person, i, random));

  // Round r holds every person's r-th visit: a person's batches are applied in order, as a queue
  // delivers one browser's beacons, while many people share each D1 batch.
  const started = performance.now();
  let batches = 0;
  let events = 0;
  const rounds = Math.max(...perPerson.map((b) => b.length));
  for (let round = 0; round < rounds; round++) {
    const due = perPerson.flatMap((b) => (b[round] ? [b[round]] : []));
    for (let i = 0; i < due.length; i += MESSAGES_PER_BATCH) {
      const chunk = due.slice(i, i + MESSAGES_PER_BATCH);
      const messages: EventsMessage[] = chunk.map((b) => ({
        kind: "events",
        siteId: site.id,
        cookieId: b.cookieId,
        events: b.events,
        rejected: [],
        receivedAt: b.now,
      }));
      const res = await fetch(`${workerUrl}/bench/consume`, { method: "POST", body: JSON.stringify(messages) });
      const { acked } = (await res.json()) as { acked: number };
      if (acked !== messages.length) throw new Error(`the consumer acked ${acked} of ${messages.length} messages`);
      batches += chunk.length;
      events += chunk.reduce((n, b) => n + b.events.length, 0);
    }
  }
  const applySeconds = (performance.now() - started) / 1000;

  const rows = await db.all<LookalikeRow & { cookie_id: string; positive: number; unbought: number }>(
    sql`select ${COLUMNS}, v.cookie_id, (${POSITIVE}) as positive, (${NO_PURCHASE}) as unbought
      from ${MEMBERS_FROM} where v.site_id = ${site.id}`,
  );
  const byCookie = new Map(rows.map((row) => [row.cookie_id, row]));
  const cut = Math.floor(people.length * trainShare);
  const train = people.slice(0, cut).map((_, i) => byCookie.get(cookieOf(i))!);
  const test = people.slice(cut).map((person, i) => ({ person, row: byCookie.get(cookieOf(cut + i))! }));
  // As in production (worker/audiences/lookalike-scores.ts): positives are display-acquired buyers,
  // negatives the visitors who never bought.
  const examples = train
    .filter((row) => row.positive || row.unbought)
    .map((row) => ({ input: toInput(row), positive: row.positive === 1 }));
  const trainStarted = performance.now();
  const model = trainLookalike(examples, POPULATION_NOW);
  const scores = test.map(({ row }) => scoreLookalike(model, toInput(row), POPULATION_NOW));
  const trainMillis = performance.now() - trainStarted;
  const labels = test.map(({ row }) => !row.unbought);
  return {
    population: size,
    batches,
    events,
    applySeconds,
    positivesInD1: rows.filter((row) => row.positive).length,
    expectedPositives: people.filter((p) => p.converted && p.fromDisplay).length,
    trainSize: examples.length,
    trainPositives: examples.filter((e) => e.positive).length,
    testSize: test.length,
    baseRate: labels.filter(Boolean).length / labels.length,
    auc: auc(scores, labels),
    oracleAuc: auc(
      test.map(({ person }) => person.propensity),
      labels,
    ),
    liftTopDecile: liftAt(scores, labels, 0.1),
    trainMillis,
  };
}
