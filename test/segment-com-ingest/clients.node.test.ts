/**
 * The official Node clients of Segment (`@segment/analytics-node`) and RudderStack
 * (`@rudderstack/rudder-sdk-node`), unchanged, pointed at a real `wrangler dev` (workerd, a
 * migrated and seeded local D1): the same shop scenario — identify, Product Viewed, Product Added,
 * Order Completed with the customer's coupon — sent once through each client and once through
 * tagwerk's own `POST /api/v1/events`, must leave the same marks on the visitor profile, the CRM
 * customer (orders, revenue, coupons redeemed) and the coupon (redeemed); sending the same
 * messages again (same messageIds, as a client's retry does) changes nothing. Segment's client
 * goes through the BASE_PATH prefix (/_tw), RudderStack's (gzip bodies) to the root.
 */
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import RudderAnalytics from "@rudderstack/rudder-sdk-node";
import { Analytics } from "@segment/analytics-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildTag,
  ensureDevVars,
  freePort,
  prepareLocalDatabase,
  ROOT,
  type RunningWorker,
  startWorker,
} from "../../scripts/local-worker";
import { DEMO } from "../../scripts/seed/demo";

const persistTo = join(ROOT, ".wrangler", `segment-clients-test-${process.pid}`);
let worker: RunningWorker;

/**
 * Runs statements on the worker's local D1 (wrangler's own files) with wrangler's own client, all
 * in one call (each call starts wrangler: seconds); one result list per statement.
 */
function queryAll(statements: string[]): Record<string, unknown>[][] {
  const result = spawnSync(
    join(ROOT, "node_modules", ".bin", "wrangler"),
    ["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--json", "--command", statements.join(";\n")],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" } },
  );
  if (result.status !== 0) throw new Error(`d1 execute failed: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { results: Record<string, unknown>[] }[]).map((r) => r.results);
}

const sq = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** A code held by the customer (as a banner's claim leaves it). */
function giveCode(customer: string, code: string) {
  return `insert into coupons (site_id, pool_id, code, holder, customer_id, assigned_at, expires_at)
     select s.id, p.id, ${sq(code)}, ${sq(`c:${customer}`)}, ${sq(customer)}, 0, 9999999999999
       from sites s join coupon_pools p on p.site_id = s.id and p.name = 'segment-test' where s.key = ${sq(DEMO.siteKey)}`;
}

const cookieFor = (n: number) => `${"0".repeat(30)}${String(n).padStart(2, "0")}`.slice(-32).replace(/^0/, "a");

function scenario(customer: string, cookie: string, code: string, tag: string) {
  const who = { userId: customer, anonymousId: cookie };
  return {
    identify: { ...who, messageId: `${tag}-1` },
    viewed: {
      ...who,
      event: "Product Viewed",
      messageId: `${tag}-2`,
      properties: { product_id: "R-SEG", name: "Ring", category: "segment-rings", price: 40 },
    },
    added: {
      ...who,
      event: "Product Added",
      messageId: `${tag}-3`,
      properties: { product_id: "R-SEG", category: "segment-rings", price: 40, quantity: 2 },
    },
    order: {
      ...who,
      event: "Order Completed",
      messageId: `${tag}-4`,
      properties: {
        order_id: `O-${tag}`,
        revenue: 80,
        currency: "EUR",
        coupon: code,
        products: [{ product_id: "R-SEG", price: 40, quantity: 2 }],
      },
    },
  };
}

async function viaSegment(s: ReturnType<typeof scenario>) {
  const analytics = new Analytics({
    writeKey: DEMO.apiKey,
    host: worker.url,
    path: "/_tw/v1/batch",
    // The client's default batching: the four messages reach /v1/batch in one request, in order.
    // (With flushAt: 1 it sends each in its own request at once, and they may arrive in any order;
    // cart state follows arrival order across requests, so a late "Product Added" refills the cart.)
    maxRetries: 0,
  });
  const failures: unknown[] = [];
  analytics.on("error", (error) => failures.push(error));
  const statuses: number[] = [];
  analytics.on("http_request", () => statuses.push(0));
  analytics.identify(s.identify);
  analytics.track(s.viewed);
  analytics.track(s.added);
  analytics.track(s.order);
  await analytics.closeAndFlush({ timeout: 20_000 });
  expect(failures).toEqual([]);
  expect(statuses.length).toBeGreaterThan(0);
}

async function viaRudder(s: ReturnType<typeof scenario>) {
  const client = new RudderAnalytics(DEMO.apiKey, { dataPlaneUrl: worker.url, flushAt: 1, retryCount: 0 });
  const sent = (fn: (cb: (error?: Error) => void) => void) =>
    new Promise<void>((resolve, reject) => fn((error) => (error ? reject(error) : resolve())));
  await sent((cb) => client.identify(s.identify, cb));
  await sent((cb) => client.track(s.viewed, cb));
  await sent((cb) => client.track(s.added, cb));
  await sent((cb) => client.track(s.order, cb));
}

async function viaOwnApi(customer: string, cookie: string, code: string, tag: string) {
  const ts = Date.now();
  const res = await fetch(`${worker.url}/api/v1/events`, {
    method: "POST",
    headers: { Authorization: `Bearer ${DEMO.apiKey}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      events: [
        { type: "identify", ts, cookie_id: cookie, props: { customer } },
        {
          type: "view",
          ts,
          cookie_id: cookie,
          customer,
          props: { sku: "R-SEG", name: "Ring", category: "segment-rings", price: 40 },
        },
        {
          type: "cart",
          ts,
          cookie_id: cookie,
          customer,
          props: { sku: "R-SEG", category: "segment-rings", price: 40, action: "add", qty: 2 },
        },
        {
          type: "purchase",
          ts,
          cookie_id: cookie,
          customer,
          props: {
            order: `O-${tag}`,
            value: 80,
            currency: "EUR",
            coupon: code,
            items: [{ sku: "R-SEG", price: 40, qty: 2 }],
          },
        },
      ],
    }),
  });
  expect(res.status).toBe(204);
}

type Figures = { orders: number; lifetime_revenue: number; coupons_redeemed: number };
type Subject = { customer: string; cookie: string; code: string; tag: string };

/** Per subject: the CRM customer's figures, what the scenario left on its visitor, its coupon — one wrangler call. */
function snapshot(list: Subject[]) {
  const results = queryAll(
    list.flatMap((s) => [
      `select orders, lifetime_revenue, coupons_redeemed from customers where customer_id = ${sq(s.customer)}`,
      `select customer_id, interests, cart_items, cart_value, last_purchase_at from visitors where cookie_id = ${sq(s.cookie)}`,
      `select redeemed_at, order_id from coupons where code = ${sq(s.code)}`,
    ]),
  );
  return list.map((_, i) => {
    const figures = results[i * 3][0] as Figures;
    const v = results[i * 3 + 1][0];
    const c = results[i * 3 + 2][0];
    return {
      figures,
      profile: v && {
        customer: v.customer_id,
        interest: (JSON.parse(String(v.interests)) as Record<string, number>)["segment-rings"],
        cart_items: v.cart_items,
        cart_value: v.cart_value,
        purchased: v.last_purchase_at !== null,
      },
      coupon: { redeemed: c.redeemed_at !== null, order: c.order_id },
    };
  });
}

const subjects = {
  own: { customer: "C-00001", cookie: cookieFor(1), code: "SEGTEST-OWN", tag: "own" },
  segment: { customer: "C-00002", cookie: cookieFor(2), code: "SEGTEST-SEG", tag: "seg" },
  rudder: { customer: "C-00003", cookie: cookieFor(3), code: "SEGTEST-RUD", tag: "rud" },
};
const before: Record<string, Figures> = {};

beforeAll(async () => {
  ensureDevVars();
  buildTag();
  rmSync(persistTo, { recursive: true, force: true });
  await prepareLocalDatabase(persistTo, ["http://localhost:1"], { demoOnly: true });
  queryAll([
    `insert into coupon_pools (site_id, name, kind, prefix, valid_days, discount)
     select id, 'segment-test', 'list', '', 30, '10 %' from sites where key = ${sq(DEMO.siteKey)}`,
    ...Object.values(subjects).map((s) => giveCode(s.customer, s.code)),
  ]);
  const figures = snapshot(Object.values(subjects));
  Object.keys(subjects).forEach((name, i) => {
    before[name] = figures[i].figures;
  });
  worker = await startWorker({
    port: await freePort(),
    inspectorPort: await freePort(),
    persistTo,
    quiet: true,
    vars: { BASE_PATH: "/_tw" },
  });
}, 600_000);

afterAll(async () => {
  await worker?.stop();
  rmSync(persistTo, { recursive: true, force: true });
});

function delta(name: keyof typeof subjects, now: Figures) {
  const was = before[name];
  return {
    orders: now.orders - was.orders,
    revenue: Math.round((now.lifetime_revenue - was.lifetime_revenue) * 100) / 100,
    coupons: now.coupons_redeemed - was.coupons_redeemed,
  };
}

describe("Segment and RudderStack Node clients against the worker", { timeout: 240_000 }, () => {
  it("leave the same profile, CRM figures and redeemed coupon as tagwerk's own server-side events", async () => {
    const { own, segment, rudder } = subjects;
    await viaOwnApi(own.customer, own.cookie, own.code, own.tag);
    await viaSegment(scenario(segment.customer, segment.cookie, segment.code, segment.tag));
    await viaRudder(scenario(rudder.customer, rudder.cookie, rudder.code, rudder.tag));
    const [o, s, r] = snapshot([own, segment, rudder]);

    const expected = delta("own", o.figures);
    expect(expected).toEqual({ orders: 1, revenue: 80, coupons: 1 });
    expect(delta("segment", s.figures)).toEqual(expected);
    expect(delta("rudder", r.figures)).toEqual(expected);

    expect(o.profile).toMatchObject({ customer: own.customer, purchased: true });
    expect(o.profile.interest).toBeGreaterThan(0);
    expect(s.profile).toEqual({ ...o.profile, customer: segment.customer });
    expect(r.profile).toEqual({ ...o.profile, customer: rudder.customer });

    expect(o.coupon).toEqual({ redeemed: true, order: "O-own" });
    expect(s.coupon).toEqual({ redeemed: true, order: "O-seg" });
    expect(r.coupon).toEqual({ redeemed: true, order: "O-rud" });
  });

  it("change nothing when the same messages are sent again (a client's retry)", async () => {
    const { segment, rudder } = subjects;
    const first = snapshot([segment, rudder]);
    await viaSegment(scenario(segment.customer, segment.cookie, segment.code, segment.tag));
    await viaRudder(scenario(rudder.customer, rudder.cookie, rudder.code, rudder.tag));
    expect(snapshot([segment, rudder])).toEqual(first);
    const [[rejected]] = queryAll(["select count(*) as n from rejected_events where source in ('segment', 'server')"]);
    expect(rejected.n).toBe(0);
  });
});
