import postgres from "postgres";
import { env } from "./env";
import { AppError } from "./errors";

/**
 * The process's one postgres.js client. Cached on globalThis so that dev-mode module reloads do not
 * leak a pool per edit. Connections open lazily, on the first query.
 */
const cache = globalThis as unknown as { __idemSql?: postgres.Sql };

export function createSql(url: string, options: { max?: number; applicationName?: string } = {}): postgres.Sql {
  return postgres(url, {
    max: options.max ?? env.IDEM_DB_POOL_MAX,
    idle_timeout: 30,
    connect_timeout: 5,
    onnotice: () => undefined,
    connection: { application_name: options.applicationName ?? "idem" },
  });
}

export function getSql(): postgres.Sql {
  if (cache.__idemSql) return cache.__idemSql;
  if (!env.DATABASE_URL) {
    throw new AppError(
      "UNAVAILABLE",
      "DATABASE_URL is not set. Start the console with `npm run demo` or `npm start`, which start an embedded Postgres, or set DATABASE_URL.",
    );
  }
  cache.__idemSql = createSql(env.DATABASE_URL, { applicationName: "idem-console" });
  return cache.__idemSql;
}
