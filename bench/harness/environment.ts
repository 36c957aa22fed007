import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { createSql } from "@/lib/db";
import { createRedis } from "@/lib/redis";

const root = path.resolve(import.meta.dirname, "..", "..");

export const PEER_PACKAGES = ["pg-boss", "graphile-worker", "redlock", "redis-semaphore", "postgres", "ioredis", "pg"] as const;

export interface Environment {
  date: string;
  command: string;
  cpu: string;
  cores: number;
  ramGiB: number;
  os: string;
  loadAtStart: string;
  /** Set per suite when its section is written. */
  loadAtEnd?: string;
  node: string;
  postgres: string;
  postgresSettings: string;
  postgresWhere: string;
  redis: string;
  redisWhere: string;
  redisBenchmark: string;
  packages: Record<string, string>;
}

async function cpuModel(): Promise<string> {
  try {
    const info = await readFile("/proc/cpuinfo", "utf8");
    const line = info.split("\n").find((l) => l.startsWith("model name"));
    if (line) return line.split(":").slice(1).join(":").trim();
  } catch {
    // not Linux: fall back to what Node reports
  }
  return os.cpus()[0]?.model ?? "unknown";
}

export async function packageVersion(name: string): Promise<string> {
  try {
    const raw = await readFile(path.join(root, "node_modules", name, "package.json"), "utf8");
    const parsed: unknown = JSON.parse(raw);
    if (parsed && typeof parsed === "object" && "version" in parsed && typeof parsed.version === "string") {
      return parsed.version.replace(/^v/, "");
    }
  } catch {
    // not installed
  }
  return "not installed";
}

/** host:port only: a URL may carry a password. */
export function describeServer(url: string, embedded: boolean): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || "default port"}${embedded ? " (embedded default)" : ""}`;
}

export function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(" ");
}

export async function collectEnvironment(options: {
  command: string;
  databaseUrl: string;
  redisUrl: string;
  embeddedPostgres: boolean;
  embeddedRedis: boolean;
  redisBenchmarkBinary: string | null;
}): Promise<Environment> {
  const sql = createSql(options.databaseUrl, { max: 1, applicationName: "idem-bench-env" });
  const redis = createRedis(options.redisUrl, { name: "idem-bench-env" });
  try {
    const [settings] = await sql<Array<Record<string, string>>>`
      SELECT current_setting('server_version') AS version,
             current_setting('shared_buffers') AS shared_buffers,
             current_setting('synchronous_commit') AS synchronous_commit,
             current_setting('fsync') AS fsync,
             current_setting('max_connections') AS max_connections`;
    const info = await redis.info("server");
    const redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown";
    let redisBenchmark = "not found";
    if (options.redisBenchmarkBinary) {
      try {
        const { stdout } = await promisify(execFile)(options.redisBenchmarkBinary, ["--version"]);
        redisBenchmark = stdout.trim();
      } catch {
        redisBenchmark = `${options.redisBenchmarkBinary} (version unknown)`;
      }
    }
    const packages: Record<string, string> = {};
    for (const name of PEER_PACKAGES) packages[name] = await packageVersion(name);
    return {
      date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      command: options.command,
      cpu: await cpuModel(),
      cores: os.cpus().length,
      ramGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      loadAtStart: loadAverage(),
      node: process.version,
      postgres: settings?.version ?? "unknown",
      postgresSettings: settings
        ? `shared_buffers=${settings.shared_buffers}, synchronous_commit=${settings.synchronous_commit}, fsync=${settings.fsync}, max_connections=${settings.max_connections}`
        : "unknown",
      postgresWhere: describeServer(options.databaseUrl, options.embeddedPostgres),
      redis: redisVersion,
      redisWhere: describeServer(options.redisUrl, options.embeddedRedis),
      redisBenchmark,
      packages,
    };
  } finally {
    await sql.end({ timeout: 5 });
    await redis.quit().catch(() => redis.disconnect());
  }
}

export function environmentLines(e: Environment): string[] {
  const peers = Object.entries(e.packages)
    .map(([name, version]) => `${name} ${version}`)
    .join(", ");
  return [
    `Measured ${e.date} with \`${e.command}\`.`,
    `Machine: ${e.cpu}, ${e.cores} cores, ${e.ramGiB} GiB RAM, ${e.os}; load average (1/5/15 min) at start ${e.loadAtStart}` +
      `${e.loadAtEnd ? `, after this suite ${e.loadAtEnd}` : ""}. ` +
      "Postgres, Redis and the benchmark process share these cores.",
    `Node ${e.node}; PostgreSQL ${e.postgres} at ${e.postgresWhere} (${e.postgresSettings}); Redis ${e.redis} at ${e.redisWhere}; ${e.redisBenchmark}.`,
    `Packages: ${peers}.`,
  ];
}
