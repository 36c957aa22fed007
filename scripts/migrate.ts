import { env } from "@/lib/env";
import { resolveServers } from "@/lib/embedded/servers";
import { migrateDatabase } from "@/lib/migrate";

// `npm run migrate`: migrates DATABASE_URL, or the embedded Postgres under IDEM_DATA_DIR when it is unset.
const servers = await resolveServers({
  dataDir: env.IDEM_DATA_DIR,
  databaseUrl: env.DATABASE_URL,
  withRedis: false,
  log: (message) => console.log(message),
});
try {
  await migrateDatabase(servers.databaseUrl);
  console.log("migrations applied");
} finally {
  await servers.stop();
}
