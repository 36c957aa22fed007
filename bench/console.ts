import type { Suite } from "./harness/types";

/**
 * Placeholder: the console's queries at 1M and 10M runs (from the console issue). To implement it,
 * seed a fresh database (ctx.resources.createDatabase + migrateDatabase) with generated runs, time
 * the console's list/filter/detail queries with measureCell, return a SuiteReport and set
 * `implemented: true`; the runner prints it and writes its section of docs/BENCHMARKS.md.
 */
export const consoleSuite: Suite = {
  name: "console",
  title: "Console queries at 1M and 10M runs",
  summary: "the console's queries on a ledger of 1M and 10M runs",
  implemented: false,
  async run(ctx) {
    ctx.log("not yet implemented: the console-query benchmark is a placeholder (see bench/console.ts)");
    return null;
  },
};
