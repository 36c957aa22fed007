import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import path from "node:path";
import { childProcessEnv, env, searchPath } from "@/lib/env";
import { median, type Measurement } from "./measure";

/** redis-benchmark next to the configured redis-server, on PATH, or in the usual places; null if absent. */
export function findRedisBenchmark(): string | null {
  const dirs = [
    ...(env.IDEM_REDIS_SERVER_BIN ? [path.dirname(env.IDEM_REDIS_SERVER_BIN)] : []),
    ...searchPath.split(path.delimiter).filter(Boolean),
    "/usr/bin",
    "/usr/local/bin",
    "/opt/homebrew/bin",
  ];
  for (const dir of dirs) {
    const candidate = path.join(dir, "redis-benchmark");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return null;
}

/** Connection flags for redis-benchmark from a redis:// URL (host, port, user, password, db, TLS). */
export function connectionArgs(redisUrl: string): { args: string[]; display: string[] } {
  const url = new URL(redisUrl);
  const host = url.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
  const args = ["-h", host, "-p", url.port || "6379"];
  const display = [...args];
  if (url.username) {
    args.push("--user", decodeURIComponent(url.username));
    display.push("--user", "<user>");
  }
  if (url.password) {
    args.push("-a", decodeURIComponent(url.password), "--no-auth-warning");
    display.push("-a", "<password>", "--no-auth-warning");
  }
  const db = url.pathname.replace(/^\//, "");
  if (db && db !== "0") {
    args.push("--dbnum", db);
    display.push("--dbnum", db);
  }
  if (url.protocol === "rediss:") {
    args.push("--tls");
    display.push("--tls");
  }
  return { args, display };
}

export interface RedisBenchmarkRun {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  avgMs: number;
}

/** Parses `--csv` output: a header line, then `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",...`. */
export function parseCsv(output: string): RedisBenchmarkRun {
  const lines = output.split("\n").map((l) => l.trim()).filter((l) => l.startsWith('"'));
  const header = lines[0]?.slice(1, -1).split('","');
  const values = lines[1]?.slice(1, -1).split('","');
  if (!header || !values) throw new Error(`redis-benchmark printed no CSV:\n${output.slice(0, 500)}`);
  const field = (name: string) => {
    const i = header.indexOf(name);
    const value = i === -1 ? Number.NaN : Number(values[i]);
    if (!Number.isFinite(value)) throw new Error(`redis-benchmark CSV has no ${name}:\n${output.slice(0, 500)}`);
    return value;
  };
  return { rps: field("rps"), p50Ms: field("p50_latency_ms"), p99Ms: field("p99_latency_ms"), avgMs: field("avg_latency_ms") };
}

export function runRedisBenchmark(binary: string, args: string[]): Promise<RedisBenchmarkRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { env: childProcessEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`redis-benchmark exited with ${code}: ${stderr.slice(0, 500)}`));
      try {
        resolve(parseCsv(stdout));
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** Rounds combined like measureCell's: the median round's throughput; latencies as the median round's. */
export function combineRuns(runs: Array<{ requests: number; run: RedisBenchmarkRun }>): Measurement {
  const requests = runs.reduce((sum, r) => sum + r.requests, 0);
  const seconds = runs.reduce((sum, r) => sum + r.requests / r.run.rps, 0);
  return {
    ops: requests,
    seconds,
    opsPerSec: median(runs.map((r) => r.run.rps)),
    p50Ms: median(runs.map((r) => r.run.p50Ms)),
    p99Ms: median(runs.map((r) => r.run.p99Ms)),
    meanMs: runs.reduce((sum, r) => sum + r.run.avgMs * r.requests, 0) / requests,
    roundOpsPerSec: runs.map((r) => r.run.rps),
    clientCpuUsPerOp: Number.NaN,
  };
}
