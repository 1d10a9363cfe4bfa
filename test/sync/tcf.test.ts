/**
 * Cookie sync under the IAB TCF: TC strings made by the IAB's own encoder (@iabtechlabtcf/core)
 * travel on the sync pixel as `gdpr` / `gdpr_consent` (Prebid Server's /setuid parameters), decide
 * whether the partner ID is linked, and reach the partner's sync URL unchanged.
 */
import { env } from "cloudflare:workers";
import { GVL, TCModel, TCString } from "@iabtechlabtcf/core";
import { describe, expect, it } from "vitest";
import { call, createTestSite } from "../fixtures/api";
import { inHome } from "../fixtures/people";

const purposes = Object.fromEntries(
  Array.from({ length: 11 }, (_, i) => [
    i + 1,
    { id: i + 1, name: `Purpose ${i + 1}`, description: "", illustrations: [] },
  ]),
);
// A minimal Global Vendor List: the encoder needs one; these strings name no vendors.
const gvl = new GVL({
  gvlSpecificationVersion: 3,
  vendorListVersion: 100,
  tcfPolicyVersion: 5,
  lastUpdated: "2026-01-01T00:00:00Z",
  purposes,
  specialPurposes: {},
  features: {},
  specialFeatures: {},
  vendors: {},
  stacks: {},
  dataCategories: {},
} as unknown as ConstructorParameters<typeof GVL>[0]);

function tcString(consented: number[]): string {
  const model = new TCModel(gvl);
  model.cmpId = 10;
  model.cmpVersion = 1;
  model.isServiceSpecific = true;
  model.purposeConsents.set(consented);
  return TCString.encode(model);
}

const SYNC_URL = "https://sync.dsp.example/match?tw={tw_id}&gdpr={gdpr}&gdpr_consent={gdpr_consent}";

async function partnerSite() {
  const { siteKey, apiKey } = await createTestSite();
  await inHome(siteKey);
  const res = await call("/api/v1/partners", {
    method: "POST",
    key: apiKey,
    json: { key: "dsp", name: "DSP", sync_url: SYNC_URL },
  });
  expect(res.status).toBe(201);
  return siteKey;
}

async function sync(siteKey: string, puid: string, tcf: string) {
  return call(`/sync?site=${siteKey}&p=dsp&puid=${puid}${tcf}`, { redirect: "manual" });
}

async function linked(puid: string) {
  const row = await env.DB.prepare("select cookie_id from id_links where partner_user_id = ?").bind(puid).first();
  return row !== null;
}

describe("GET /sync with a TCF consent string", () => {
  it("links and passes gdpr=1 and the TC string on to the partner when purposes 1 and 4 are granted", async () => {
    const siteKey = await partnerSite();
    const consent = tcString([1, 2, 3, 4]);
    const res = await sync(siteKey, "u-granted", `&gdpr=1&gdpr_consent=${encodeURIComponent(consent)}`);
    expect(res.status).toBe(302);
    const target = new URL(res.headers.get("Location") ?? "");
    expect(target.origin + target.pathname).toBe("https://sync.dsp.example/match");
    expect(target.searchParams.get("gdpr")).toBe("1");
    expect(target.searchParams.get("gdpr_consent")).toBe(consent);
    expect(TCString.decode(target.searchParams.get("gdpr_consent") ?? "").purposeConsents.has(4)).toBe(true);
    expect(target.searchParams.get("tw")).toMatch(/^[0-9a-f]{32}$/);
    expect(await linked("u-granted")).toBe(true);
  });

  it("links nothing and sets no cookie when the string lacks purpose 4, is missing or cannot be read", async () => {
    const siteKey = await partnerSite();
    const cases = {
      "u-storage-only": `&gdpr=1&gdpr_consent=${encodeURIComponent(tcString([1]))}`,
      "u-no-string": "&gdpr=1",
      "u-garbage": "&gdpr=1&gdpr_consent=not-a-tc-string",
    };
    for (const [puid, tcf] of Object.entries(cases)) {
      const res = await sync(siteKey, puid, tcf);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/gif");
      expect(res.headers.get("set-cookie")).toBeNull();
      expect(await linked(puid)).toBe(false);
    }
  });

  it("links where GDPR does not apply and fills the placeholders with gdpr=0 and an empty string", async () => {
    const siteKey = await partnerSite();
    const res = await sync(siteKey, "u-outside", "&gdpr=0");
    expect(res.status).toBe(302);
    const target = new URL(res.headers.get("Location") ?? "");
    expect(target.searchParams.get("gdpr")).toBe("0");
    expect(target.searchParams.get("gdpr_consent")).toBe("");
    expect(await linked("u-outside")).toBe(true);
    expect((await sync(siteKey, "u-bad", "&gdpr=yes")).status).toBe(400);
  });
});
