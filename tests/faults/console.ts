import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, statSync, type WriteStream } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { chromium } from "@playwright/test";
import autocannon from "autocannon";
import getPort, { portNumbers } from "get-port";
import type postgres from "postgres";
import { createApiToken } from "@/lib/auth/tokens";
import { childProcessEnv } from "@/lib/env";
import { E2E_LOCK_FILE } from "@/scripts/build-lock";
import playwrightConfig from "@/playwright.config";
import { addUserWithCli } from "@/tests/helpers/user-add";
import { waitFor } from "@/tests/helpers/wait";

/**
 * The console under load, for the fault suite: `next start` on the suite's own Postgres and Redis, a
 * viewer signed in through the real login form, and autocannon (loopback only, bounded in connections
 * and time) against the runs list, the run detail and the JSON API while the suite's workers write.
 *
 * `.next` is shared with other users of this checkout, whose e2e runs rebuild it: the build and the
 * server run under `flock E2E_LOCK_FILE` (scripts/build-lock.ts), the lock every `next build` here is serialized with.
 */

export interface HeldLock {
  release(): Promise<void>;
}

/**
 * Takes the shared build lock by running `flock -w <wait> <file> sh -c 'echo locked; exec cat'`: the
 * lock lives as long as `cat` waits on our pipe, so it goes when we close the pipe or die. Null when
 * the wait ran out (someone else's e2e run holds it).
 */
export async function acquireBuildLock(waitSeconds: number): Promise<HeldLock | null> {
  const child = spawn("flock", ["-w", String(waitSeconds), E2E_LOCK_FILE, "sh", "-c", "echo locked; exec cat"], {
    stdio: ["pipe", "pipe", "ignore"],
  });
  const locked = await new Promise<boolean>((resolve, reject) => {
    child.once("error", reject);
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("locked")) resolve(true);
    });
    child.once("exit", () => resolve(false));
  });
  if (!locked) return null;
  return {
    release: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.stdin?.end();
      }),
  };
}

const BUILD_INPUTS = { dirs: ["app", "components", "lib", "public"], files: ["proxy.ts", "instrumentation.ts", "next.config.ts", "postcss.config.mjs"] };

async function newestMtime(root: string): Promise<number> {
  let newest = 0;
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else newest = Math.max(newest, statSync(full).mtimeMs);
    }
  };
  for (const dir of BUILD_INPUTS.dirs) if (existsSync(path.join(root, dir))) await walk(path.join(root, dir));
  for (const file of BUILD_INPUTS.files) if (existsSync(path.join(root, file))) newest = Math.max(newest, statSync(path.join(root, file)).mtimeMs);
  return newest;
}

/** As scripts/launch.ts decides: a build is usable when it exists and no source is newer than it. */
export async function buildState(root: string): Promise<"fresh" | "stale" | "missing"> {
  const buildId = path.join(root, ".next", "BUILD_ID");
  if (!existsSync(buildId)) return "missing";
  return (await newestMtime(root)) > statSync(buildId).mtimeMs ? "stale" : "fresh";
}

const NEXT_BIN = (root: string) => path.join(root, "node_modules", "next", "dist", "bin", "next");

function pipeTo(child: ChildProcess, log: WriteStream, keep: { text: string }) {
  const onData = (chunk: Buffer) => {
    log.write(chunk);
    keep.text = (keep.text + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
}

export async function buildConsole(root: string, logFile: string): Promise<void> {
  const log = createWriteStream(logFile);
  const output = { text: "" };
  const child = spawn(process.execPath, [NEXT_BIN(root), "build"], { cwd: root, env: childProcessEnv({ NODE_ENV: "production" }), stdio: ["ignore", "pipe", "pipe"] });
  pipeTo(child, log, output);
  const code = await new Promise<number | null>((resolve) => child.once("exit", (exitCode) => resolve(exitCode)));
  log.end();
  if (code !== 0) throw new Error(`next build exited with ${code}:\n${output.text.slice(-3000)}`);
}

export interface ConsoleServer {
  baseURL: string;
  /** What the server printed so far (its tail). */
  output(): string;
  /** Lines the server logged as errors since it started. */
  errorLines(): string[];
  exited(): boolean;
  stop(): Promise<void>;
}

/** Next marks a failed render or route with ⨯; the console's own handlers log "[idem] ... failed". */
const SERVER_ERROR_LINE = /⨯|\[idem\].*\bfailed\b|Unhandled|uncaught/i;

/** `next start` on loopback against the given servers, answering /api/health with 200 before it returns. */
export async function startConsoleServer(options: {
  root: string;
  databaseUrl: string;
  redisUrl: string;
  lockPrefix: string;
  logFile: string;
  timeoutMs: number;
}): Promise<ConsoleServer> {
  const port = await getPort({ port: portNumbers(30000, 32999) });
  const log = createWriteStream(options.logFile);
  const output = { text: "" };
  const errors: string[] = [];
  const child = spawn(process.execPath, [NEXT_BIN(options.root), "start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: options.root,
    env: childProcessEnv({
      NODE_ENV: "production",
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.redisUrl,
      IDEM_LOCK_PREFIX: options.lockPrefix,
      PORT: String(port),
      HOSTNAME: "127.0.0.1",
    }),
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so stop() reaches every process it starts.
    detached: true,
  });
  pipeTo(child, log, output);
  let partial = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (SERVER_ERROR_LINE.test(line)) errors.push(line.trim());
  });
  const exitedPromise = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const baseURL = `http://127.0.0.1:${port}`;
  const server: ConsoleServer = {
    baseURL,
    output: () => output.text,
    errorLines: () => [...errors],
    exited: () => child.exitCode !== null || child.signalCode !== null,
    async stop() {
      if (!server.exited() && child.pid) {
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {
          // already gone
        }
        const killer = setTimeout(() => {
          try {
            if (child.pid) process.kill(-child.pid, "SIGKILL");
          } catch {
            // already gone
          }
        }, 10_000);
        await exitedPromise;
        clearTimeout(killer);
      }
      log.end();
    },
  };
  try {
    await waitFor(
      async () => {
        if (server.exited()) throw new Error(`next start exited with ${child.exitCode ?? child.signalCode} before it answered:\n${output.text.slice(-3000)}`);
        try {
          return (await fetch(`${baseURL}/api/health`, { signal: AbortSignal.timeout(5000) })).status === 200;
        } catch {
          return false; // not listening yet
        }
      },
      { timeoutMs: options.timeoutMs, everyMs: 200, what: `the console at ${baseURL} to answer /api/health` },
    );
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

/** A viewer account created with the real CLI (`scripts/user-add.ts`) on the suite's database. */
export async function createViewer(root: string, databaseUrl: string): Promise<{ username: string; password: string }> {
  const username = "load";
  const password = randomBytes(18).toString("base64url");
  await addUserWithCli(root, { username, password, role: "viewer" }, { DATABASE_URL: databaseUrl });
  return { username, password };
}

/**
 * Signs in through the real login form in Chromium (the browser and flags the e2e tests use) and
 * returns the Cookie header the browser would send with every page request afterwards.
 */
export async function signIn(baseURL: string, account: { username: string; password: string }): Promise<string> {
  const browser = await chromium.launch(playwrightConfig.use?.launchOptions);
  try {
    const context = await browser.newContext({ baseURL });
    const page = await context.newPage();
    await page.goto("/login");
    await page.getByLabel("Username").fill(account.username);
    await page.getByLabel("Password").fill(account.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((url) => !url.pathname.startsWith("/login"), { timeout: 30_000 });
    const cookies = await context.cookies(baseURL);
    if (!cookies.length) throw new Error("signed in, but the console set no cookie");
    return cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join("; ");
  } finally {
    await browser.close();
  }
}

/** A viewer API token, made by the function behind Settings → API tokens. */
export async function createViewerToken(sql: postgres.Sql): Promise<string> {
  return (await createApiToken(sql, { name: "faults-load", role: "viewer" }, "faults-suite")).token;
}

export interface LoadTarget {
  name: string;
  /** Paths cycled through by each connection. */
  paths: string[];
  headers: Record<string, string>;
  /** A 200 is not enough: the body must be the real page (an error boundary or a health banner answers 200 too). */
  verifyBody: (body: string) => boolean;
}

export interface LoadResult {
  name: string;
  paths: string[];
  connections: number;
  durationS: number;
  requests: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  /** 2xx responses whose body was not the page asked for. */
  mismatches: number;
}

/** Markers of a page that did not render: a render error's digest, an error boundary or a health banner (role="alert"). */
const PAGE_FAILURE_MARKERS = ['role="alert"', "data-dgst", "This page could not be loaded", "Application error"];

export function isCompletePage(body: string, mustContain: RegExp): boolean {
  return body.includes("</html>") && mustContain.test(body) && !PAGE_FAILURE_MARKERS.some((marker) => body.includes(marker));
}

/** One bounded autocannon run per target, one after another, against loopback only. */
export async function runLoad(
  baseURL: string,
  targets: LoadTarget[],
  options: { connections: number; secondsPerTarget: number },
): Promise<LoadResult[]> {
  const url = new URL(baseURL);
  if (url.hostname !== "127.0.0.1") throw new Error(`the load generator only targets loopback, not ${url.hostname}`);
  const results: LoadResult[] = [];
  for (const target of targets) {
    // Warm-up, unmeasured: a cold server compiles each route on its first request. Also fails early,
    // and clearly, when a target is wrong (a redirect to /login, a 404).
    for (const p of target.paths) {
      const response = await fetch(new URL(p, baseURL), { headers: target.headers, redirect: "manual", signal: AbortSignal.timeout(30_000) });
      const body = await response.text();
      if (response.status !== 200 || !target.verifyBody(body)) {
        throw new Error(`${target.name}: GET ${p} answered ${response.status} ${response.headers.get("location") ?? ""} before the load: ${body.slice(0, 300)}`);
      }
    }
    const result = await autocannon({
      url: baseURL,
      connections: options.connections,
      duration: options.secondsPerTarget,
      timeout: 10,
      headers: target.headers,
      requests: target.paths.map((p) => ({ method: "GET", path: p })),
      verifyBody: (body) => (typeof body === "string" ? target.verifyBody(body) : target.verifyBody(body?.toString() ?? "")),
    });
    const statusCodes: Record<string, number> = {};
    for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stats.count ?? 0;
    results.push({
      name: target.name,
      paths: target.paths,
      connections: options.connections,
      durationS: result.duration,
      requests: result.requests.total,
      requestsPerSecond: result.requests.average,
      latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
      non2xx: result.non2xx,
      statusCodes,
      errors: result.errors,
      timeouts: result.timeouts,
      mismatches: result.mismatches,
    });
  }
  return results;
}
