import { spawn } from "node:child_process";
import path from "node:path";
import getPort from "get-port";
import { childProcessEnv } from "@/lib/env";
import { cloneDatabase, databaseUrlFor, dropDatabase } from "../helpers/template";
import { addUserWithCli } from "../helpers/user-add";
import { waitFor } from "../helpers/wait";
import { state } from "./fixtures";

const root = path.resolve(import.meta.dirname, "../..");

export interface FreshConsole {
  baseURL: string;
  databaseUrl: string;
  stop(): Promise<void>;
}

/**
 * A second console on an empty database (cloned from the migrated template), for what a fresh install
 * looks like. It serves the build global setup made with `next start` directly: going through the
 * launcher would rebuild the shared .next if anyone had saved a source file since, under the console
 * the other tests are using. The database is migrated already, so the launcher has nothing else to do.
 * The demo accounts do not exist there; `viewer` is created with the CLI, as an operator would.
 * `redisUrl` may point at nothing, for a console whose Redis is down; `env` adds configuration.
 */
export async function startFreshConsole(
  viewer: { username: string; password: string },
  options: { redisUrl?: string; env?: Record<string, string> } = {},
): Promise<FreshConsole> {
  const name = await cloneDatabase(state.serverDatabaseUrl, state.templateDatabase, "idem_e2e_fresh");
  const databaseUrl = databaseUrlFor(state.serverDatabaseUrl, name);
  const servers = { DATABASE_URL: databaseUrl, REDIS_URL: options.redisUrl ?? state.redisUrl };
  const env = childProcessEnv({ ...options.env, ...servers });
  await addUserWithCli(root, { ...viewer, role: "viewer" }, servers);

  const port = await getPort();
  let output = "";
  const child = spawn("npx", ["next", "start", "-p", String(port), "-H", "127.0.0.1"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const baseURL = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.pid) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(-child.pid, "SIGTERM");
      await exited;
    }
    await dropDatabase(state.serverDatabaseUrl, name);
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`next start exited with ${child.exitCode}:\n${output.slice(-4000)}`);
        try {
          return (await fetch(`${baseURL}/api/health`)).status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: 120_000, everyMs: 250, what: "the fresh console to answer" },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { baseURL, databaseUrl, stop };
}
