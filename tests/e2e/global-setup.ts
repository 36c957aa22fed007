import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { childProcessEnv, env, searchPath } from "@/lib/env";
import { resolveServers } from "@/lib/embedded/servers";
import { cloneDatabase, databaseUrlFor, prepareTemplateDatabase } from "../helpers/template";
import { startConsole } from "./console-process";
import { STATE_FILE, type E2EState } from "./state";

const root = path.resolve(import.meta.dirname, "../..");

/**
 * Builds the console once, then starts it through the demo launcher on its own database (cloned from
 * a migrated template), so the browser sees the same thing a user does after `npm run demo`.
 */
export default async function globalSetup() {
  const servers = await resolveServers({
    dataDir: env.DATABASE_URL && env.REDIS_URL ? env.IDEM_DATA_DIR : mkdtempSync(path.join(tmpdir(), "idem-e2e-")),
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    pathVariable: searchPath,
  });
  const build = spawnSync("npx", ["next", "build"], { cwd: root, env: childProcessEnv(), stdio: "inherit" });
  if (build.status !== 0) throw new Error("next build failed");

  const templateDatabase = await prepareTemplateDatabase(servers.databaseUrl);
  const database = await cloneDatabase(servers.databaseUrl, templateDatabase, "idem_e2e");
  const databaseUrl = databaseUrlFor(servers.databaseUrl, database);
  const app = await startConsole({ databaseUrl, redisUrl: servers.redisUrl, mode: "demo" });

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
    await servers.stop();
  };
}
