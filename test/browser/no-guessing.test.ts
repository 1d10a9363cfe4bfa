/**
 * The "no guessing" pages in Chromium (issue 30): a coupon pool's page and its CSV export, a
 * webhook's signed test send to a real receiver, and the segment editor's autocomplete, marked
 * error and sample profiles leading to explain. A failing step leaves a screenshot in
 * test-results/screenshots/failed-*.png (a CI artifact).
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { describe, expect, inject, it } from "vitest";
import { adminSession, browserAvailable, screenshot } from "./browser";

/** A webhook receiver as a customer writes one: the Standard Webhooks library checks every request. */
async function startReceiver() {
  const received: { verified: boolean; payload: unknown; id: string }[] = [];
  let secret = "";
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      try {
        const payload = new Webhook(secret).verify(body, headers);
        received.push({ verified: true, payload, id: headers["webhook-id"] });
        res.writeHead(204).end();
      } catch {
        received.push({ verified: false, payload: null, id: headers["webhook-id"] ?? "" });
        res.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "localhost", resolve));
  return {
    url: `http://localhost:${(server.address() as AddressInfo).port}/hook`,
    received,
    useSecret: (value: string) => {
      secret = value;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe.skipIf(!browserAvailable())("nothing to guess, in Chromium", () => {
  const admin = adminSession();
  const edge = () => inject("edgeUrl");

  it("a pool's page shows a sample code and its counts, and Export downloads every code as CSV", async () => {
    await admin.page.goto(`${edge()}/admin/pools`);
    await admin.page.getByRole("link", { name: "Welcome back codes", exact: true }).click();
    await admin.page.waitForURL(/\/admin\/pools\/\d+$/);
    expect(await admin.page.locator("h1").textContent()).toBe("Coupon pool: Welcome back codes");
    // A generated pool's sample: the prefix, nine symbols and the check symbol.
    expect(await admin.page.locator("#sample-code").textContent()).toMatch(/^BACK[34679ACDEFGHJKMNPRTUWXY]{10}$/);
    const download = admin.page.waitForEvent("download");
    await admin.page.getByRole("link", { name: "Export all codes (CSV)" }).click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/^pool-\d+-codes\.csv$/);
    const csv = readFileSync((await file.path()) ?? "", "utf8");
    expect(csv.split("\n")[0]).toBe(
      "code,state,holder_kind,customer,rule_id,assigned_at,expires_at,redeemed_at,archived_at,order",
    );
    await screenshot(admin.page, "admin-pool");
  });

  it("a webhook's test send reaches a receiver that verifies the signature, and the page shows its answer", async () => {
    const receiver = await startReceiver();
    try {
      await admin.page.goto(`${edge()}/admin/partners`);
      const form = admin.page.locator("#webhook-form");
      await form.getByLabel("URL").fill(receiver.url);
      await form.getByLabel("Segment").selectOption({ label: "Cluster watches" });
      await form.getByRole("button", { name: "Add webhook" }).click();
      await admin.page.waitForURL(`${edge()}/admin/partners`);
      receiver.useSecret(((await admin.page.locator("#flash-secret").textContent()) ?? "").trim());

      await admin.page.getByRole("button", { name: `Send a signed test delivery to ${receiver.url}` }).click();
      await admin.page.waitForURL(`${edge()}/admin/partners`);
      const flash = (await admin.page.locator("#flash").textContent()) ?? "";
      expect(flash).toMatch(/Test delivery msg_test_[0-9a-f]{32} sent: the receiver answered HTTP 204\./);
      const test = receiver.received.find((r) => r.id.startsWith("msg_test_"));
      expect(test).toMatchObject({ verified: true, payload: { type: "webhook.test" } });
      expect(flash).toContain(test?.id);
      await screenshot(admin.page, "admin-webhook-test");

      // A receiver holding another secret refuses the signature: the page says so.
      receiver.useSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
      await admin.page.getByRole("button", { name: `Send a signed test delivery to ${receiver.url}` }).click();
      await admin.page.waitForURL(`${edge()}/admin/partners`);
      expect(await admin.page.locator("#flash").textContent()).toContain("answered HTTP 401 (HTTP 4xx from receiver)");
    } finally {
      admin.page.once("dialog", (dialog) => dialog.accept());
      await admin.page.getByRole("button", { name: `Delete the webhook to ${receiver.url}` }).click();
      await admin.page.waitForURL(/done=deleted/);
      await receiver.close();
    }
  });

  it("the segment editor completes a field, marks the error's token, and its sample profiles open explain", async () => {
    await admin.page.goto(`${edge()}/admin/segments`);
    const expression = admin.page.locator("#expression");
    await expression.click();
    await expression.pressSequentially("acq");
    const suggestions = admin.page.locator("#field-suggestions [role=option]");
    await expect.poll(() => suggestions.allTextContents()).toEqual(["acquisition"]);
    await expression.press("Enter");
    expect(await expression.inputValue()).toBe("acquisition");
    expect(await admin.page.locator("#field-suggestions").isHidden()).toBe(true);

    await expression.fill("orders > 1 and vists > 2");
    await expect.poll(() => admin.page.locator("#expression-marked mark").textContent()).toBe("vists");
    expect(await admin.page.locator("#expression-error").textContent()).toContain("did you mean visits?");

    await expression.fill("days_since_last_order >= 180");
    const rows = admin.page.locator("#segment-sample tbody tr");
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await admin.page.locator("#expression-marked").isHidden()).toBe(true);
    await screenshot(admin.page, "admin-segment-sample");
    const customer = (await rows.first().locator("td").nth(1).textContent()) ?? "";
    await rows.first().getByRole("link", { name: "Explain" }).click();
    await admin.page.waitForURL(/\/admin\/explain\?who=/);
    const url = new URL(admin.page.url());
    expect(url.searchParams.get("placement")).not.toBeNull();
    expect(await admin.page.locator("#explain-outcome").textContent()).toMatch(/^This visitor/);
    if (customer !== "—") expect(await admin.page.locator("dl.facts dd").first().textContent()).toBe(customer);
  });
});
