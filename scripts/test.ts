import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { childProcessEnv, env, searchPath } from "@/lib/env";
import { resolveServers } from "@/lib/embedded/servers";

/**
 * `npm test`: every test. Uses DATABASE_URL / REDIS_URL when set; otherwise starts the embedded
 * default (Postgres from npm, a redis-server child) in a temporary directory, so it works on a fresh
 * machine. Then: typecheck, unit + integration tests (Vitest), the browser tests (Playwright against
 * the built console), and the fault suite's short form.
 */
const root = path.resolve(import.meta.dirname, "..");
const log = (message: string) => console.log(`\n[idem test] ${message}`);

const servers = await resolveServers({
  dataDir: await mkdtemp(path.join(tmpdir(), "idem-test-")),
  databaseUrl: env.DATABASE_URL,
  redisUrl: env.REDIS_URL,
  redisBinary: env.IDEM_REDIS_SERVER_BIN,
  pathVariable: searchPath,
  log,
});

const childEnv = childProcessEnv({ DATABASE_URL: servers.databaseUrl, REDIS_URL: servers.redisUrl, NODE_ENV: "test" });

function step(name: string, command: string, args: string[]): Promise<boolean> {
  log(`${name}: ${command} ${args.join(" ")}`);
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env: childEnv, stdio: "inherit" });
    child.on("exit", (code) => resolve(code === 0));
  });
}

const steps: Array<[string, string, string[]]> = [
  ["typecheck", "npx", ["tsc", "--noEmit"]],
  ["unit and integration tests", "npx", ["vitest", "run"]],
  ["browser tests", "npx", ["playwright", "test"]],
  // Starts its own Postgres and redis-server (it restarts them), whatever DATABASE_URL / REDIS_URL say.
  // After the browser tests: they build the console, and the short form puts that build under a small
  // load (it never builds one itself). react-server: the console's query modules import "server-only".
  ["fault-injection suite (short)", "npx", ["tsx", "--conditions=react-server", "tests/faults/run.ts", "--short"]],
];

const failed: string[] = [];
for (const [name, command, args] of steps) {
  if (!(await step(name, command, args))) failed.push(name);
}
await servers.stop();
if (failed.length) {
  log(`FAILED: ${failed.join(", ")}`);
  process.exit(1);
}
log("all tests passed");
