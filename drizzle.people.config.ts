import { defineConfig } from "drizzle-kit";

// A PEOPLE shard's migrations (docs/architecture.md, "Shards"), flat files as for HOME
// (drizzle.config.ts), applied to every PEOPLE_k binding (wrangler.toml's migrations_dir).
export default defineConfig({
  dialect: "sqlite",
  schema: "./worker/db/people-schema.ts",
  out: "./migrations/people",
  casing: "snake_case",
});
