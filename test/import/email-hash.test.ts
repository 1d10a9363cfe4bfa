/**
 * The hashed-e-mail ID spaces against published vectors: the UID2 documentation's normalisation and
 * encoding examples (IABTechLab/uid2docs, docs/getting-started/gs-normalization-encoding.md), and
 * Google's and Meta's rule (trim, lower-case, SHA-256, hex; no gmail rewriting), checked against
 * node's own SHA-256 — then through the public import into D1.
 */

import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { emailSha256, normalizeEmailUid2, uid2EmailHash } from "../../worker/import/email-hash";
import { createTestSite, importCsv, siteIdOf } from "../fixtures/api";
import { peopleAll, peopleFirst } from "../fixtures/people";

/** [inputs, UID2-normalised, hex SHA-256, Base64 SHA-256] as the UID2 docs publish them. */
const UID2_VECTORS: [string[], string, string, string][] = [
  [
    ["MyEmail@example.com", "MYEMAIL@example.com"],
    "myemail@example.com",
    "16c18d336f0b250f0e2d907452ceb9658a74ecdae8bc94864c23122a72cc27a5",
    "FsGNM28LJQ8OLZB0Us65ZYp07NrovJSGTCMSKnLMJ6U=",
  ],
  [
    ["My.Email@example.com"],
    "my.email@example.com",
    "e22b53bc6f871274f3a62ab37a3caed7214fc14d676215a96a242fcfada1c81f",
    "4itTvG+HEnTzpiqzejyu1yFPwU1nYhWpaiQvz62hyB8=",
  ],
  [
    ["JANESAOIRSE@example.com", "JaneSaoirse@example.com"],
    "janesaoirse@example.com",
    "d6670e7a92007f1b5ff785f1fc81e53aa6d3d7bd06bdf5c473cdc7286c284b6d",
    "1mcOepIAfxtf94Xx/IHlOqbT170GvfXEc83HKGwoS20=",
  ],
  [
    ["jane.saoirse@example.com", "Jane.Saoirse@example.com"],
    "jane.saoirse@example.com",
    "b196432c7b989a2ca91c83799957c515da53e6c13abf20b78fea94f117e90bf8",
    "sZZDLHuYmiypHIN5mVfFFdpT5sE6vyC3j+qU8RfpC/g=",
  ],
  [
    ["JaneSaoirse+Work@example.com"],
    "janesaoirse+work@example.com",
    "28aaee4815230cd3b4ebd88c515226550666e91ac019929e3adac3f66c288180",
    "KKruSBUjDNO069iMUVImVQZm6RrAGZKeOtrD9mwogYA=",
  ],
  [
    ["JANE.SAOIRSE@gmail.com", "Jane.Saoirse@gmail.com", "JaneSaoirse+Work@gmail.com"],
    "janesaoirse@gmail.com",
    "92ee26057ed9dea2535d6c8b141d48373932476599196e00352254896db5888f",
    "ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8=",
  ],
  [
    ["user@example.com"],
    "user@example.com",
    "b4c9a289323b21a01c3e940f150eb9b8c542587f1abfd8f0e1cc1ffc5e475514",
    "tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=",
  ],
];

const nodeSha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("UID2 e-mail hash (uid2_email)", () => {
  for (const [inputs, normalized, hex, base64] of UID2_VECTORS) {
    for (const input of inputs) {
      it(`${input} normalises to ${normalized} and hashes to the published ${base64}`, async () => {
        expect(normalizeEmailUid2(input)).toBe(normalized);
        expect(await uid2EmailHash(input)).toBe(base64);
        expect(Buffer.from(base64, "base64").toString("hex")).toBe(hex);
      });
    }
  }

  it("trims surrounding spaces and drops the gmail +suffix and dots only on gmail.com", async () => {
    expect(normalizeEmailUid2("  Jane.Doe+Home@Gmail.com \t")).toBe("janedoe@gmail.com");
    expect(normalizeEmailUid2("jane.doe+home@googlemail.com")).toBe("jane.doe+home@googlemail.com");
    expect(normalizeEmailUid2("jane.doe@gmail.com.example")).toBe("jane.doe@gmail.com.example");
    // The UID2 docs' warning: the un-normalised address gives another hash.
    expect(await uid2EmailHash("JANESaoirse@gmail.com")).toBe("ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8=");
    expect(createHash("sha256").update("JANESaoirse@gmail.com").digest("base64")).toBe(
      "VpLXEp5N1bj/V1WzjgZsC+FfuYdntAOywSVIO00FD/E=",
    );
  });
});

describe("Google Customer Match and Meta e-mail hash (email_sha256)", () => {
  it("is the lower-case hex SHA-256 of the trimmed, lower-cased address", async () => {
    expect(await emailSha256("  MyEmail@Example.com\n")).toBe(
      "16c18d336f0b250f0e2d907452ceb9658a74ecdae8bc94864c23122a72cc27a5",
    );
    expect(await emailSha256("Jane.Doe@Example.com")).toBe(nodeSha256("jane.doe@example.com"));
  });

  it("keeps gmail dots and +suffixes, which neither Google's nor Meta's file rule removes", async () => {
    expect(await emailSha256("Jane.Saoirse+Work@gmail.com")).toBe(nodeSha256("jane.saoirse+work@gmail.com"));
    expect(await emailSha256("Jane.Saoirse+Work@gmail.com")).not.toBe(
      "92ee26057ed9dea2535d6c8b141d48373932476599196e00352254896db5888f",
    );
  });
});

describe("customer import into the e-mail ID spaces", () => {
  it("stores both hashes of a clear address and never the address; email_sha256 alone has no UID2 hash", async () => {
    const { apiKey, siteKey } = await createTestSite();
    const res = await importCsv(
      apiKey,
      "customer_id,email\nC-1, Jane.Saoirse+Work@gmail.com \nC-2,MyEmail@example.com\n",
    );
    expect(await res.json()).toMatchObject({ accepted: 2, rejected: [], rejected_count: 0 });
    const hashOnly = await importCsv(
      apiKey,
      "customer_id,email_sha256\nC-3,16C18D336F0B250F0E2D907452CEB9658A74ECDAE8BC94864C23122A72CC27A5\n",
    );
    expect(hashOnly.status).toBe(200);

    const siteId = await siteIdOf(siteKey);
    const results = (
      await peopleAll<Record<string, unknown>>(siteId, "select c.* from customers c where c.site_id = ?", siteId)
    ).sort((a, b) => String(a.customer_id).localeCompare(String(b.customer_id)));
    expect(results.map((r) => [r.customer_id, r.email_sha256, r.uid2_email])).toEqual([
      ["C-1", nodeSha256("jane.saoirse+work@gmail.com"), "ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8="],
      [
        "C-2",
        "16c18d336f0b250f0e2d907452ceb9658a74ecdae8bc94864c23122a72cc27a5",
        "FsGNM28LJQ8OLZB0Us65ZYp07NrovJSGTCMSKnLMJ6U=",
      ],
      ["C-3", "16c18d336f0b250f0e2d907452ceb9658a74ecdae8bc94864c23122a72cc27a5", null],
    ]);
    expect(JSON.stringify(results).toLowerCase()).not.toContain("@");

    // A later hash-only row replaces the address's hashes: the old UID2 hash is of an address no longer known.
    await importCsv(apiKey, `customer_id,email_sha256\nC-2,${nodeSha256("other@example.com")}\n`);
    const c2 = await peopleFirst<{ uid2_email: string | null }>(
      siteId,
      "select c.uid2_email from customers c where c.site_id = ? and c.customer_id = 'C-2'",
      siteId,
    );
    expect(c2?.uid2_email).toBeNull();
  });
});
