import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import getPort from "get-port";

export interface RedisServerHandle {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
  /** SIGSTOP / SIGCONT, for tests of a Redis that hangs rather than dies. */
  pause(): void;
  resume(): void;
  /** Starts it again on the same port after stop(). */
  start(): Promise<void>;
}

const SEARCH_DIRS = ["/usr/bin", "/usr/local/bin", "/usr/sbin", "/opt/homebrew/bin", "/opt/local/bin", "/snap/bin"];

export class RedisServerNotFoundError extends Error {
  constructor(searched: string[]) {
    super(
      [
        "No redis-server binary was found, and REDIS_URL is not set.",
        "Either install Redis (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`),",
        "point IDEM_REDIS_SERVER_BIN at a redis-server binary, or set REDIS_URL to a running Redis.",
        `Searched: ${searched.join(", ")}`,
      ].join("\n"),
    );
    this.name = "RedisServerNotFoundError";
  }
}

export function findRedisServer(explicit?: string, pathVariable = ""): string {
  const candidates = explicit
    ? [explicit]
    : [...pathVariable.split(path.delimiter).filter(Boolean), ...SEARCH_DIRS].map((dir) => path.join(dir, "redis-server"));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new RedisServerNotFoundError(candidates);
}

function waitForReady(child: ChildProcess, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) {
        child.stdout?.off("data", onData);
        child.off("exit", onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) => reject(new Error(`redis-server on port ${port} exited (${code}) before it was ready:\n${output.slice(-2000)}`));
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
  });
}

/** A redis-server this directory's pid file points at, if it is still running (port included). */
function liveServer(pidFile: string): { pid: number; port: number } | null {
  if (!existsSync(pidFile)) return null;
  const [pid, port] = readFileSync(pidFile, "utf8").trim().split(":").map(Number);
  if (!pid || !port) return null;
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("redis-server")) return null;
    process.kill(pid, 0);
    return { pid, port };
  } catch {
    return null;
  }
}

/**
 * A private redis-server child on a free loopback port, without persistence: locks are ephemeral by
 * design and the ledger's history is in Postgres. The child dies with this process.
 */
export async function startRedisServer(options: {
  dir: string;
  binary?: string;
  pathVariable?: string;
  port?: number;
  /** As for Postgres: reuse a server already running for this directory; with adopt, stop() stops it. */
  adopt?: boolean;
  /** More redis-server arguments, e.g. `--cluster-enabled yes` for a cluster node in tests. */
  extraArgs?: string[];
}): Promise<RedisServerHandle> {
  await mkdir(options.dir, { recursive: true });
  const pidFile = path.join(options.dir, "redis-server.pid");
  const live = liveServer(pidFile);
  if (live) {
    const signal = (name: NodeJS.Signals) => () => process.kill(live.pid, name);
    return {
      url: `redis://127.0.0.1:${live.port}`,
      port: live.port,
      pid: live.pid,
      stop: async () => {
        if (options.adopt) process.kill(live.pid, "SIGTERM");
      },
      pause: signal("SIGSTOP"),
      resume: signal("SIGCONT"),
      start: () => Promise.reject(new Error("this redis-server was started by another process")),
    };
  }
  const binary = findRedisServer(options.binary, options.pathVariable);
  const port = options.port ?? (await getPort());
  let child: ChildProcess;

  const launch = async () => {
    child = spawn(binary, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", options.dir, ...(options.extraArgs ?? [])], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    await waitForReady(child, port);
    await writeFile(pidFile, `${child.pid}:${port}`);
    child.stdout?.resume();
    child.stderr?.resume();
  };
  await launch();

  const onExit = () => child.kill("SIGKILL");
  process.once("exit", onExit);

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid ?? 0;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGCONT");
      child.kill("SIGTERM");
      await exited;
    },
    pause: () => child.kill("SIGSTOP"),
    resume: () => child.kill("SIGCONT"),
    start: launch,
  };
}
