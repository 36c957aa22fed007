import { defineConfig } from "drizzle-kit";

// drizzle-kit only generates SQL from the schema; it never connects, so no credentials are needed here.
export default defineConfig({
  dialect: "postgresql",
  schema: ["./lib/ledger/schema.ts", "./lib/ledger/stats-schema.ts", "./lib/auth/schema.ts"],
  out: "./drizzle",
  schemaFilter: ["idem"],
});
