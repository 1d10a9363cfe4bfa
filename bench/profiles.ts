/**
 * Profiles for the Node-side figures (decision logic, segment evaluation): visitors and linked CRM
 * customers shaped like the generated database's rows, from the same kind of seeded generator.
 */
import { createRandom } from "../scripts/seed/random";
import { MS_PER_DAY as DAY } from "../worker/lib/time";
import type { CustomerRow, VisitorRow } from "../worker/segments/profile";
import { buildProfile, type Profile } from "../worker/segments/profile";
import { CLUSTERS, randomInterests } from "./generate";

export function makeProfiles(count: number, now: number, seed = 99): Profile[] {
  const r = createRandom(seed);
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const out: Profile[] = [];
  for (let i = 0; i < count; i++) {
    const cookieId = i.toString(16).padStart(32, "0");
    const lastSeen = now - r.int(0, 60) * DAY;
    const { interests, interestDays } = randomInterests(r, lastSeen);
    const visits = r.int(1, 60);
    const cartItems = r.chance(0.15) ? r.int(1, 4) : 0;
    const linked = r.chance(0.4);
    const visitor: VisitorRow = {
      id: i + 1,
      siteId: 1,
      cookieId,
      customerId: linked ? `C-${i}` : null,
      firstSeenAt: now - r.int(0, 400) * DAY,
      lastSeenAt: lastSeen,
      visits,
      pageviews: visits * r.int(1, 6),
      interests,
      interestDays,
      visitDays: { [day(lastSeen)]: 1 },
      eventCounts: r.chance(0.2) ? { newsletter_signup: 1 } : {},
      eventDays: {},
      purchaseDays: {},
      cart: [],
      recentSkus: [],
      cartItems,
      cartValue: cartItems * r.int(20, 400),
      cartUpdatedAt: cartItems ? now - r.int(1, 72) * 3_600_000 : null,
      lastPurchaseAt: null,
      consent: null,
      lookalikeScore: r.next(),
      acquisition: null,
      createdAt: now,
    };
    const first = now - r.int(1, 1500) * DAY;
    const customer: CustomerRow | null = linked
      ? {
          id: i + 1,
          siteId: 1,
          customerId: `C-${i}`,
          copy: false,
          copiesOn: [],
          emailSha256: null,
          uid2Email: null,
          gender: r.chance(0.6) ? "f" : "m",
          lifetimeRevenue: r.next() * 2000,
          orders: r.int(1, 30),
          firstOrderAt: first,
          lastOrderAt: Math.min(now - DAY, first + r.int(0, 1200) * DAY),
          couponsRedeemed: r.int(0, 3),
          adsConsent: null,
          clusters: [r.pick(CLUSTERS)],
          attributes: {},
          createdAt: now,
          updatedAt: now,
        }
      : null;
    out.push(
      buildProfile(visitor, customer, {
        placement: "p0",
        country: r.pick(["DE", "AT", "CH", "FR"]),
        device: r.pick(["desktop", "mobile", "tablet"]),
      }),
    );
  }
  return out;
}
