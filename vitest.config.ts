import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Four projects: `workers` runs inside workerd against a real local D1 with the real migrations
// (storage isolated per test file); `node` runs the few tests that need Node's own modules;
// `bench` runs the benchmark harness once on a tiny data set in Node; `browser` runs in Node and drives Debian's Chromium against a worker served by wrangler dev
// and the demo shop.
export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    test: {
      // Two test files at once (vitest 4 otherwise uses one on a 2-core machine): a workers test
      // file waits on workerd and D1 as much as it computes. The browser project runs alone after
      // the others (fileParallelism: false), against its one wrangler dev.
      maxWorkers: 2,
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  ENVIRONMENT: "test",
                  OPERATOR_TOKEN: "test-operator-token",
                  SIGNING_SECRET: "test-signing-secret-0123456789abcdef",
                  SESSION_SECRET: "test-session-secret-0123456789abcdef",
                  // Local D1 serialises 100 simultaneous claims far slower than production; the
                  // fault tests pass their own short budget (test/faults/).
                  DECISION_BUDGET_MS: "5000",
                  // wrangler also reads .dev.vars, which `npm run dev` and the browser tests create
                  // from .dev.vars.example with this development switch on; tests run as production.
                  WEBHOOKS_ALLOW_HTTP_LOCALHOST: "false",
                },
              },
            }),
          ],
          test: {
            name: "workers",
            include: ["test/**/*.test.ts"],
            exclude: ["test/browser/**", "test/**/*.node.test.ts"],
            setupFiles: ["./test/apply-migrations.ts"],
            // Property walks over the whole API document and floods of 1,000 requests take seconds
            // on a loaded 2-core CI machine; the default 5 s made them fail there, not the code.
            testTimeout: 30_000,
          },
        },
        {
          // Tools that need Node itself (Redocly's linter reads node: modules workerd does not have).
          test: { name: "node", include: ["test/**/*.node.test.ts"], environment: "node" },
        },
        {
          // `npm run bench -- --tiny` once, so the benchmark harness cannot rot (bench/bench.test.ts).
          test: { name: "bench", include: ["bench/**/*.test.ts"], environment: "node", testTimeout: 180_000 },
        },
        {
          test: {
            name: "browser",
            include: ["test/browser/**/*.test.ts"],
            environment: "node",
            globalSetup: ["./test/browser/global-setup.ts"],
            testTimeout: 60_000,
            hookTimeout: 120_000,
            fileParallelism: false,
          },
        },
      ],
    },
  };
});
