import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import getPort, { portNumbers } from "get-port";
import { childProcessEnv, env, searchPath } from "@/lib/env";
import { resolveServers } from "@/lib/embedded/servers";
import { migrateDatabase } from "@/lib/migrate";
import { upsertUser } from "@/lib/auth/users";
import { createSql } from "@/lib/db";

/**
 * `npm run demo | start | dev`: resolves the servers (the embedded default when DATABASE_URL /
 * REDIS_URL are unset), migrates, optionally starts the demo workload, then runs the Next console
 * with the resolved URLs in its environment.
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
  await run("npx", ["next", "build"], childProcessEnv());
}

function run(command: string, args: string[], childEnv: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env: childEnv, stdio: "inherit" });
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
    for (const account of DEMO_ACCOUNTS) await upsertUser(sql, account, "demo");
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

let next: ChildProcess | null = null;
let stopDemo: (() => Promise<void>) | null = null;
let stopping = false;

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  next?.kill("SIGTERM");
  await stopDemo?.();
  await servers.stop();
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

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
  next = spawn("npx", command, {
    cwd: root,
    env: consoleEnv,
    stdio: "inherit",
  });
  next.on("exit", (code) => void shutdown(code ?? 0));
  log(`console: http://${env.HOSTNAME === "0.0.0.0" ? "127.0.0.1" : env.HOSTNAME}:${port}`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  await shutdown(1);
}
