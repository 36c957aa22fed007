import { execFile, spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import getPort from "get-port";
import { describe, expect, inject, it } from "vitest";
import { childProcessEnv } from "@/lib/env";
import { useTestDatabase } from "@/tests/helpers/db";
import { waitFor } from "@/tests/helpers/wait";

const root = path.resolve(import.meta.dirname, "..");
const run = promisify(execFile);

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("npm run dev | start | demo (scripts/launch.ts)", () => {
  const db = useTestDatabase();

  it("a SIGTERM to the launcher alone, as a process manager sends it, stops the console it started", { timeout: 120_000 }, async () => {
    const port = await getPort();
    // dev mode: the console listens within seconds and needs no production build.
    const launcher = spawn(process.execPath, ["--conditions=react-server", "--import", "tsx", "scripts/launch.ts", "dev"], {
      cwd: root,
      env: childProcessEnv({ DATABASE_URL: db().url, REDIS_URL: inject("redisUrl"), PORT: String(port) }),
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    launcher.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    launcher.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => launcher.once("exit", (code) => resolve(code)));
    try {
      await waitFor(() => listening(port), { timeoutMs: 90_000, what: `the console to listen on ${port}\n${output.slice(-2000)}` });

      // The launcher's own process only, not its process group: Ctrl-C in a terminal reaches every
      // process, `kill <pid>` or a container's stop does not.
      process.kill(launcher.pid!, "SIGTERM");
      expect(await exited).toBe(0);
      await waitFor(async () => !(await listening(port)), { timeoutMs: 30_000, what: "the console to stop listening after the launcher stopped" });
    } finally {
      try {
        process.kill(-launcher.pid!, "SIGKILL");
      } catch {
        // Already gone.
      }
      // If the console outlived the launcher (the bug this test guards against), stop it here.
      await run("pkill", ["-TERM", "-f", `next dev -p ${port} `]).catch(() => undefined);
    }
  });
});
