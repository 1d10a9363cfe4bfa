import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Five projects. `workers` runs inside workerd against a real local D1 with the real migrations;
// `workers-isolated` does too, one fresh workerd per file, for the few files whose tests need a
// runtime no other file has touched; `node` runs the few tests that need Node's own modules;
// `bench` runs the benchmark harness once on a tiny data set in Node; `browser` runs in Node and
// drives Debian's Chromium against a worker served by wrangler dev and the demo shop.

// Files that fill or read the runtime's own rate-limit buckets for requests that name no known
// site (one bucket per runtime, shared by every file that sends such requests; a bucket is no
// D1 row, so test/apply-migrations.ts cannot empty it): write-bounds floods it with 1,000 bodies,
// collect counts the few rows it lets through.
const OWN_RUNTIME = ["test/abuse/write-bounds.test.ts", "test/collect/collect.test.ts"];

export default defineConfig(async () => {
  const migrations = {
    home: await readD1Migrations("./migrations"),
    people: await readD1Migrations("./migrations/people"),
  };
  return {
    test: {
      // Two test files at once (vitest 4 otherwise uses one on a 2-core machine): a workers test
      // file waits on workerd and D1 as much as it computes. The browser project runs alone after
      // the others (fileParallelism: false), against its one wrangler dev.
      maxWorkers: 2,
      projects: [
        workersProject(migrations, {
          name: "workers",
          include: ["test/**/*.test.ts"],
          exclude: ["test/browser/**", "test/**/*.node.test.ts", ...OWN_RUNTIME],
          // One workerd per pool worker for all the files it runs, instead of one per file: a
          // fresh workerd and the Worker's module graph cost ≈4 s a file on a 2-core machine, more
          // than most files' tests. Each file still starts from an empty database
          // (test/apply-migrations.ts) and waits for its requests' background work
          // (test/fixtures/api.ts); per-isolate caches are keyed by row IDs, never reused.
          isolate: false,
        }),
        workersProject(migrations, { name: "workers-isolated", include: OWN_RUNTIME, isolate: true }),
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

/** A project whose tests run inside workerd, with the Worker's bindings from wrangler.toml. */
function workersProject(
  migrations: Record<"home" | "people", Awaited<ReturnType<typeof readD1Migrations>>>,
  test: { name: string; include: string[]; exclude?: string[]; isolate: boolean },
) {
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations.home,
            TEST_PEOPLE_MIGRATIONS: migrations.people,
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
      ...test,
      setupFiles: ["./test/apply-migrations.ts"],
      // Property walks over the whole API document and floods of 1,000 requests take seconds
      // on a loaded 2-core CI machine; the default 5 s made them fail there, not the code.
      testTimeout: 30_000,
    },
  };
}
