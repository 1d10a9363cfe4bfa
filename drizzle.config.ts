import { defineConfig } from "drizzle-kit";

// Flat `0000_name.sql` files (drizzle-kit 0.31): the layout that both
// `wrangler d1 migrations apply` and `readD1Migrations` read.
export default defineConfig({
  dialect: "sqlite",
  schema: "./worker/db/schema.ts",
  out: "./migrations",
  casing: "snake_case",
});
