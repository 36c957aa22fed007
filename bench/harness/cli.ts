import { parseArgs } from "node:util";
import { z } from "zod";
import type { Mode } from "./types";

export interface CliOptions {
  suites: string[];
  mode: Mode;
  rounds: number;
  concurrency: number[];
  write: boolean;
  list: boolean;
  help: boolean;
}

export const DEFAULT_CONCURRENCY = [1, 8, 32];

export function usage(suites: Array<{ name: string; summary: string; implemented: boolean }>): string {
  const width = Math.max(...suites.map((s) => s.name.length));
  return [
    "Usage: npm run bench -- [suite ...] [options]",
    "",
    "Suites (none named: all of them, in this order):",
    ...suites.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}${s.implemented ? "" : " (placeholder)"}`),
    "",
    "Options:",
    "  --quick              small counts, 1 round: checks the harness end to end in about a minute",
    "  --rounds N           interleaved rounds per cell (default: 5, or 1 with --quick)",
    "  --concurrency LIST   concurrent clients per cell, comma-separated (default: 1,8,32; at most 64)",
    "  --write / --no-write write each suite's section of docs/BENCHMARKS.md (default: write, except with --quick)",
    "  --list               list the suites and exit",
    "",
    "Servers: DATABASE_URL / REDIS_URL when set, else an embedded Postgres and a redis-server child.",
    "Each suite works in its own fresh databases and Redis key prefix, and removes them afterwards.",
  ].join("\n");
}

const concurrencyList = z
  .string()
  .transform((value) => value.split(",").map((part) => part.trim()).filter(Boolean).map(Number))
  .pipe(
    z
      .array(z.number("must be numbers").int("must be whole numbers").min(1, "must be at least 1").max(64, "must be at most 64"))
      .min(1, "must list at least one level"),
  );

export function parseCli(argv: string[], suiteNames: string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        quick: { type: "boolean", default: false },
        rounds: { type: "string" },
        concurrency: { type: "string" },
        write: { type: "boolean" },
        "no-write": { type: "boolean" },
        list: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    throw new Error(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;

  const schema = z.object({
    suites: z.array(
      z.string().superRefine((name, check) => {
        if (!suiteNames.includes(name)) check.addIssue({ code: "custom", message: `unknown suite "${name}" (suites: ${suiteNames.join(", ")})` });
      }),
    ),
    quick: z.boolean(),
    rounds: z.coerce.number().int("--rounds must be a whole number").min(1, "--rounds must be at least 1").max(20, "--rounds must be at most 20").optional(),
    concurrency: concurrencyList.optional(),
    write: z.boolean().optional(),
    noWrite: z.boolean().optional(),
    list: z.boolean(),
    help: z.boolean(),
  });
  const result = schema.safeParse({
    suites: positionals,
    quick: values.quick,
    rounds: values.rounds,
    concurrency: values.concurrency,
    write: values.write,
    noWrite: values["no-write"],
    list: values.list,
    help: values.help,
  });
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path[0] === "concurrency" ? "--concurrency " : "";
    throw new Error(`${where}${issue?.message ?? "invalid arguments"}`);
  }
  const options = result.data;
  if (options.write && options.noWrite) throw new Error("--write and --no-write contradict each other");
  const mode: Mode = options.quick ? "quick" : "full";
  return {
    suites: options.suites.length ? [...new Set(options.suites)] : suiteNames,
    mode,
    rounds: options.rounds ?? (mode === "quick" ? 1 : 5),
    concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
    write: options.noWrite ? false : (options.write ?? mode === "full"),
    list: options.list,
    help: options.help,
  };
}
