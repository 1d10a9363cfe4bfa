/**
 * Next best offer on a simulated population (README.md, "Next best offer"; budget: `best` reaches
 * at least 90 % of the oracle's clicks over the last half of the run and beats `priority`).
 *
 * Four CRM clusters with hidden click-through rates for four offers (CTR below): each cluster has
 * its own best offer, and the offer first by priority is best only for "newcomers". Two sites
 * hold the same rules and the same people; one placement arbitrates by `priority`, the other by
 * `best`. Every simulated day, each person visits with probability VISIT_P and asks both sites for
 * a banner through the real `/b` (format=json, their tw_id cookie) in workerd; one uniform draw
 * per visit decides whether they click — in both arms, and for the oracle, who always shows the
 * cluster's best offer (common random numbers: the arms differ only by what they showed). A click
 * follows the banner's own click URL through the real `/c`. Impressions and clicks reach D1
 * through the Worker's queue consumer; at the end of a day the bench waits for it to drain and
 * tells the isolate its learned state is old (/bench/forget-learned) — a day is far more than the
 * 30 s the isolate keeps it.
 */
import { rangeRefreshStatement } from "../worker/decide/decision-rows";
import { QUEUES } from "../worker/pipeline/queues";
import { drained } from "./ledger";
import { mulberry32 } from "./lookalike-population";
import { fmt, table, verdict, writeSection } from "./results";
import type { BenchWorker } from "./workerd";

const OFFERS = ["20 % off", "free shipping", "chronograph", "comeback gift"] as const;
/** Hidden click-through rate of each offer (columns, in priority order) per cluster. */
const CTR: Record<string, number[]> = {
  "ring-lovers": [0.03, 0.08, 0.02, 0.04],
  "watch-buyers": [0.02, 0.03, 0.09, 0.02],
  dormant: [0.04, 0.02, 0.03, 0.1],
  newcomers: [0.06, 0.03, 0.02, 0.03],
};
const CLUSTERS = Object.keys(CTR);
const VISIT_P = 0.5;
const PLACEMENT = "offer";
const PARALLEL = 8;

type OfferArm = { impressions: number; clicks: number; expectedClicks: number };
export type OfferFigures = {
  visitors: number;
  days: number;
  /** Per arm, over the whole run and over its last half. */
  total: Record<"priority" | "best" | "oracle", OfferArm>;
  lastHalf: Record<"priority" | "best" | "oracle", OfferArm>;
  /** Per day, per cluster: the share of `best`'s banners that showed the cluster's best offer. */
  bestShare: { day: number; shares: Record<string, number> }[];
  seconds: number;
};

const cookieOf = (i: number) => (0x0ffe_0000 + i).toString(16).padStart(32, "0");
const bestOffer = (cluster: string) => CTR[cluster].indexOf(Math.max(...CTR[cluster]));

/** A site with the four offers as rules in priority order, and every person as a linked CRM customer. */
async function makeSite(db: D1Database, key: string, arbitration: "priority" | "best", people: string[], now: number) {
  const site = await db
    .prepare("insert into sites (key, name, holdout) values (?1, ?1, 0) returning id")
    .bind(key)
    .first<{ id: number }>();
  if (!site) throw new Error("no site");
  const siteId = site.id;
  const ruleOffer = new Map<number, number>();
  for (const [i, name] of OFFERS.entries()) {
    const creative = await db
      .prepare(
        `insert into creatives (site_id, name, format, template, width, height, landing_url)
         values (?1, ?2, 'html', ?3, 300, 250, ?4) returning id`,
      )
      .bind(siteId, name, `<a href="{{click_url}}">${name}</a>`, `https://shop.example/offer-${i}`)
      .first<{ id: number }>();
    const rule = await db
      .prepare(
        "insert into rules (site_id, name, placement, creative_id, priority) values (?1, ?2, ?3, ?4, ?5) returning id",
      )
      .bind(siteId, name, PLACEMENT, creative?.id, (i + 1) * 10)
      .first<{ id: number }>();
    if (!rule) throw new Error("no rule");
    ruleOffer.set(rule.id, i);
  }
  if (arbitration === "best") {
    await db
      .prepare(
        "insert into placement_settings (site_id, placement, arbitration, objective, updated_at) values (?1, ?2, 'best', 'clicks', ?3)",
      )
      .bind(siteId, PLACEMENT, now)
      .run();
  }
  const rows = JSON.stringify(people.map((cluster, i) => [cookieOf(i), `P-${i}`, JSON.stringify([cluster])]));
  await db.batch([
    db
      .prepare(
        `insert into customers (site_id, customer_id, clusters)
         select ?1, json_extract(value, '$[1]'), json_extract(value, '$[2]') from json_each(?2)`,
      )
      .bind(siteId, rows),
    db
      .prepare(
        `insert into visitors (site_id, cookie_id, customer_id, first_seen_at, last_seen_at, visits)
         select ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?3, ?3, 1 from json_each(?2)`,
      )
      .bind(siteId, rows, now),
  ]);
  // The decision rows, as the rebuild makes them (worker/decide/decision-rows.ts).
  const last = await db
    .prepare("select max(id) as id from visitors where site_id = ?1")
    .bind(siteId)
    .first<{ id: number }>();
  const step = rangeRefreshStatement(siteId, 0, last?.id ?? 0, now);
  await db
    .prepare(step.text)
    .bind(...step.params)
    .run();
  return { key, ruleOffer };
}

const emptyArm = (): OfferArm => ({ impressions: 0, clicks: 0, expectedClicks: 0 });

export async function measureOffers(
  worker: Pick<BenchWorker, "url" | "db">,
  { visitors, days, seed = 27 }: { visitors: number; days: number; seed?: number },
): Promise<OfferFigures> {
  const started = performance.now();
  const random = mulberry32(seed);
  const people = Array.from({ length: visitors }, (_, i) => CLUSTERS[i % CLUSTERS.length]);
  const now = Date.now();
  const arms = {
    priority: await makeSite(worker.db, `offers-priority-${seed}-${visitors}`, "priority", people, now),
    best: await makeSite(worker.db, `offers-best-${seed}-${visitors}`, "best", people, now),
  };
  const total = { priority: emptyArm(), best: emptyArm(), oracle: emptyArm() };
  const lastHalf = { priority: emptyArm(), best: emptyArm(), oracle: emptyArm() };
  const bestShare: OfferFigures["bestShare"] = [];
  const settleMs = QUEUES.events.maxBatchTimeout * 1000 + 300;

  const banner = async (arm: keyof typeof arms, cookie: string) => {
    const res = await fetch(`${worker.url}/b/${PLACEMENT}?site=${arms[arm].key}&format=json`, {
      headers: { cookie: `tw_id=${cookie}` },
    });
    if (res.status !== 200) throw new Error(`/b answered ${res.status}`);
    const json = (await res.json()) as { rule: number | null; click_url: string | null };
    const offer = json.rule === null ? undefined : arms[arm].ruleOffer.get(json.rule);
    if (offer === undefined || !json.click_url) throw new Error(`/b showed no offer: ${JSON.stringify(json)}`);
    return { offer, click: new URL(json.click_url).pathname };
  };
  const click = async (path: string, cookie: string) => {
    const res = await fetch(`${worker.url}${path}`, { headers: { cookie: `tw_id=${cookie}` }, redirect: "manual" });
    await res.arrayBuffer();
    if (res.status !== 302) throw new Error(`/c answered ${res.status}`);
  };

  for (let day = 0; day < days; day++) {
    const late = day >= Math.floor(days / 2);
    // Who visits today, and each visit's one uniform draw (shared by the arms and the oracle).
    const visits = people.flatMap((cluster, i) => (random() < VISIT_P ? [{ i, cluster, u: random() }] : []));
    const shown = new Map(CLUSTERS.map((c) => [c, { best: 0, all: 0 }]));
    for (let k = 0; k < visits.length; k += PARALLEL) {
      await Promise.all(
        visits.slice(k, k + PARALLEL).map(async ({ i, cluster, u }) => {
          const cookie = cookieOf(i);
          const rates = CTR[cluster];
          const oracleRate = rates[bestOffer(cluster)];
          for (const figures of late ? [total, lastHalf] : [total]) {
            figures.oracle.impressions++;
            figures.oracle.expectedClicks += oracleRate;
            if (u < oracleRate) figures.oracle.clicks++;
          }
          for (const arm of ["priority", "best"] as const) {
            const got = await banner(arm, cookie);
            const rate = rates[got.offer];
            const clicked = u < rate;
            if (clicked) await click(got.click, cookie);
            for (const figures of late ? [total, lastHalf] : [total]) {
              figures[arm].impressions++;
              figures[arm].expectedClicks += rate;
              if (clicked) figures[arm].clicks++;
            }
            if (arm === "best") {
              const tally = shown.get(cluster);
              if (tally) {
                tally.all++;
                if (got.offer === bestOffer(cluster)) tally.best++;
              }
            }
          }
        }),
      );
    }
    bestShare.push({
      day: day + 1,
      shares: Object.fromEntries([...shown].map(([c, t]) => [c, t.all ? t.best / t.all : 0])),
    });
    // The day's impressions and clicks in D1, then the isolate's learned state read again.
    await drained(worker, settleMs);
    const forgot = await fetch(`${worker.url}/bench/forget-learned`, { method: "POST" });
    if (forgot.status !== 204) throw new Error(`/bench/forget-learned answered ${forgot.status}`);
  }
  return { visitors, days, total, lastHalf, bestShare, seconds: (performance.now() - started) / 1000 };
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);

/** The "Next best offer" section of bench/RESULTS.md. */
export function writeOffersSection(file: string, f: OfferFigures, tiny: boolean) {
  const best = ratio(f.lastHalf.best.clicks, f.lastHalf.oracle.clicks);
  const pass =
    best >= 0.9 && f.lastHalf.best.clicks > f.lastHalf.priority.clicks && f.total.best.clicks > f.total.priority.clicks;
  const armRow = (name: string, arm: "priority" | "best" | "oracle") => [
    name,
    `${fmt(f.total[arm].clicks)} (${fmt(f.total[arm].expectedClicks, 1)})`,
    `${fmt(f.lastHalf[arm].clicks)} (${fmt(f.lastHalf[arm].expectedClicks, 1)})`,
    `${fmt(ratio(f.lastHalf[arm].clicks, f.lastHalf.oracle.clicks) * 100, 1)} %`,
  ];
  // The share of the best offer per cluster in four stretches of the run.
  const stretches = 4;
  const per = Math.max(1, Math.ceil(f.days / stretches));
  const shareRows = CLUSTERS.map((cluster) => [
    `${cluster} (best: ${OFFERS[bestOffer(cluster)]})`,
    ...Array.from({ length: Math.ceil(f.days / per) }, (_, s) => {
      const days = f.bestShare.slice(s * per, (s + 1) * per);
      const mean = days.reduce((n, d) => n + (d.shares[cluster] ?? 0), 0) / Math.max(1, days.length);
      return `${fmt(mean * 100, 0)} %`;
    }),
  ]);
  const body = `
## Next best offer

Thompson sampling per CRM cluster (worker/decide/offers.ts) on a simulated population
(bench/offers.ts, seed 27)${tiny ? " — **short run, figures not the record**" : ""}: ${fmt(f.visitors)} people in four
clusters with hidden click-through rates for four offers (each cluster prefers another offer;
the first by priority is best only for newcomers), ${fmt(f.days)} simulated days, each person visiting
on half of them. Every visit asks two sites with the same rules — one placement by \`priority\`,
one by \`best\` — for a banner through the real \`/b\` in workerd and follows a click through the
real \`/c\`; one draw per visit decides the click in both arms and for the oracle (which always
shows the cluster's best offer). Impressions and clicks reach the learned state through the
queue consumer; each simulated day ends with the queue drained and the isolate's 30-second state
read again. Clicks (expected clicks in brackets):

${table(
  ["arm", "clicks, whole run", "clicks, last half", "of the oracle's, last half"],
  [armRow("priority", "priority"), armRow("**best**", "best"), armRow("oracle", "oracle")],
)}

**Budget** — \`best\` reaches at least 90 % of the oracle's clicks over the last half and beats
\`priority\`: ${fmt(best * 100, 1)} % — ${verdict(pass)}.

Share of \`best\`'s banners that showed the cluster's best offer, by stretch of the run
(${per} simulated day${per === 1 ? "" : "s"} each):

${table(["cluster", ...Array.from({ length: Math.ceil(f.days / per) }, (_, s) => `days ${s * per + 1}–${Math.min(f.days, (s + 1) * per)}`)], shareRows)}

${fmt(f.total.best.impressions + f.total.priority.impressions)} banners and their clicks in ${fmt(f.seconds, 1)} s.
`;
  writeSection(file, "offers", body);
}
