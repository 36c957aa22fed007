import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { env, searchPath } from "@/lib/env";
import { resolveServers } from "@/lib/embedded/servers";
import { isAppError } from "@/lib/errors";
import { roleSchema } from "@/lib/auth/roles";
import { createUser } from "@/lib/auth/users";
import { parseOrThrow } from "@/lib/ledger/spec";
import { migrateDatabase } from "@/lib/migrate";

/**
 * `npm run user:add -- --role admin [--username alice] [--password ...]`: creates a console account.
 * Without --password a strong one is generated and printed once. Works against DATABASE_URL or the
 * embedded default (also while `npm run demo` is running).
 */
function parseCommandLine() {
  try {
    return parseArgs({
      options: {
        username: { type: "string", default: "admin" },
        role: { type: "string", default: "viewer" },
        password: { type: "string" },
      },
    });
  } catch (error) {
    // parseArgs refuses `--password -abc` as ambiguous; say how to pass such a value instead.
    console.error(`${error instanceof Error ? error.message.split("\n")[0] : String(error)}\nusage: npm run user:add -- --role=<viewer|operator|admin> --username=<name> [--password=<value>] (use the --name=value form for a value that starts with "-")`);
    process.exit(2);
  }
}
const { values } = parseCommandLine();

const servers = await resolveServers({ dataDir: env.IDEM_DATA_DIR, databaseUrl: env.DATABASE_URL, withRedis: false, pathVariable: searchPath });
const sql = postgres(servers.databaseUrl, { max: 1, onnotice: () => undefined });
const password = values.password ?? randomBytes(15).toString("base64url");
try {
  await migrateDatabase(servers.databaseUrl);
  const role = parseOrThrow(roleSchema, values.role, "--role");
  const user = await createUser(sql, { username: values.username, password, role }, "cli");
  console.log(`created ${user.role} "${user.username}"`);
  if (!values.password) console.log(`password: ${password}\n(shown once; it is stored only as a scrypt hash)`);
} catch (error) {
  console.error(isAppError(error) ? error.message : error);
  process.exitCode = 1;
} finally {
  await sql.end();
  await servers.stop();
}
