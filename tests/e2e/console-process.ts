import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import getPort from "get-port";
import { childProcessEnv } from "@/lib/env";

const root = path.resolve(import.meta.dirname, "../..");

export interface ConsoleProcess {
  baseURL: string;
  stop(): Promise<void>;
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number, output: () => string) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`console exited with ${child.exitCode} before it answered:\n${output().slice(-4000)}`);
    try {
      const response = await fetch(url);
      if (response.status < 500 || response.status === 503) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`console did not answer at ${url} within ${timeoutMs} ms:\n${output().slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Starts the console through the real launcher (`scripts/launch.ts`) with the given servers and waits
 * until it answers. `mode: "demo"` also runs the demo workload; `"start"` serves the ledger as it is.
 */
export async function startConsole(options: {
  databaseUrl: string;
  redisUrl: string;
  mode?: "demo" | "start";
  env?: Record<string, string>;
  timeoutMs?: number;
}): Promise<ConsoleProcess> {
  const port = await getPort();
  let output = "";
  // As package.json runs it (node --import tsx, see scripts/launch.ts), so a SIGTERM reaches the launcher itself.
  const child = spawn(process.execPath, ["--conditions=react-server", "--import", "tsx", "scripts/launch.ts", options.mode ?? "start"], {
    cwd: root,
    env: childProcessEnv({ DATABASE_URL: options.databaseUrl, REDIS_URL: options.redisUrl, PORT: String(port), ...options.env }),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const baseURL = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${baseURL}/api/health`, child, options.timeoutMs ?? 300_000, () => output);
  } catch (error) {
    await stopLauncher(child);
    throw error;
  }
  return { baseURL, stop: () => stopLauncher(child) };
}

// SIGTERM, not SIGKILL: the launcher runs the console in a process group of its own and stops it on
// SIGTERM; a killed launcher would leave the console running.
async function stopLauncher(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  process.kill(-child.pid, "SIGTERM");
  await exited;
}
