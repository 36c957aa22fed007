import { spawn, type StdioOptions } from "node:child_process";
import path from "node:path";
import { childProcessEnv, env, searchPath } from "@/lib/env";
import { resolveServers } from "@/lib/embedded/servers";

/**
 * `npm test`: every test. Uses DATABASE_URL / REDIS_URL when set; otherwise starts the embedded
 * default (Postgres from npm, a redis-server child) in a temporary directory, so it works on a fresh
 * machine. Then: typecheck, unit + integration tests (Vitest), the browser tests (Playwright against
 * the built console), the fault suite's short form, and three short sabotaged runs of it that must
 * report violations.
 */
const root = path.resolve(import.meta.dirname, "..");
const log = (message: string) => console.log(`\n[idem test] ${message}`);

const servers = await resolveServers({
  scratchPrefix: "idem-test-",
  databaseUrl: env.DATABASE_URL,
  redisUrl: env.REDIS_URL,
  redisBinary: env.IDEM_REDIS_SERVER_BIN,
  pathVariable: searchPath,
  log,
});

const childEnv = childProcessEnv({ DATABASE_URL: servers.databaseUrl, REDIS_URL: servers.redisUrl, NODE_ENV: "test" });

/**
 * Runs a step; it passes on exit code 0. With `mustReport` the step must fail in a particular way
 * instead: exit code 1 (violations found, not 2, the suite itself failing) with a violation line
 * matching it. Its output is shown as it comes.
 */
function step(name: string, command: string, args: string[], mustReport?: RegExp): Promise<boolean> {
  log(`${name}${mustReport ? " (must report violations)" : ""}: ${command} ${args.join(" ")}`);
  return new Promise((resolve) => {
    const stdio: StdioOptions = mustReport ? ["ignore", "pipe", "inherit"] : "inherit";
    const child = spawn(command, args, { cwd: root, env: childEnv, stdio });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      process.stdout.write(chunk);
      output += chunk.toString();
    });
    child.on("exit", (code) => {
      if (!mustReport) return resolve(code === 0);
      const found = code === 1 && mustReport.test(output);
      if (!found) log(`${name}: expected exit code 1 and a violation matching ${mustReport}, got exit code ${code}`);
      resolve(found);
    });
  });
}

const FAULTS = ["tsx", "--conditions=react-server", "tests/faults/run.ts"];
/** A short chaos without the console: each sabotage must be caught (the stale-writer probe makes it certain). */
const SABOTAGED = [...FAULTS, "--short", "--duration", "3", "--no-load", "--sabotage"];

const steps: Array<[string, string, string[]]> = [
  ["typecheck", "npx", ["tsc", "--noEmit"]],
  ["unit and integration tests", "npx", ["vitest", "run"]],
  ["browser tests", "npx", ["playwright", "test"]],
  // Starts its own Postgres and redis-server (it restarts them), whatever DATABASE_URL / REDIS_URL say.
  // After the browser tests: they build the console, and the short form puts that build under a small
  // load (it never builds one itself). react-server: the console's query modules import "server-only".
  // --require-load: the browser tests have just built the console, so a load that did not run is a failure.
  ["fault-injection suite (short)", "npx", [...FAULTS, "--short", "--require-load"]],
];
/** The fault suite can fail: a broken guarantee, or faults that did not happen, must be reported. */
const mustFind: Array<[string, string[], RegExp]> = [
  ["fault suite, sabotage no-fencing", [...SABOTAGED, "no-fencing"], /^\s+- fencing: .*a stale write was accepted/m],
  ["fault suite, sabotage effect-outside-tx", [...SABOTAGED, "effect-outside-tx"], /^\s+- exactly-once: tx key \S+ has [2-9] effects/m],
  ["fault suite, sabotage no-faults", [...SABOTAGED, "no-faults"], /^\s+- vacuous: /m],
];

const failed: string[] = [];
for (const [name, command, args] of steps) {
  if (!(await step(name, command, args))) failed.push(name);
}
for (const [name, args, expected] of mustFind) {
  if (!(await step(name, "npx", args, expected))) failed.push(name);
}
await servers.stop();
if (failed.length) {
  log(`FAILED: ${failed.join(", ")}`);
  process.exit(1);
}
log("all tests passed");
