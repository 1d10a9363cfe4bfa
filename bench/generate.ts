/**
 * Generates the benchmark's populated D1 with a fixed seed: one site, CRM customers across
 * clusters, visitors (a share linked to customers), 200 rules over 10 placements with segments
 * and creatives, list pools of pre-made codes (some already held), fallbacks. Rows go in as
 * multi-row INSERTs with literal values in large D1 batches — the only way to write 100,000s of
 * rows into a local D1 in seconds (bound parameters are capped at 100 per statement). Every
 * literal comes from this file's own generator (numbers, hex, fixed words), escaped all the same.
 */

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createRandom } from "../scripts/seed/random";
import { hashApiKey } from "../worker/auth/api-keys";
import { couponHolder } from "../worker/coupons";
import { rebuildDecisionRows } from "../worker/decide/decision-rows";
import { MS_PER_DAY as DAY } from "../worker/lib/time";
import { groupByShard, peopleFor, peopleOfSite, type ShardEnv, shardBindings } from "../worker/shards/routing";

export type Scale = {
  visitors: number;
  customers: number;
  rules: number;
  placements: number;
  /** Codes in each list pool. */
  poolCodes: number;
  /** Rows of the exported audience. */
  audienceRows: number;
};

export const FULL: Scale = {
  visitors: 100_000,
  customers: 50_000,
  rules: 200,
  placements: 10,
  poolCodes: 100_000,
  audienceRows: 1_000_000,
};
export const TINY: Scale = {
  visitors: 400,
  customers: 200,
  rules: 20,
  placements: 10,
  poolCodes: 400,
  audienceRows: 2_000,
};

const SITE_KEY = "bench";
const API_KEY = "bench-api-key-0123456789";
const SEED = 20_260_301;
export const CLUSTERS = ["rings", "earrings", "necklaces", "watches", "bracelets", "gifts", "men", "vintage"];
const CATEGORIES = ["rings", "earrings", "necklaces", "watches", "bracelets"];

/** What the load phases need to know about the generated data. */
export type Fixture = {
  siteId: number;
  siteKey: string;
  apiKey: string;
  /** Placement whose rules have no pool: every decision is the steady state. */
  steadyPlacement: string;
  /** Placement whose catch-all rule hands out codes from the claim pool. */
  claimPlacement: string;
  /** Visitors who already hold a code of the claim pool (steady state with a coupon). */
  holders: string[];
  /** Visitors who hold no code yet: each first request to the claim placement claims one. */
  fresh: string[];
  /** Any visitors (for /e and the one-read floor). */
  all: string[];
  audienceId: number;
};

const q = (s: string) => `'${s.replaceAll("'", "''")}'`;
const hex = (rand: () => number) => {
  let out = "";
  for (let i = 0; i < 4; i++)
    out += Math.floor(rand() * 0x1_0000_0000)
      .toString(16)
      .padStart(8, "0");
  return out;
};

export async function applyMigrations(db: D1Database, dir: string) {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  for (const file of files) {
    const statements = readFileSync(join(dir, file), "utf8")
      .split("--> statement-breakpoint")
      .map((s) => s.trim())
      .filter(Boolean);
    await db.batch(statements.map((s) => db.prepare(s)));
  }
}

/** Inserts rows as multi-row INSERTs: `rowsPerStatement` rows each, `statementsPerBatch` per trip. */
async function insertRows(
  db: D1Database,
  head: string,
  rows: string[],
  rowsPerStatement = 500,
  statementsPerBatch = 20,
) {
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < rows.length; i += rowsPerStatement) {
    statements.push(db.prepare(`${head} values ${rows.slice(i, i + rowsPerStatement).join(",")}`));
  }
  for (let i = 0; i < statements.length; i += statementsPerBatch) {
    await db.batch(statements.slice(i, i + statementsPerBatch));
  }
}

export const creativeTemplate = (i: number) =>
  `<a href="{{click_url}}"><div class="b${i}"><p>Für Sie: {{discount}} mit Code {{coupon}}</p><p>{{cluster}}</p><small>bis {{expires}}</small></div></a>`;

/** 200 distinct expressions in the segment language, from the shapes README.md, "Segments" names. */
export function segmentExpressions(count: number, seed = SEED): string[] {
  const r = createRandom(seed + 7);
  const shapes: (() => string)[] = [
    () =>
      `cluster in ("${r.pick(CLUSTERS)}", "${r.pick(CLUSTERS)}") and interest("${r.pick(CATEGORIES)}") >= ${r.int(2, 9)}`,
    () =>
      `gender = "${r.pick(["f", "m"])}" and days_since_last_order >= ${r.int(90, 400)} and lifetime_revenue > ${r.int(50, 900)} and coupons_redeemed = 0`,
    () => `cart_items > ${r.int(0, 2)} and cart_age_hours >= ${r.int(1, 48)} and not customer`,
    () => `days_since_first_order <= ${r.int(7, 60)} and orders >= ${r.int(1, 3)}`,
    () => `visits >= ${r.int(5, 40)} and pageviews > ${r.int(20, 200)} and cluster contains "${r.pick(CLUSTERS)}"`,
    () => `lookalike_score > 0.${r.int(80, 99)} and not customer`,
    () =>
      `device = "${r.pick(["mobile", "tablet"])}" and interest("${r.pick(CATEGORIES)}", ${r.int(7, 60)}) >= ${r.int(2, 5)}`,
    () => `country = "${r.pick(["AT", "CH", "FR"])}" and visits(${r.int(7, 30)}) >= ${r.int(3, 9)}`,
  ];
  const out = new Set<string>();
  while (out.size < count) out.add(r.pick(shapes)());
  return [...out];
}

/** Up to three category interests, all counted on the last visit's day (visitors.interests / interest_days). */
export function randomInterests(r: ReturnType<typeof createRandom>, lastSeen: number) {
  const interests: Record<string, number> = {};
  const interestDays: Record<string, Record<string, number>> = {};
  const day = new Date(lastSeen).toISOString().slice(0, 10);
  for (let k = r.int(0, 3); k > 0; k--) {
    const cat = r.pick(CATEGORIES);
    const n = r.int(1, 12);
    interests[cat] = (interests[cat] ?? 0) + n;
    interestDays[cat] = { [day]: n };
  }
  return { interests, interestDays };
}

/**
 * Where the generated people go (docs/architecture.md, "Shards"): the D1 bindings by name (HOME's
 * `DB` and the `PEOPLE_k`) and the site's shard set. Without it, or with `shards` null, the site is
 * one created before shards and its people are in HOME, as the decision bench has always measured.
 */
export type PeoplePlacement = { databases: Record<string, D1Database>; shards: number[] | null };

export async function generateBenchData(
  db: D1Database,
  migrationsDir: string,
  scale: Scale,
  now: number,
  placement: PeoplePlacement = { databases: { DB: db }, shards: null },
): Promise<Fixture> {
  const r = createRandom(SEED);
  await applyMigrations(db, migrationsDir);
  // Every row about a person goes where the Worker's routing module says it lives: the same
  // functions the Worker calls (worker/shards/routing.ts), so the bench cannot place a row where
  // the Worker would not look for it.
  const env = { ...placement.databases, DB: db } as ShardEnv;
  const site = { shards: placement.shards };
  for (const shard of shardBindings(env)) await applyMigrations(shard, join(migrationsDir, "people"));

  await db.batch([
    db
      .prepare(
        "insert into sites (id, key, name, allowed_origins, consent_mode, holdout, shards) values (1, ?, 'Bench shop', '[\"https://shop.bench.example\"]', 'implied', 0.05, ?)",
      )
      .bind(SITE_KEY, site.shards === null ? null : JSON.stringify(site.shards)),
    db
      .prepare("insert into api_keys (site_id, prefix, hash) values (1, ?, ?)")
      .bind(API_KEY.slice(0, 10), await hashApiKey(API_KEY)),
  ]);

  // CRM customers across clusters (inserted once the visitors say which shards need a copy).
  const customerRows: string[] = [];
  for (let i = 0; i < scale.customers; i++) {
    const first = now - r.int(1, 1500) * DAY;
    const last = Math.min(now - DAY, first + r.int(0, 1200) * DAY);
    const clusters = [...new Set([r.pick(CLUSTERS), ...(r.chance(0.4) ? [r.pick(CLUSTERS)] : [])])];
    customerRows.push(
      `${q(hex(r.next))},${q(r.chance(0.6) ? "f" : "m")},${(r.next() * 2000).toFixed(2)},${r.int(1, 30)},${first},${last},${r.int(0, 3)},${q(JSON.stringify(clusters))},'{}'`,
    );
  }

  // Visitors: 40 % linked to a customer; interests, recent visit days, some carts.
  const all: string[] = [];
  const linked: (string | null)[] = [];
  const visitorRows: { cookie: string; row: string }[] = [];
  for (let i = 0; i < scale.visitors; i++) {
    const cookie = hex(r.next);
    const customerId = r.chance(0.4) ? `C-${r.int(0, scale.customers - 1)}` : null;
    all.push(cookie);
    linked.push(customerId);
    const firstSeen = now - r.int(0, 400) * DAY;
    const lastSeen = Math.max(firstSeen, now - r.int(0, 60) * DAY);
    const { interests, interestDays } = randomInterests(r, lastSeen);
    const visits = r.int(1, 60);
    const cartItems = r.chance(0.15) ? r.int(1, 4) : 0;
    visitorRows.push({
      cookie,
      row: `(1,${q(cookie)},${customerId ? q(customerId) : "null"},${firstSeen},${lastSeen},${visits},${visits * r.int(1, 6)},${q(JSON.stringify(interests))},${q(JSON.stringify(interestDays))},${q(JSON.stringify({ [new Date(lastSeen).toISOString().slice(0, 10)]: 1 }))},'[]',${cartItems},${cartItems * r.int(20, 400)},${cartItems ? now - r.int(1, 72) * 3_600_000 : "null"},${(r.next()).toFixed(3)})`,
    });
  }
  for (const { people, items } of groupByShard(env, site, visitorRows, (v) => v.cookie)) {
    await insertRows(
      people.d1,
      "insert into visitors (site_id, cookie_id, customer_id, first_seen_at, last_seen_at, visits, pageviews, interests, interest_days, visit_days, cart, cart_items, cart_value, cart_updated_at, lookalike_score)",
      items.map((v) => v.row),
    );
  }

  // A customer's own row is on the customer's shard; a copy goes to each other shard that holds a
  // cookie linked to it, and the own row notes those shards (`copies_on`), as the link writers do.
  const copiesOn = new Map<number, Set<number>>();
  linked.forEach((customerId, i) => {
    if (customerId === null || site.shards === null) return;
    const own = peopleFor(env, site, customerId).shard as number;
    const cookieShard = peopleFor(env, site, all[i]).shard as number;
    if (cookieShard === own) return;
    const c = Number(customerId.slice(2));
    const set = copiesOn.get(c) ?? new Set<number>();
    set.add(cookieShard);
    copiesOn.set(c, set);
  });
  const customerPlacements: { key: string; shard: number | null; row: string }[] = [];
  customerRows.forEach((values, i) => {
    const key = `C-${i}`;
    const copies = [...(copiesOn.get(i) ?? [])].sort((a, b) => a - b);
    customerPlacements.push({
      key,
      shard: null,
      row: `(1,${q(key)},0,${q(JSON.stringify(copies))},${values})`,
    });
    for (const k of copies) customerPlacements.push({ key, shard: k, row: `(1,${q(key)},1,'[]',${values})` });
  });
  const byDb = new Map<D1Database, string[]>();
  for (const c of customerPlacements) {
    const d1 = c.shard === null ? peopleFor(env, site, c.key).d1 : (shardBindings(env)[c.shard] as D1Database);
    const rows = byDb.get(d1) ?? [];
    rows.push(c.row);
    byDb.set(d1, rows);
  }
  for (const [d1, rows] of byDb) {
    await insertRows(
      d1,
      "insert into customers (site_id, customer_id, copy, copies_on, email_sha256, gender, lifetime_revenue, orders, first_order_at, last_order_at, coupons_redeemed, clusters, attributes)",
      rows,
    );
  }

  // Segments, creatives (one per rule), pools, rules, fallbacks.
  const expressions = segmentExpressions(scale.rules);
  await insertRows(
    db,
    "insert into segments (site_id, name, expression)",
    expressions.map((e, i) => `(1,'segment ${i}',${q(e)})`),
  );
  const creativeRows = [];
  for (let i = 0; i <= scale.rules; i++) {
    creativeRows.push(
      `(1,'creative ${i}','html',${q(creativeTemplate(i))},300,250,'https://shop.bench.example/offer/${i}')`,
    );
  }
  await insertRows(
    db,
    "insert into creatives (site_id, name, format, template, width, height, landing_url)",
    creativeRows,
  );
  const fallbackCreative = scale.rules + 1;
  // Pool 1: the claim pool (catch-all of the claim placement); pool 2: codes of the other placements.
  await db.batch([
    db.prepare(
      "insert into coupon_pools (id, site_id, name, kind, prefix, valid_days, discount) values (1, 1, 'claim', 'list', '', 30, '10 %'), (2, 1, 'other', 'list', '', 30, '15 EUR')",
    ),
  ]);

  const placements = Array.from({ length: scale.placements }, (_, i) => `p${i}`);
  const [steadyPlacement, claimPlacement] = placements;
  const perPlacement = Math.floor(scale.rules / scale.placements);
  const ruleRows: string[] = [];
  let rule = 0;
  for (const placement of placements) {
    for (let k = 0; k < perPlacement; k++, rule++) {
      const catchAll = k === perPlacement - 1;
      // Every placement's last rule matches every visitor, so a decision walks all of its rules.
      const segment = catchAll ? "null" : String(rule + 1);
      const pool =
        placement === steadyPlacement
          ? "null"
          : placement === claimPlacement
            ? // Only the catch-all hands out codes here, so that the holders' phase measures holders
              // (a segment rule with its own pool would make their first decision a claim).
              catchAll
              ? "1"
              : "null"
            : k % 3 === 0
              ? "2"
              : "null";
      ruleRows.push(
        `(1,'rule ${rule}',${q(placement)},${segment},${rule + 1},${pool},${(k + 1) * 10},${catchAll ? "0" : "null"},1)`,
      );
    }
  }
  await insertRows(
    db,
    "insert into rules (site_id, name, placement, segment_id, creative_id, pool_id, priority, holdout, enabled)",
    ruleRows,
  );
  await insertRows(
    db,
    "insert into placement_fallbacks (site_id, placement, creative_id, updated_at)",
    placements.map((p) => `(1,${q(p)},${fallbackCreative},${now})`),
  );

  // Pool codes; the first fifth of the visitors already hold a code of the claim pool (a linked
  // visitor holds it as its customer, so two visitors of one customer share one code).
  const holderCount = Math.floor(scale.visitors / 5);
  const holderOf = (i: number) => couponHolder({ customerId: linked[i], cookieId: all[i] });
  const assigned = new Map<string, number>();
  for (let i = 0; i < holderCount; i++) if (!assigned.has(holderOf(i))) assigned.set(holderOf(i), i);
  const holders = all.slice(0, holderCount);
  const fresh = all.filter((_, i) => i >= holderCount && !assigned.has(holderOf(i)));
  const owners = [...assigned.values()];
  const codeRows: string[] = [];
  for (let i = 0; i < scale.poolCodes; i++) {
    const code = `B${i.toString(36).toUpperCase().padStart(6, "0")}`;
    const owner = owners[i];
    if (owner !== undefined) {
      codeRows.push(
        `(1,1,${q(code)},${q(holderOf(owner))},${q(all[owner])},${linked[owner] ? q(linked[owner] as string) : "null"},${scale.rules},${now - DAY},${now + 29 * DAY})`,
      );
    } else codeRows.push(`(1,1,${q(code)},null,null,null,null,null,null)`);
    codeRows.push(`(1,2,${q(`O${code}`)},null,null,null,null,null,null)`);
  }
  await insertRows(
    db,
    "insert into coupons (site_id, pool_id, code, holder, cookie_id, customer_id, rule_id, assigned_at, expires_at)",
    codeRows,
  );

  // The holders' copies of their codes (person_codes), which the decision row reads: a cookie's on
  // its shard, a customer's on every shard of the set (docs/architecture.md, "Shards").
  const held = await db
    .prepare(
      "select id, pool_id, holder, rule_id, code, expires_at from coupons where site_id = 1 and holder is not null",
    )
    .all<{ id: number; pool_id: number; holder: string; rule_id: number | null; code: string; expires_at: number }>();
  const codeCopies = new Map<D1Database, string[]>();
  for (const c of held.results) {
    const row = `(1,${q(c.holder)},${c.id},${c.pool_id},${c.rule_id ?? "null"},${q(c.code)},${c.expires_at},null)`;
    const targets = c.holder.startsWith("v:") ? [peopleFor(env, site, c.holder.slice(2))] : peopleOfSite(env, site);
    for (const { d1 } of targets) {
      const rows = codeCopies.get(d1) ?? [];
      rows.push(row);
      codeCopies.set(d1, rows);
    }
  }
  for (const [d1, rows] of codeCopies) {
    await insertRows(
      d1,
      "insert or ignore into person_codes (site_id, holder, coupon_id, pool_id, rule_id, code, expires_at, redeemed_at)",
      rows,
    );
  }

  await db
    .prepare("insert into audiences (id, site_id, name, kind, params) values (1, 1, 'bench export', 'segment', '{}')")
    .run();
  // The rows went in past the writers, as a restored database would: the operator's rebuild makes
  // the decision rows /b reads (worker/decide/decision-rows.ts), in its own resumable steps, on
  // every database of the site's set (each row's sources are on its own shard).
  for (const { d1 } of peopleOfSite(env, site)) {
    for (let after = 0; ; ) {
      const step = await rebuildDecisionRows(d1, 1, after, now, 2_000);
      if (!step) break;
      after = step.last;
    }
  }
  return {
    siteId: 1,
    siteKey: SITE_KEY,
    apiKey: API_KEY,
    steadyPlacement,
    claimPlacement,
    holders,
    fresh,
    all,
    audienceId: 1,
  };
}

/**
 * Fills the audience with `rows` members, generated inside SQLite (a recursive CTE) in chunks. The
 * export joins members to visitors, so each member gets a minimal visitor of its own (ids from
 * 10,000,000 up, clear of the generated ones).
 */
export async function fillAudience(db: D1Database, audienceId: number, rows: number, now: number) {
  const chunk = 100_000;
  const base = 10_000_000;
  for (let start = 0; start < rows; start += chunk) {
    const end = Math.min(rows, start + chunk);
    const seq = "with recursive n(i) as (select ? union all select i + 1 from n where i + 1 < ?)";
    await db.batch([
      db
        .prepare(
          `${seq} insert into visitors (id, site_id, cookie_id, first_seen_at, last_seen_at, visits, pageviews)
           select ? + i, 1, printf('%016x%016x', (i * 2654435761) % 4294967296, i), ?, ?, 1, 1 from n`,
        )
        .bind(start, end, base, now, now),
      db
        .prepare(
          `${seq} insert into audience_members (audience_id, visitor_id, cookie_id)
           select ?, ? + i, printf('%016x%016x', (i * 2654435761) % 4294967296, i) from n`,
        )
        .bind(start, end, audienceId, base),
      // What a refresh records per ID space and the export reads (worker/audiences/id-spaces.ts).
      db
        .prepare(
          `${seq} insert into audience_space_members (audience_id, id_space, value)
           select ?, 'tw', printf('%016x%016x', (i * 2654435761) % 4294967296, i) from n`,
        )
        .bind(start, end, audienceId),
    ]);
  }
}
