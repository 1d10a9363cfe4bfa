declare namespace Cloudflare {
  interface Env {
    /** Read from migrations/ by vitest.config.ts; applied by test/apply-migrations.ts. */
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** Read from migrations/people/ by vitest.config.ts; applied to every PEOPLE_k shard. */
    TEST_PEOPLE_MIGRATIONS: import("cloudflare:test").D1Migration[];
  }
}
declare namespace Cloudflare {
  interface GlobalProps {
    /** Types `exports` from "cloudflare:workers" in tests: the Worker's own entry module. */
    mainModule: typeof import("../worker/index");
  }
}
