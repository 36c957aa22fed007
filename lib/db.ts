import postgres from "postgres";
import { env } from "./env";
import { AppError } from "./errors";

/**
 * The process's one postgres.js client. Cached on globalThis so that dev-mode module reloads do not
 * leak a pool per edit. Connections open lazily, on the first query.
 */
const cache = globalThis as unknown as { __idemSql?: postgres.Sql };

export interface SqlOptions {
  max?: number;
  applicationName?: string;
  /** Named prepared statements (postgres.js's default); false sends every query unprepared. */
  prepare?: boolean;
}

export function createSql(url: string, options: SqlOptions = {}): postgres.Sql {
  return postgres(url, {
    max: options.max ?? env.IDEM_DB_POOL_MAX,
    prepare: options.prepare ?? true,
    idle_timeout: 30,
    connect_timeout: 5,
    onnotice: () => undefined,
    connection: { application_name: options.applicationName ?? "idem" },
  });
}

/**
 * How the console connects: unprepared statements, so Postgres plans every query with its parameters'
 * values. The console's filters range over six orders of magnitude (a key prefix matching 12 runs or
 * 2 million, a task with 200 runs or 3 million); a prepared statement switches to a generic plan after
 * five executions when that plan looks no dearer than the custom ones so far, and then uses it for
 * every value: on 1M runs `status=failed&key=evt_&keyMatch=prefix` took 110-300 ms on the generic plan
 * (a bitmap over 220,000 keys) and 1 ms on its own plan (docs/BENCHMARKS.md, console). Parsing and
 * planning each time costs about 0.1-0.25 ms per statement. Unlike a plan_cache_mode startup
 * parameter, this also works through PgBouncer.
 */
export const CONSOLE_SQL_OPTIONS = { applicationName: "idem-console", prepare: false } as const satisfies SqlOptions;

export function getSql(): postgres.Sql {
  if (cache.__idemSql) return cache.__idemSql;
  if (!env.DATABASE_URL) {
    throw new AppError(
      "UNAVAILABLE",
      "DATABASE_URL is not set. Start the console with `npm run demo` or `npm start`, which start an embedded Postgres, or set DATABASE_URL.",
    );
  }
  cache.__idemSql = createSql(env.DATABASE_URL, CONSOLE_SQL_OPTIONS);
  return cache.__idemSql;
}

const PROBE_OK_MS = 2000;
const PROBE_DOWN_MS = 1000;
const probe = globalThis as unknown as { __idemPgProbe?: { at: number; ok: boolean; running: Promise<boolean> | null } };

/**
 * Whether Postgres answers, remembered for a moment (2 s when up, 1 s when down) so asking on every
 * request costs one round trip per interval at most. proxy.ts uses it to answer 503 with a clear page
 * while Postgres is down, instead of letting every page fail into a 500.
 */
export async function postgresReachable(): Promise<boolean> {
  const state = (probe.__idemPgProbe ??= { at: 0, ok: true, running: null });
  if (Date.now() - state.at < (state.ok ? PROBE_OK_MS : PROBE_DOWN_MS)) return state.ok;
  state.running ??= (async () => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        getSql()`SELECT 1`,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("timeout")), 1500);
        }),
      ]);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  })().then((ok) => {
    Object.assign(state, { at: Date.now(), ok, running: null });
    return ok;
  });
  return state.running;
}
