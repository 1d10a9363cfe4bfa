/**
 * Recomputes visitors.lookalike_score for one site (cron): trains the model of ./lookalike.ts on
 * a bounded sample and scores every visitor without a purchase, page by page (keyset on visitor
 * ID, one UPDATE ... FROM json_each per page), so memory stays flat however many visitors a site has.
 * Over a shard set the sample is drawn from every shard and each shard's visitors are scored there
 * (docs/architecture.md, "Shards").
 *
 * Every training is judged on people it did not learn from: one in HOLD_OUT of the sample (by a
 * hash of the cookie ID, so the split is stable and the same on any shard) is held out, the model learns from the rest, and
 * its AUC and top-decile lift on the held-out people are stored with the refusal reason, if any, in
 * lookalike_models (./lookalike-model.ts), which the audience API and the admin show.
 */
import { type SQL, sql } from "drizzle-orm";
import { runBatch } from "../db/raw";
import { rangeRefreshStatement, refreshDecisionRows } from "../decide/decision-rows";
import type { Db } from "../env";
import { byBinary } from "../shards/merge";
import type { PeopleDb } from "../shards/routing";
import { NO_PURCHASE } from "./kinds";
import { auc, type LookalikeInput, type LookalikeModel, liftAt, scoreLookalike, trainLookalike } from "./lookalike";
import { saveLookalikeModel } from "./lookalike-model";
import { MEMBERS_FROM } from "./refresh";

/** Fewer converters than this and a model would learn noise: training is refused, scores left as they were. */
const MIN_POSITIVES = 10;
/** One in HOLD_OUT people is kept out of training to measure the model on. */
const HOLD_OUT = 5;
const SAMPLE_LIMIT = 20_000;
const SCORE_PAGE = 1_000;

/**
 * Became a customer after arriving from display or a banner click: `acquisition` is written by the
 * event path (the first landing page, a /c click — worker/collect/acquisition.ts), never by hand.
 * @internal Exported for the bench; the Worker itself does not import it.
 */
export const POSITIVE = sql`(v.acquisition in ('display', 'banner') and (v.last_purchase_at is not null
  or (c.first_order_at is not null and c.first_order_at >= v.first_seen_at)))`;

/** @internal Exported for the bench; the Worker itself does not import it. */
export type LookalikeRow = {
  id: number;
  interests: string;
  visits: number;
  pageviews: number;
  last_seen_at: number;
};

/** @internal Exported for the bench; the Worker itself does not import it. */
export function toInput(row: LookalikeRow): LookalikeInput {
  let interests: Record<string, number> = {};
  try {
    interests = JSON.parse(row.interests) as Record<string, number>;
  } catch {
    // A malformed interest column counts as no interests rather than failing the whole site.
  }
  return {
    interests,
    visits: row.visits,
    pageviews: row.pageviews,
    lastSeenAt: row.last_seen_at,
  };
}

/** @internal Exported for the bench; the Worker itself does not import it. */
export const COLUMNS = sql`v.id, v.interests, v.visits, v.pageviews, v.last_seen_at`;

type SampledRow = LookalikeRow & { cookie_id: string };

/**
 * A deterministic spread over the whole ID range (not just the oldest visitors), from every
 * database of the site's set: each gives its SAMPLE_LIMIT, the merge keeps SAMPLE_LIMIT by a hash
 * of the cookie ID (row IDs are per database), in cookie order, so the same people give the same
 * sample and model wherever they live.
 */
async function sample(people: readonly PeopleDb[], siteId: number, condition: SQL): Promise<SampledRow[]> {
  const lists = await Promise.all(
    people.map(({ db }) =>
      db.all<SampledRow>(sql`select ${COLUMNS}, v.cookie_id from ${MEMBERS_FROM} where v.site_id = ${siteId} and ${condition}
        order by (v.id * 2654435761) % 4294967291 limit ${SAMPLE_LIMIT}`),
    ),
  );
  const rows = lists.flat();
  const kept =
    rows.length <= SAMPLE_LIMIT
      ? rows
      : rows.sort((a, b) => spread(a.cookie_id) - spread(b.cookie_id)).slice(0, SAMPLE_LIMIT);
  return kept.sort((a, b) => byBinary(a.cookie_id, b.cookie_id));
}

/** FNV-1a of a cookie ID: a stable pseudo-random rank, the same in every database and isolate. */
function spread(cookieId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < cookieId.length; i++) hash = Math.imul(hash ^ cookieId.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** Stable split: the same visitor is always held out, or always learned from. */
function heldOut(cookieId: string): boolean {
  return spread(cookieId) % HOLD_OUT === 0;
}

type Example = { input: LookalikeInput; positive: boolean; cookieId: string };

/**
 * Trains on the people of every database of the site's set (`people`) and scores each database's
 * visitors where they live; the model's record is HOME's (`db`).
 */
export async function recomputeLookalikeScores(
  db: Db,
  people: readonly PeopleDb[],
  siteId: number,
  now: number,
): Promise<{ trained: boolean; positives: number; scored: number; reason?: string }> {
  const positives = await sample(people, siteId, POSITIVE);
  const negatives = await sample(people, siteId, NO_PURCHASE);
  const examples: Example[] = [
    ...positives.map((row) => ({ input: toInput(row), positive: true, cookieId: row.cookie_id })),
    ...negatives.map((row) => ({ input: toInput(row), positive: false, cookieId: row.cookie_id })),
  ];
  const training = examples.filter((e) => !heldOut(e.cookieId));
  const test = examples.filter((e) => heldOut(e.cookieId));
  const learned = training.filter((e) => e.positive).length;
  const record = { siteId, positives: positives.length, negatives: negatives.length, heldOut: test.length, now };
  if (positives.length < MIN_POSITIVES || learned === 0 || training.length === learned) {
    const reason =
      positives.length < MIN_POSITIVES
        ? `too few positives: ${positives.length} visitors arrived through display or a banner and bought, at least ${MIN_POSITIVES} are needed`
        : "no visitors without a purchase to compare the buyers with";
    await saveLookalikeModel(db, { ...record, status: "refused", reason });
    return { trained: false, positives: positives.length, scored: 0, reason };
  }
  const model = trainLookalike(training, now);
  const testScores = test.map((e) => scoreLookalike(model, e.input, now));
  const labels = test.map((e) => e.positive);
  // Quality needs both kinds among the held-out people; with too few of one it stays unknown (null).
  const measurable = labels.includes(true) && labels.includes(false);
  await saveLookalikeModel(db, {
    ...record,
    status: "trained",
    reason: measurable ? null : "too few held-out people of both kinds to measure AUC and lift",
    auc: measurable ? auc(testScores, labels) : null,
    topDecileLift: measurable ? liftAt(testScores, labels, 0.1) : null,
  });

  let scored = 0;
  for (const { db: own } of people) scored += await scoreOn(own, siteId, model, now);
  return { trained: true, positives: positives.length, scored };
}

/** Scores one database's visitors without a purchase, page by page; answers how many. */
async function scoreOn(db: Db, siteId: number, model: LookalikeModel, now: number): Promise<number> {
  let after = 0;
  let scored = 0;
  for (;;) {
    const page = await db.all<LookalikeRow>(sql`select ${COLUMNS} from ${MEMBERS_FROM}
      where v.site_id = ${siteId} and v.id > ${after} and ${NO_PURCHASE} order by v.id limit ${SCORE_PAGE}`);
    if (page.length === 0) break;
    const scores = page.map((row) => [row.id, Math.round(scoreLookalike(model, toInput(row), now) * 1e6) / 1e6]);
    const last = page[page.length - 1].id;
    // The score is a segment field: the page's decision rows are refreshed in the same batch.
    await runBatch(db, [
      sql`update visitors set lookalike_score = json_extract(s.value, '$[1]')
        from json_each(${JSON.stringify(scores)}) s
        where visitors.id = json_extract(s.value, '$[0]') and visitors.site_id = ${siteId}`,
      rangeRefreshStatement(siteId, after, last, now),
    ]);
    scored += page.length;
    after = last;
    if (page.length < SCORE_PAGE) break;
  }
  // Buyers are not look-alikes any more.
  const unscored = await db.all<{ cookie_id: string }>(sql`update visitors set lookalike_score = null
    where site_id = ${siteId} and lookalike_score is not null and last_purchase_at is not null returning cookie_id`);
  await refreshDecisionRows(db, siteId, { cookies: unscored.map((r) => r.cookie_id) }, now);
  return scored;
}
