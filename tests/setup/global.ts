import type { TestProject } from "vitest/node";
import { env, searchPath } from "@/lib/env";
import { resolveServers, type Servers } from "@/lib/embedded/servers";
import { dropDatabase, prepareTemplateDatabase } from "../helpers/template";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
    templateDatabase: string;
  }
}

let servers: Servers | null = null;
let template: string | null = null;

/**
 * `npm test` passes DATABASE_URL / REDIS_URL; run directly without them, Vitest starts the embedded
 * default in a temporary directory. Either way each test gets its own database cloned from a migrated
 * template (see tests/helpers/db.ts).
 */
export async function setup(project: TestProject) {
  servers = await resolveServers({
    scratchPrefix: "idem-vitest-",
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    redisBinary: env.IDEM_REDIS_SERVER_BIN,
    pathVariable: searchPath,
  });
  const templateDatabase = await prepareTemplateDatabase(servers.databaseUrl);
  template = templateDatabase;
  project.provide("databaseUrl", servers.databaseUrl);
  project.provide("redisUrl", servers.redisUrl);
  project.provide("templateDatabase", templateDatabase);
}

export async function teardown() {
  if (servers && template) await dropDatabase(servers.databaseUrl, template).catch(() => undefined);
  await servers?.stop();
}
