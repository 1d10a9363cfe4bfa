/**
 * The admin as three people use it, in Chromium (issue 30): ad-ops from a placement to its tag,
 * the shop engineer's install and live check, and the marketer's safe key and segment editing.
 * A failing step leaves a screenshot in test-results/screenshots/failed-*.png (a CI artifact).
 */
import { describe, expect, inject, it } from "vitest";
import { adminSession, beaconWith, browserAvailable, newVisitor, screenshot } from "./browser";

describe.skipIf(!browserAvailable())("the admin for ad-ops, shop engineers and marketers, in Chromium", () => {
  const admin = adminSession({ clipboard: true });
  const edge = () => inject("edgeUrl");

  it("ad-ops: finds every slot under Placements, reorders rules in one step and copies the GAM tag", async () => {
    await admin.page.goto(`${edge()}/admin`);
    await admin.page.getByRole("link", { name: "Placements" }).click();
    const names = await admin.page.locator("#placements tbody td:first-child").allTextContents();
    // The demo shop's four slots (other browser test files may add placements of their own).
    expect(names).toEqual(expect.arrayContaining(["cart", "category-top", "home-hero", "product-side"]));
    await admin.page.getByRole("link", { name: "home-hero" }).click();
    await admin.page.waitForURL(/\/admin\/placements\/home-hero$/);

    const order = () => admin.page.locator("#placement-rules > li > a").allTextContents();
    const before = await order();
    expect(before.length).toBeGreaterThan(1);
    await admin.page.getByRole("button", { name: `Move ${before[0]} down` }).click();
    await admin.page.waitForURL(/done=saved/);
    expect(await order()).toEqual([before[1], before[0], ...before.slice(2)]);
    await admin.page.getByRole("button", { name: `Move ${before[0]} up` }).click();
    await admin.page.waitForURL(/done=saved/);
    expect(await order()).toEqual(before);

    expect(await admin.page.locator("#slot-snippet").textContent()).toContain('data-tw-slot="home-hero" data-w="300"');
    const gam = (await admin.page.locator("#tag-gam").textContent()) ?? "";
    expect(gam).toContain("%%CLICK_URL_UNESC%%");
    await admin.page.locator('button[data-copy="tag-gam"]').click();
    await expect.poll(() => admin.page.evaluate("navigator.clipboard.readText()")).toBe(gam.trim());
    // The preview frame renders what a first-time visitor gets, from the explain frame.
    const preview = admin.page.frameLocator("#tag-preview");
    await expect.poll(() => preview.locator("body").innerHTML({ timeout: 3_000 })).toMatch(/<(a|img|div|p)\b/);
    await screenshot(admin.page, "admin-placement");
  });

  it("shop engineer: the Install page has a slot for every placement, and a visit shows in the live check", async () => {
    await admin.page.goto(`${edge()}/admin/install`);
    const slots = (await admin.page.locator("#slot-snippets").textContent()) ?? "";
    for (const placement of ["cart", "category-top", "home-hero", "product-side"]) {
      expect(slots).toContain(`data-tw-slot="${placement}"`);
    }
    await admin.page.locator('button[data-copy="tag-snippet"]').click();
    await expect.poll(() => admin.page.evaluate("navigator.clipboard.readText()")).toContain("/t.js");

    const visitor = await newVisitor(admin.browser);
    const shop = await visitor.newPage();
    const path = `/category/rings?persona=${Date.now()}`;
    const sent = beaconWith(shop, "persona=");
    await shop.goto(`${inject("shopUrl")}${path}`);
    await sent;
    await expect
      .poll(
        async () => {
          await admin.page.goto(`${edge()}/admin/install`);
          return (
            (await admin.page
              .locator("#recent-events")
              .textContent()
              .catch(() => "")) ?? ""
          );
        },
        { timeout: 20_000 },
      )
      .toContain(path);
    await visitor.close();
    await screenshot(admin.page, "admin-install");
  });

  it("marketer: a new key keeps the demo key working and is shown once; a segment typo is explained", async () => {
    await admin.page.goto(`${edge()}/admin/settings`);
    expect(await admin.page.getByLabel("Also revoke the other keys of this scope (asks first)").isChecked()).toBe(
      false,
    );
    await admin.page.getByRole("button", { name: "Issue a new key" }).click();
    await admin.page.waitForURL(`${edge()}/admin/settings`);
    const key = (await admin.page.locator("#flash-secret").textContent()) ?? "";
    expect(key.length).toBeGreaterThan(20);
    const demo = await fetch(`${edge()}/api/v1/site`, { headers: { Authorization: "Bearer demo-api-key" } });
    expect(demo.status).toBe(200);
    await admin.page.reload();
    expect(await admin.page.locator("#flash-secret").count()).toBe(0);

    await admin.page.goto(`${edge()}/admin/segments`);
    const expression = admin.page.locator("#expression");
    await expression.fill("orders > 1 and vists > 2");
    await expect.poll(() => admin.page.locator("#expression-error").textContent()).toContain("did you mean visits?");
    await expression.fill("orders > 1 and");
    await admin.page.locator('button[data-insert="acquisition"]').click();
    expect(await expression.inputValue()).toBe("orders > 1 and acquisition");
    await screenshot(admin.page, "admin-segment-typo");
  });
});
