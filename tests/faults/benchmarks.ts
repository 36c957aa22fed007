import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export type Figure = [name: string, value: string];

const START = "<!-- faults:start -->";
const END = "<!-- faults:end -->";

/**
 * Replaces the fault suite's section of docs/BENCHMARKS.md (between its markers), leaving every other
 * section alone: other suites write the same file. The file is read right before it is written.
 */
export async function writeBenchmarks(
  root: string,
  figures: Figure[],
  run: {
    command: string;
    pgVersion: string;
    redisVersion: string;
    /** The console under load: how it was measured, and its table (markdown lines). */
    load: { setup: string; table: string[] } | null;
  },
): Promise<string> {
  const file = path.join(root, "docs", "BENCHMARKS.md");
  const cpus = os.cpus();
  const machine =
    `${cpus[0]?.model.trim() ?? "unknown CPU"}, ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ` +
    `${os.type()} ${os.release()}, Node ${process.version}, Postgres ${run.pgVersion} (embedded), Redis ${run.redisVersion}; ` +
    // Throughput depends on what else the machine does; correctness must not.
    `load average ${os.loadavg()[1]?.toFixed(1) ?? "?"} over the last 5 minutes of the run`;
  const section = [
    START,
    "## Fault injection",
    "",
    "What [docs/guarantees.md](guarantees.md) promises, under worker SIGKILLs and SIGSTOPs, dropped worker connections,",
    "and Redis and Postgres restarts (`tests/faults/`). The figures of the last full run (`npm run test:faults`, which",
    "writes this section; about 4 minutes on 2 cores, most of it the 90 s of chaos, the console load and, if the build",
    "is stale, `next build`):",
    "",
    `- command: \`${run.command}\``,
    `- date: ${new Date().toISOString().slice(0, 10)}`,
    `- machine: ${machine}`,
    "",
    "| figure | value |",
    "| --- | --- |",
    ...figures.map(([name, value]) => `| ${name} | ${value.replaceAll("|", "\\|")} |`),
    ...(run.load
      ? [
          "",
          "### The console under load",
          "",
          `${run.load.setup} Every target must answer with 0 non-2xx and 0 errors, or the suite fails.`,
          "",
          ...run.load.table,
        ]
      : []),
    END,
  ].join("\n");

  const current = existsSync(file) ? await readFile(file, "utf8") : "# Benchmarks\n";
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  const next =
    start !== -1 && end > start
      ? current.slice(0, start) + section + current.slice(end + END.length)
      : `${current.replace(/\n*$/, "")}\n\n${section}\n`;
  await writeFile(file, next);
  return file;
}
