import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Three projects: `workers` runs inside workerd against a real local D1 with the real migrations
// (storage isolated per test file); `bench` runs the benchmark harness once on a tiny data set in
// Node; `browser` runs in Node and drives Debian's Chromium against a worker served by wrangler dev
// and the demo shop.
export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    test: {
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
                },
              },
            }),
          ],
          test: {
            name: "workers",
            include: ["test/**/*.test.ts"],
            exclude: ["test/browser/**"],
            setupFiles: ["./test/apply-migrations.ts"],
          },
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
