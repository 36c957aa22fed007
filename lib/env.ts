import { z } from "zod";
import { isLoopbackHost } from "./auth/transport";
import { lockPatternProblem } from "./locks/glob";
import { parseLockTemplate } from "./locks/templates";

/**
 * The only reader of process.env. Parsed once, at start: a bad value fails here, naming the variable,
 * rather than somewhere deep in a request.
 */
const blankAsUnset = (value: unknown) => (typeof value === "string" && value.trim() === "" ? undefined : value);

const urlWithProtocols = (protocols: string[], example: string) =>
  z.preprocess(
    blankAsUnset,
    z
      .string()
      .refine((value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      }, `must be a URL like ${example}`)
      .optional(),
  );

/** `?cluster=1` on REDIS_URL: the URL is a seed node of a Redis Cluster (see lib/redis.ts). */
const redisUrl = z.preprocess(
  blankAsUnset,
  z
    .string()
    .refine((value) => {
      try {
        return ["redis:", "rediss:"].includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, "must be a URL like redis://127.0.0.1:6379 (add ?cluster=1 for a Redis Cluster seed node)")
    .refine((value) => {
      const cluster = URL.canParse(value) ? new URL(value).searchParams.get("cluster") : null;
      return cluster === null || ["0", "1", "true", "false"].includes(cluster);
    }, "cluster= must be 1 or 0")
    .optional(),
);

const list = z.preprocess(
  (value) => (typeof value === "string" ? value.split(",").map((item) => item.trim()).filter(Boolean) : value),
  z.array(z.string().min(1)).default([]),
);

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  /** Unset: the launcher starts an embedded Postgres under IDEM_DATA_DIR and sets this for the app. */
  DATABASE_URL: urlWithProtocols(["postgres:", "postgresql:"], "postgres://user@127.0.0.1:5432/db"),
  /** Unset: the launcher starts a redis-server child on a free port and sets this for the app. */
  REDIS_URL: redisUrl,
  IDEM_DATA_DIR: z.preprocess(blankAsUnset, z.string().default(".idem")),
  IDEM_REDIS_SERVER_BIN: z.preprocess(blankAsUnset, z.string().optional()),
  PORT: z.preprocess(blankAsUnset, z.coerce.number({ error: "must be a port number (1-65535)" }).int("must be a port number (1-65535)").min(1, "must be a port number (1-65535)").max(65535, "must be a port number (1-65535)").default(3000)),
  HOSTNAME: z.preprocess(blankAsUnset, z.string().default("127.0.0.1")),
  /**
   * Reverse proxies in front of the console that append to X-Forwarded-For. 0 (the default): the
   * client address is the socket's, and a client-sent X-Forwarded-For is ignored.
   */
  IDEM_TRUSTED_PROXIES: z.preprocess(
    blankAsUnset,
    z.coerce.number({ error: "must be a whole number of proxies (0 or more)" }).int("must be a whole number of proxies (0 or more)").min(0, "must be a whole number of proxies (0 or more)").max(10, "must be at most 10").default(0),
  ),
  /**
   * The console's address as browsers use it, e.g. https://idem.example.com behind a TLS-terminating
   * proxy. Set, it decides the session cookie's Secure flag and OIDC redirect URIs; unset, they follow
   * the request (X-Forwarded-Proto only from trusted proxies). Plain http only for this machine.
   */
  IDEM_PUBLIC_URL: z.preprocess(
    blankAsUnset,
    z
      .string()
      .refine((value) => URL.canParse(value) && ["https:", "http:"].includes(new URL(value).protocol), "must be a URL like https://idem.example.com")
      .refine(
        (value) => !URL.canParse(value) || new URL(value).protocol === "https:" || isLoopbackHost(new URL(value).hostname),
        "must be https (browsers keep the sign-in cookie only over https, or on localhost)",
      )
      .optional(),
  ),
  IDEM_DB_POOL_MAX: z.preprocess(blankAsUnset, z.coerce.number({ error: "must be a whole number from 1 to 200" }).int("must be a whole number from 1 to 200").min(1, "must be a whole number from 1 to 200").max(200, "must be a whole number from 1 to 200").default(10)),
  IDEM_LOCK_PREFIX: z.preprocess(blankAsUnset, z.string().min(1).default("idem:lock:")),
  /** Extra SCAN patterns for locks written by other code, e.g. `lock:*,task:*`. */
  IDEM_LOCK_PATTERNS: list.superRefine((patterns, check) => {
    for (const problem of patterns.map(lockPatternProblem)) if (problem) check.addIssue({ code: "custom", message: problem });
  }),
  /**
   * Key templates that map other code's locks to their runs, comma-separated: `lock:order:{key}=charge_invoice`
   * (task fixed, key from the lock key), `jobs:{task}:{key}`, `task:{id}` (run id). Each is also scanned.
   */
  IDEM_LOCK_TEMPLATES: list.superRefine((templates, check) => {
    for (const template of templates) {
      try {
        parseLockTemplate(template);
      } catch (error) {
        check.addIssue({ code: "custom", message: error instanceof Error ? error.message : String(error) });
      }
    }
  }),
  /** The Locks screen examines at most this many keys per view, so a page view never costs Redis much. */
  IDEM_LOCK_SCAN_MAX_KEYS: z.preprocess(blankAsUnset, z.coerce.number().int().min(100).max(1_000_000).default(10_000)),
  /** Demo workload: keep a trickle of runs going while the console runs. */
  IDEM_DEMO_TRICKLE: z.preprocess(blankAsUnset, z.enum(["on", "off"]).default("on")),
  /**
   * Optional sign-in with an OpenID Connect provider (lib/auth/oidc.ts): its issuer URL and this
   * console's client at that provider. The three go together; unset, only passwords sign in.
   */
  IDEM_OIDC_ISSUER: urlWithProtocols(["https:", "http:"], "https://accounts.example.com"),
  IDEM_OIDC_CLIENT_ID: z.preprocess(blankAsUnset, z.string().max(500).optional()),
  IDEM_OIDC_CLIENT_SECRET: z.preprocess(blankAsUnset, z.string().max(2000).optional()),
  /** What the sign-in button calls the provider. */
  IDEM_OIDC_NAME: z.preprocess(blankAsUnset, z.string().max(60).default("single sign-on")),
  /** The ID token claim that names an existing console account (matched case-insensitively). */
  IDEM_OIDC_USERNAME_CLAIM: z.preprocess(blankAsUnset, z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, "must be a claim name such as email or preferred_username").default("email")),
}).superRefine((values, check) => {
  const oidc = ["IDEM_OIDC_ISSUER", "IDEM_OIDC_CLIENT_ID", "IDEM_OIDC_CLIENT_SECRET"] as const;
  if (!oidc.some((name) => values[name] !== undefined)) return;
  for (const name of oidc) {
    if (values[name] === undefined) check.addIssue({ code: "custom", path: [name], message: `is required when any of ${oidc.join(", ")} is set` });
  }
});

export type Env = z.infer<typeof envSchema>;

export function parseEnv(source: Record<string, string | undefined>): Env {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`).join("\n");
    throw new Error(`Invalid environment:\n${problems}`);
  }
  return parsed.data;
}

function loadEnv(): Env {
  try {
    return parseEnv(process.env);
  } catch (error) {
    // Bad configuration ends the process at start with one message naming each variable, rather than
    // a stack trace from whichever module happened to read it first.
    console.error(`[idem] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}

export const env: Env = loadEnv();

/** The environment for a child process (the console, a worker, a server): this one's, plus overrides. */
export function childProcessEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return { ...process.env, NEXT_TELEMETRY_DISABLED: "1", ...overrides };
}

/** PATH, for finding binaries such as redis-server. */
export const searchPath: string = process.env.PATH ?? "";
