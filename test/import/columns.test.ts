import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../worker/auth/crypto";
import { createTestSite, importCsv, siteIdOf } from "../fixtures/api";
import { peopleFirst } from "../fixtures/people";

describe("CRM export column names", () => {
  it("imports a Shopify customer export as it comes: known names mapped, the rest ignored and never stored", async () => {
    const { apiKey, siteKey } = await createTestSite();
    const csv =
      "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Phone,Total Spent,Total Orders,Tags\n" +
      '7001,Anna,Meier,anna@example.com,yes,+49 30 1234,120.50,3,"vip, rings"\n';
    const res = await importCsv(apiKey, csv);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      accepted: 1,
      rejected: [],
      // "Accepts Email Marketing" is Shopify's marketing opt-in: taken as ads_consent (it was ignored before).
      ignored_columns: ["First Name", "Last Name", "Phone"],
      mapped_columns: {
        "Customer ID": "customer_id",
        "Accepts Email Marketing": "ads_consent",
        "Total Spent": "lifetime_revenue",
        "Total Orders": "orders",
        Tags: "clusters",
      },
    });
    const siteId = await siteIdOf(siteKey);
    const row = await peopleFirst<Record<string, unknown>>(
      siteId,
      "select c.* from customers c where c.site_id = ? and c.customer_id = '7001'",
      siteId,
    );
    expect(row).toMatchObject({
      email_sha256: await sha256Hex("anna@example.com"),
      lifetime_revenue: 120.5,
      orders: 3,
      clusters: JSON.stringify(["vip", "rings"]),
      ads_consent: 1,
    });
    expect(JSON.stringify(row)).not.toMatch(/Meier|1234/);
  });

  it("reads Klaviyo's External ID and historic figures", async () => {
    const { apiKey } = await createTestSite();
    const csv =
      "External ID,Email,Historic Customer Lifetime Value,Historic Number Of Orders\nK-1,k@example.com,99,2\n";
    const body = (await (await importCsv(apiKey, csv)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ accepted: 1, ignored_columns: [] });
  });
});
