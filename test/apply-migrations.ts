// Setup files run before each test file (and may run more than once per isolate);
// applyD1Migrations skips migrations that are already applied.
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
