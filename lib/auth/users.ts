import "server-only";
import { z } from "zod";
import type postgres from "postgres";
import { AppError } from "@/lib/errors";
import { parseOrThrow } from "@/lib/ledger/spec";
import { hashPassword, passwordSchemaRules } from "./password";
import { roleSchema, type Role } from "./roles";

export interface User {
  id: number;
  username: string;
  role: Role;
  createdAt: Date;
  createdBy: string | null;
  disabledAt: Date | null;
}

type UserRecord = { id: string; username: string; role: Role; created_at: Date; created_by: string | null; disabled_at: Date | null };

export const usernameSchema = z
  .string()
  .trim()
  .min(2, "must be at least 2 characters")
  .max(64, "must be at most 64 characters")
  .regex(/^[A-Za-z0-9_.@-]+$/, "may contain letters, digits and _ . @ - only");

export const newUserSchema = z.object({
  username: usernameSchema,
  password: z.string().min(passwordSchemaRules.min, `must be at least ${passwordSchemaRules.min} characters`).max(passwordSchemaRules.max),
  role: roleSchema,
});

export function toUser(row: UserRecord): User {
  return {
    id: Number(row.id),
    username: row.username,
    role: row.role,
    createdAt: new Date(row.created_at),
    createdBy: row.created_by,
    disabledAt: row.disabled_at ? new Date(row.disabled_at) : null,
  };
}

export async function createUser(sql: postgres.Sql, input: z.input<typeof newUserSchema>, createdBy: string): Promise<User> {
  const { username, password, role } = parseOrThrow(newUserSchema, input);
  const passwordHash = await hashPassword(password);
  const rows = await sql<UserRecord[]>`
    INSERT INTO idem.users (username, password_hash, role, created_by)
    VALUES (${username}, ${passwordHash}, ${role}, ${createdBy})
    ON CONFLICT ((lower(username))) DO NOTHING
    RETURNING id, username, role, created_at, created_by, disabled_at`;
  if (!rows[0]) throw new AppError("CONFLICT", `a user named ${username} already exists`);
  return toUser(rows[0]);
}

/** A new password for an existing account (`npm run user:add -- --reset`); its sessions end. */
export async function resetPassword(sql: postgres.Sql, username: string, password: string): Promise<User> {
  const parsed = parseOrThrow(newUserSchema.pick({ password: true }), { password });
  const passwordHash = await hashPassword(parsed.password);
  const rows = await sql<UserRecord[]>`
    UPDATE idem.users SET password_hash = ${passwordHash} WHERE lower(username) = lower(${username})
    RETURNING id, username, role, created_at, created_by, disabled_at`;
  if (!rows[0]) throw new AppError("NOT_FOUND", `no user named ${username}`);
  await sql`DELETE FROM idem.sessions WHERE user_id = ${rows[0].id}`;
  return toUser(rows[0]);
}

/**
 * Creates the user unless one of that name exists, which is left as it is (the demo's known accounts:
 * a password an admin changed, or an account disabled, stays so across `npm run demo`).
 */
export async function createUserIfMissing(sql: postgres.Sql, input: z.input<typeof newUserSchema>, createdBy: string): Promise<{ user: User; created: boolean }> {
  const { username, password, role } = parseOrThrow(newUserSchema, input);
  const existing = await sql<UserRecord[]>`
    SELECT id, username, role, created_at, created_by, disabled_at FROM idem.users WHERE lower(username) = lower(${username})`;
  if (existing[0]) return { user: toUser(existing[0]), created: false };
  const passwordHash = await hashPassword(password);
  const rows = await sql<UserRecord[]>`
    INSERT INTO idem.users (username, password_hash, role, created_by)
    VALUES (${username}, ${passwordHash}, ${role}, ${createdBy})
    ON CONFLICT ((lower(username))) DO NOTHING
    RETURNING id, username, role, created_at, created_by, disabled_at`;
  if (rows[0]) return { user: toUser(rows[0]), created: true };
  // Created by someone else in between: theirs stands.
  const raced = await sql<UserRecord[]>`
    SELECT id, username, role, created_at, created_by, disabled_at FROM idem.users WHERE lower(username) = lower(${username})`;
  return { user: toUser(raced[0]!), created: false };
}

export async function findUserForLogin(sql: postgres.Sql, username: string): Promise<(User & { passwordHash: string }) | null> {
  const rows = await sql<(UserRecord & { password_hash: string })[]>`
    SELECT id, username, role, created_at, created_by, disabled_at, password_hash
    FROM idem.users WHERE lower(username) = lower(${username})`;
  const row = rows[0];
  return row ? { ...toUser(row), passwordHash: row.password_hash } : null;
}

export async function listUsers(sql: postgres.Sql): Promise<User[]> {
  const rows = await sql<UserRecord[]>`
    SELECT id, username, role, created_at, created_by, disabled_at FROM idem.users ORDER BY lower(username)`;
  return rows.map(toUser);
}

/**
 * Changes a user's role or disabled flag by compare-and-set on what the admin saw, and never leaves
 * the console without an active admin (checked in the same statement, so two admins demoting each
 * other at once cannot both succeed).
 */
export async function updateUserAccess(
  sql: postgres.Sql,
  change: { id: number; role: Role; disabled: boolean; seenRole: Role; seenDisabled: boolean },
): Promise<User> {
  const rows = await sql<UserRecord[]>`
    WITH target AS (
      SELECT id FROM idem.users
      WHERE id = ${change.id} AND role = ${change.seenRole} AND (disabled_at IS NOT NULL) = ${change.seenDisabled}
      FOR UPDATE
    ), other_admins AS (
      SELECT count(*) AS n FROM idem.users WHERE role = 'admin' AND disabled_at IS NULL AND id <> ${change.id}
    )
    UPDATE idem.users u
    SET role = ${change.role},
        disabled_at = CASE WHEN ${change.disabled}::boolean THEN coalesce(u.disabled_at, now()) ELSE NULL END
    FROM target, other_admins
    WHERE u.id = target.id AND ((${change.role} = 'admin' AND NOT ${change.disabled}::boolean) OR other_admins.n > 0)
    RETURNING u.id, u.username, u.role, u.created_at, u.created_by, u.disabled_at`;
  if (rows[0]) {
    if (change.disabled) await sql`DELETE FROM idem.sessions WHERE user_id = ${change.id}`;
    return toUser(rows[0]);
  }
  const current = await sql<UserRecord[]>`SELECT id, username, role, created_at, created_by, disabled_at FROM idem.users WHERE id = ${change.id}`;
  if (!current[0]) throw new AppError("NOT_FOUND", `user ${change.id} does not exist`);
  const now = toUser(current[0]);
  if (now.role !== change.seenRole || Boolean(now.disabledAt) !== change.seenDisabled) {
    throw new AppError("PRECONDITION_FAILED", `${now.username} changed since you looked (now ${now.role}${now.disabledAt ? ", disabled" : ""}); reload and try again`);
  }
  throw new AppError("CONFLICT", "that would leave the console without an active admin");
}

export async function getUser(sql: postgres.Sql, id: number): Promise<User | null> {
  const rows = await sql<UserRecord[]>`SELECT id, username, role, created_at, created_by, disabled_at FROM idem.users WHERE id = ${id}`;
  return rows[0] ? toUser(rows[0]) : null;
}
