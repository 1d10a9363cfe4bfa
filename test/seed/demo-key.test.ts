import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEMO, seedDemo } from "../../scripts/seed/demo";
import { call } from "../fixtures/api";

describe("npm run dev's seed and the demo API key", () => {
  it("restores a demo key revoked in the admin, and says so", async () => {
    const first = await seedDemo(env.DB, { shopOrigins: ["https://shop.example"] });
    expect(first.demoKeyRestored).toBe(false);
    expect((await call("/api/v1/site", { key: DEMO.apiKey })).status).toBe(200);

    await env.DB.prepare("update api_keys set revoked_at = ? where prefix = ?")
      .bind(Date.now(), DEMO.apiKey.slice(0, 10))
      .run();
    expect((await call("/api/v1/site", { key: DEMO.apiKey })).status).toBe(401);

    const again = await seedDemo(env.DB, { shopOrigins: ["https://shop.example"] });
    expect(again.demoKeyRestored).toBe(true);
    expect((await call("/api/v1/site", { key: DEMO.apiKey })).status).toBe(200);
  }, 60_000);
});
