import { spawnSync } from "node:child_process";
import { chromium } from "@playwright/test";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { childProcessEnv, env, searchPath } from "@/lib/env";
import { resolveServers } from "@/lib/embedded/servers";
import { addUserWithCli } from "../helpers/user-add";
import { cloneDatabase, databaseUrlFor, dropDatabase, prepareTemplateDatabase } from "../helpers/template";
import { startConsole } from "./console-process";
import { E2E_ACCOUNTS, STATE_FILE, storageStatePath, type E2EState } from "./state";
import playwrightConfig from "../../playwright.config";
import { lockedBuildCommand } from "../../scripts/build-lock";

const root = path.resolve(import.meta.dirname, "../..");

/**
 * Builds the console once, then starts it through the demo launcher on its own database (cloned from
 * a migrated template), so the browser sees the same thing a user does after `npm run demo`.
 */
/** Signs in once per role through the real form and keeps the cookies for the tests (storageState). */
async function saveSignedInStates(baseURL: string) {
  const browser = await chromium.launch(playwrightConfig.use?.launchOptions);
  try {
    for (const [role, account] of Object.entries(E2E_ACCOUNTS)) {
      const context = await browser.newContext({ baseURL });
      const page = await context.newPage();
      await page.goto("/login");
      await page.getByLabel("Username").fill(account.username);
      await page.getByLabel("Password").fill(account.password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL((url) => !url.pathname.startsWith("/login"));
      await context.storageState({ path: storageStatePath(role as keyof typeof E2E_ACCOUNTS) });
      await context.close();
    }
  } finally {
    await browser.close();
  }
}

export default async function globalSetup() {
  // Postgres: the configured server (each run gets its own database). Redis: always a private
  // redis-server child, because the demo writes fixed lock keys that parallel runs must not share.
  const servers = await resolveServers({
    scratchPrefix: "idem-e2e-",
    databaseUrl: env.DATABASE_URL,
    pathVariable: searchPath,
  });
  const [command, args] = lockedBuildCommand();
  const build = spawnSync(command, args, { cwd: root, env: childProcessEnv(), stdio: "inherit" });
  if (build.status !== 0) throw new Error("next build failed");

  const templateDatabase = await prepareTemplateDatabase(servers.databaseUrl);
  const database = await cloneDatabase(servers.databaseUrl, templateDatabase, "idem_e2e");
  const databaseUrl = databaseUrlFor(servers.databaseUrl, database);
  const admin = E2E_ACCOUNTS.admin;
  await addUserWithCli(root, { ...admin, role: "admin" }, { DATABASE_URL: databaseUrl });
  const app = await startConsole({ databaseUrl, redisUrl: servers.redisUrl, mode: "demo" });
  await saveSignedInStates(app.baseURL);

  const state: E2EState = {
    baseURL: app.baseURL,
    databaseUrl,
    redisUrl: servers.redisUrl,
    serverDatabaseUrl: servers.databaseUrl,
    templateDatabase,
  };
  mkdirSync(path.dirname(STATE_FILE), { recursive: true });
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));

  return async () => {
    await app.stop();
    await dropDatabase(servers.databaseUrl, database).catch(() => undefined);
    await dropDatabase(servers.databaseUrl, templateDatabase).catch(() => undefined);
    await servers.stop();
  };
}
