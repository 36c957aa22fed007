import { sql } from "drizzle-orm";
import { bigint, boolean, index, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { idem } from "@/lib/ledger/schema";

const tz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const userRole = idem.enum("user_role", ["viewer", "operator", "admin"]);

export const users = idem.table(
  "users",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    username: text("username").notNull(),
    // scrypt$N$r$p$salt$hash (see lib/auth/password.ts)
    passwordHash: text("password_hash").notNull(),
    role: userRole("role").notNull(),
    createdAt: tz("created_at").notNull().defaultNow(),
    createdBy: text("created_by"),
    disabledAt: tz("disabled_at"),
  },
  (t) => [uniqueIndex("users_username_uq").on(sql`lower(${t.username})`)],
);

export const sessions = idem.table(
  "sessions",
  {
    // sha256 of the cookie's token: a database leak does not hand out live sessions.
    id: text("id").primaryKey(),
    userId: bigint("user_id", { mode: "number" })
      .notNull()
      .references(() => users.id),
    createdAt: tz("created_at").notNull().defaultNow(),
    expiresAt: tz("expires_at").notNull(),
    lastSeenAt: tz("last_seen_at").notNull().defaultNow(),
    ip: text("ip"),
    userAgent: text("user_agent"),
  },
  (t) => [index("sessions_user_idx").on(t.userId), index("sessions_expires_idx").on(t.expiresAt)],
);

export const loginAttempts = idem.table(
  "login_attempts",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    username: text("username").notNull(),
    ip: text("ip").notNull(),
    succeeded: boolean("succeeded").notNull(),
    at: tz("at").notNull().defaultNow(),
  },
  (t) => [index("login_attempts_user_at_idx").on(sql`lower(${t.username})`, t.at), index("login_attempts_ip_at_idx").on(t.ip, t.at)],
);

export const apiTokens = idem.table(
  "api_tokens",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    name: text("name").notNull(),
    // sha256 of the secret; the secret is shown once, at creation.
    tokenHash: text("token_hash").notNull(),
    // The first characters of the token, to recognise it in lists without storing it.
    prefix: text("prefix").notNull(),
    role: userRole("role").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: tz("created_at").notNull().defaultNow(),
    lastUsedAt: tz("last_used_at"),
    revokedAt: tz("revoked_at"),
    revokedBy: text("revoked_by"),
  },
  (t) => [uniqueIndex("api_tokens_hash_uq").on(t.tokenHash)],
);

export type UserRow = typeof users.$inferSelect;
export type Role = (typeof userRole.enumValues)[number];
