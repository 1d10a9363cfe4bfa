/**
 * The demo seed as a Worker: scripts/local-worker.ts bundles this file and runs it once in workerd
 * (Miniflare) on the same persisted local D1 that `wrangler dev` serves.
 *
 * Why not wrangler's getPlatformProxy from Node, as before: every `prepare()`/`bind()` through the
 * proxy is a synchronous cross-thread round trip, the seed makes thousands of them (30 days of
 * decisions), which took ≈2 minutes, and on a loaded 2-core machine miniflare's SynchronousFetcher
 * lost a reply (`assert(message?.id === id)`) and `npm run dev` died mid-seed. Inside workerd the
 * same code talks to D1 directly.
 */
import { seedCampaigns } from "./campaigns";
import { seedDemo } from "./demo";
import { seedHistory } from "./history";

export type SeedRequest = { shopOrigins: string[]; demoOnly?: boolean };
export type SeedResult = Awaited<ReturnType<typeof seedDemo>>;

export default {
  async fetch(request: Request, env: { DB: D1Database }): Promise<Response> {
    const { shopOrigins, demoOnly } = (await request.json()) as SeedRequest;
    try {
      const seeded = await seedDemo(env.DB, { shopOrigins });
      if (!demoOnly) {
        await seedCampaigns(env.DB, { shopUrl: shopOrigins[0] });
        await seedHistory(env.DB);
      }
      return Response.json(seeded);
    } catch (error) {
      const message = error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error);
      return new Response(message, { status: 500 });
    }
  },
};
