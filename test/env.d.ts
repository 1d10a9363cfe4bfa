declare namespace Cloudflare {
  interface Env {
    /** Read from migrations/ by vitest.config.ts; applied by test/apply-migrations.ts. */
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
  }
}
declare namespace Cloudflare {
  interface GlobalProps {
    /** Types `exports` from "cloudflare:workers" in tests: the Worker's own entry module. */
    mainModule: typeof import("../worker/index");
  }
}
