import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import getPort from "get-port";
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from "@/lib/embedded/postgres";
import { childProcessEnv } from "@/lib/env";
import { migrateDatabase } from "@/lib/migrate";
import { addUserWithCli } from "../helpers/user-add";
import { waitFor } from "../helpers/wait";
import { attachScreenshot, expect, signedInAs, state, test } from "./fixtures";
import { LoginPage } from "./pages/login.page";

const root = path.resolve(import.meta.dirname, "../..");

/**
 * Postgres dies under a running console, then comes back. The test stops a server, so it starts its
 * own (embedded Postgres in a temporary directory) and a console of its own on it.
 */
test.use(signedInAs("anonymous"));

let pg: EmbeddedPostgresHandle;
let scratch = "";
let stopConsole: () => Promise<void> = async () => undefined;
let baseURL = "";
const viewer = { username: "pg-down-viewer", password: "pg-down-viewer-password" };

test.beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), "idem-pgdown-"));
  pg = await startEmbeddedPostgres({ dataDir: path.join(scratch, "pg") });
  await migrateDatabase(pg.url);
  const servers = { DATABASE_URL: pg.url, REDIS_URL: state.redisUrl };
  const env = childProcessEnv(servers);
  await addUserWithCli(root, { ...viewer, role: "viewer" }, servers);
  const port = await getPort();
  const child = spawn("npx", ["tsx", "scripts/serve.ts", "--port", String(port)], { cwd: root, env, stdio: "ignore", detached: true });
  baseURL = `http://127.0.0.1:${port}`;
  stopConsole = async () => {
    if (child.exitCode !== null || !child.pid) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    process.kill(-child.pid, "SIGTERM");
    await exited;
  };
  await waitFor(async () => (await fetch(`${baseURL}/api/health`).catch(() => null))?.status === 200, { timeoutMs: 120_000, what: "the console" });
});

test.afterAll(async () => {
  await stopConsole();
  await pg.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test("with Postgres down every page and API route answers 503 with a clear message, and the console recovers by itself", async ({ page, request }, testInfo) => {
  await page.goto(`${baseURL}/login`);
  await new LoginPage(page).signIn(viewer.username, viewer.password);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Overview");

  await pg.stop();
  await expect
    .poll(async () => (await request.get(`${baseURL}/api/health`)).status(), { message: "health notices Postgres is gone", timeout: 15_000 })
    .toBe(503);

  // The console notices within a couple of seconds (it remembers a probe for 2 s).
  await expect
    .poll(async () => (await request.get(`${baseURL}/`, { maxRedirects: 0 })).status(), { message: "pages notice", timeout: 15_000 })
    .toBe(503);
  for (const pathname of ["/", "/runs?status=failed", "/runs/1", "/duplicates", "/locks", "/audit", "/login"]) {
    const response = await request.get(`${baseURL}${pathname}`, { maxRedirects: 0 });
    expect(response.status(), pathname).toBe(503);
    expect(await response.text(), pathname).toContain("Postgres is unreachable");
  }
  const api = await request.get(`${baseURL}/api/v1/runs`, { headers: { authorization: "Bearer idem_whatever" } });
  expect(api.status()).toBe(503);
  expect(await api.json()).toMatchObject({ error: { code: "UNAVAILABLE" } });

  const down = await page.goto(`${baseURL}/runs`);
  expect(down?.status()).toBe(503);
  await expect(page.getByRole("heading", { name: "Postgres is unreachable" })).toBeVisible();
  await attachScreenshot(page, testInfo, "postgres-down");

  await pg.start();
  // The page reloads itself every 10 s; a reload now shows the runs list again, still signed in.
  await expect
    .poll(async () => (await page.reload())?.status(), { message: "the console recovers", timeout: 20_000, intervals: [500] })
    .toBe(200);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Runs");
});
