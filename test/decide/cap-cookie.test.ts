/**
 * A browser's own frequency caps hold exactly before the queue consumer writes the counters
 * (README.md, "Frequency caps under bursts"): the signed `tw_cap_SITE` cookie carries the counts
 * between back-to-back banners, the isolate's note covers banners asked for all at once.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { forgetServedNotes } from "../../worker/decide/cap-cookie";
import type { EventsQueueMessage } from "../../worker/pipeline/messages";
import { type BannerJson, bannerSite, fetchWorker, randomCookie } from "../fixtures/banner";
import { recordingQueue } from "../fixtures/queue";

/** Impressions go to a queue nobody consumes: the stored cap counters stay at zero throughout. */
function stalledQueueEnv() {
  const recording = recordingQueue();
  return { testEnv: { ...env, EVENTS_QUEUE: recording.queue } as unknown as Env, sent: recording.sent };
}

/** The impressions in what /b sent: an isolate's group messages carry them (pipeline/producers.ts). */
function impressionsIn(sent: EventsQueueMessage[]) {
  return sent.flatMap((m) => (m.kind === "decisions" ? m.items : [m])).filter((m) => m.kind === "impression");
}

async function cappedSite() {
  const site = await bannerSite();
  await site.fallback("slot", await site.creative("html", "<p>house</p>"));
  const ruleId = await site.rule({ creative_id: await site.creative("html", "<p>offer</p>"), cap_per_day: 2 });
  return { site, ruleId };
}

async function banner(siteKey: string, jar: Map<string, string>, testEnv: Env) {
  const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
  const res = await fetchWorker(`/b/slot?site=${siteKey}&format=json`, { headers: { Cookie: cookie } }, testEnv);
  expect(res.status).toBe(200);
  // The only cookies /b sets are tw_cap_SITE; several Set-Cookie headers come joined by ", ".
  for (const match of (res.headers.get("Set-Cookie") ?? "").matchAll(/(tw_cap_[a-z0-9-]+)=([^;]*)/g)) {
    jar.set(match[1], match[2]);
  }
  return { json: (await res.json()) as BannerJson };
}

describe("frequency caps under bursts", () => {
  it("serves a rule capped at 2 exactly twice in five back-to-back banners, each on a fresh isolate", async () => {
    const { site, ruleId } = await cappedSite();
    const { testEnv, sent } = stalledQueueEnv();
    const jar = new Map([["tw_id", randomCookie()]]);
    const served: (number | null)[] = [];
    for (let i = 0; i < 5; i++) {
      // Another isolate knows nothing of the earlier banners: only the cookie carries them.
      forgetServedNotes();
      served.push((await banner(site.siteKey, jar, testEnv)).json.rule);
    }
    expect(served).toEqual([ruleId, ruleId, null, null, null]);
    expect(impressionsIn(sent)).toHaveLength(5);
    const stored = await env.DB.prepare("select count(*) as n from person_caps where rule_id = ?")
      .bind(ruleId)
      .first<number>("n");
    expect(stored).toBe(0);
    // Small, signed, and without personal data: day, rule-count pairs, MAC.
    const value = jar.get(`tw_cap_${site.siteKey}`) ?? "";
    expect(value).toMatch(new RegExp(`^\\d+\\.${ruleId}-2\\.[0-9a-f]{32}$`));
  });

  it("serves it exactly twice to five concurrent banners of one browser", async () => {
    const { site, ruleId } = await cappedSite();
    const { testEnv } = stalledQueueEnv();
    const jar = new Map([["tw_id", randomCookie()]]);
    const results = await Promise.all(Array.from({ length: 5 }, () => banner(site.siteKey, new Map(jar), testEnv)));
    expect(results.filter((r) => r.json.rule === ruleId)).toHaveLength(2);
  });

  it("ignores a tampered or another browser's cap cookie, and caps each browser on its own", async () => {
    const { site, ruleId } = await cappedSite();
    const { testEnv } = stalledQueueEnv();
    const first = new Map([["tw_id", randomCookie()]]);
    await banner(site.siteKey, first, testEnv);
    await banner(site.siteKey, first, testEnv);
    const capCookie = first.get(`tw_cap_${site.siteKey}`) as string;
    forgetServedNotes();
    // Another browser carrying the first one's cookie is not capped by it (the MAC binds tw_id).
    const other = new Map([
      ["tw_id", randomCookie()],
      [`tw_cap_${site.siteKey}`, capCookie],
    ]);
    expect((await banner(site.siteKey, other, testEnv)).json.rule).toBe(ruleId);
    // An edited cookie is ignored, never trusted: a third browser whose count was raised to 9 by
    // hand (its MAC no longer fits) still gets the rule, as its stored counters say.
    forgetServedNotes();
    const third = new Map([["tw_id", randomCookie()]]);
    await banner(site.siteKey, third, testEnv);
    forgetServedNotes();
    const edited = new Map(third);
    edited.set(
      `tw_cap_${site.siteKey}`,
      (third.get(`tw_cap_${site.siteKey}`) as string).replace(`${ruleId}-1`, `${ruleId}-9`),
    );
    expect((await banner(site.siteKey, edited, testEnv)).json.rule).toBe(ruleId);
  });
});
