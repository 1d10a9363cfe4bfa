/**
 * The admin's forms and the API reference in Chromium: a refused pool keeps its input, a delete asks
 * with confirm() (dismissing keeps the pool), "Get tag" shows the ad server's tag for the network
 * chosen, and /docs filters operations as one types and sends a try-it request with an API key.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { adminPage, browserAvailable, createSite, launchChromium, screenshot } from "./browser";

describe.skipIf(!browserAvailable())("admin forms and /docs in Chromium", () => {
  let browser: Browser;
  let page: Page;
  const edge = () => inject("edgeUrl");

  beforeAll(async () => {
    browser = await launchChromium();
    page = await adminPage(browser);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("keeps a refused pool's input, and asks before deleting a pool", async () => {
    const name = `Forms pool ${Date.now()}`;
    await page.goto(`${edge()}/admin/pools`);
    const form = page.locator("#pool-form");
    await form.getByLabel("Name").fill(name);
    await form.getByLabel("Prefix").fill("forms-");
    await form.getByLabel("Valid for (days)").fill("0");
    await form.getByLabel("Discount").fill("12 %");
    // As a browser without form validation would send it: the server's refusal is what is tested.
    await form.evaluate((f) => {
      (f as unknown as { noValidate: boolean }).noValidate = true;
    });
    await form.getByRole("button", { name: "Create pool" }).click();
    await expect.poll(() => page.locator("#pool-form").getByRole("alert").count()).toBe(1);
    expect(await form.getByLabel("Name").inputValue()).toBe(name);
    expect(await form.getByLabel("Discount").inputValue()).toBe("12 %");
    await screenshot(page, "admin-pool-refused");

    await form.getByLabel("Valid for (days)").fill("14");
    await form.getByRole("button", { name: "Create pool" }).click();
    await page.waitForURL(/done=created/);
    // Every form post the page sends from here on: a dismissed confirmation must send none.
    const posts: string[] = [];
    page.on("request", (r) => {
      if (r.method() === "POST" && r.isNavigationRequest()) posts.push(r.url());
    });
    const remove = page.getByRole("button", { name: `Delete pool ${name}` });
    page.once("dialog", (dialog) => dialog.dismiss());
    await remove.click();
    page.once("dialog", (dialog) => {
      expect(dialog.message()).toContain(`Delete pool ${name}?`);
      return dialog.accept();
    });
    await remove.click();
    // The accepted delete went through; it is the only post, so the dismissed click sent nothing.
    await page.waitForURL(/done=deleted/);
    expect(posts).toHaveLength(1);
    expect(await page.getByRole("button", { name: `Delete pool ${name}` }).count()).toBe(0);
  });

  it("shows the ready-to-paste tag of a placement for the ad server chosen", async () => {
    await page.goto(`${edge()}/admin/rules`);
    await page.getByRole("link", { name: "Get tag" }).first().click();
    await page.waitForURL(/\/admin\/placements\/.+\/tag/);
    expect(await page.locator("#ad-tag").inputValue()).toContain("%%CLICK_URL_UNESC%%");
    await page.getByLabel("Ad server").selectOption("xandr");
    await page.getByRole("button", { name: "Show tag" }).click();
    await page.waitForURL(/network=xandr/);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Xandr's macro syntax
    expect(await page.locator("#ad-tag").inputValue()).toContain("${CLICK_URL}");
    await screenshot(page, "admin-placement-tag");
    await page.goto(`${edge()}/admin/audiences`);
    await screenshot(page, "admin-audiences");
  });

  it("filters the API reference as one types and sends a try-it request", async () => {
    const apiKey = await createSite({ key: `docs-${Date.now()}`, name: "Docs try-it" });
    const docs = await browser.newPage();
    const errors: string[] = [];
    docs.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await docs.goto(`${edge()}/docs`);
    const total = await docs.locator(".op").count();
    await docs.getByLabel("Search operations").fill("placement tag");
    await expect.poll(() => docs.locator(".op:visible").count()).toBeLessThan(5);
    expect(await docs.locator("#getPlacementTag").isVisible()).toBe(true);
    await docs.getByLabel("Search operations").fill("");
    await expect.poll(() => docs.locator(".op:visible").count()).toBe(total);

    await docs.getByLabel("API key for “try it” (kept in this page only)").fill(apiKey);
    const op = docs.locator("#listRules");
    await op.locator("summary").click();
    await op.getByRole("button", { name: /Send GET/ }).click();
    await expect.poll(() => op.locator("output").textContent()).toMatch(/^200 /);
    expect(await op.locator("output").textContent()).toContain('"rules": []');
    await screenshot(docs, "docs-try-it");
    expect(errors).toEqual([]);
  });
});
