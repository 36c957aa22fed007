import "server-only";
import { createHash, randomBytes } from "node:crypto";
import type postgres from "postgres";
import { throttleAddress } from "./client-address";
import type { Role } from "./roles";
import { toUser, type User } from "./users";

export const SESSION_TTL_MS = 12 * 3600 * 1000;
export const THROTTLE_WINDOW_MS = 15 * 60 * 1000;
export const MAX_FAILURES_PER_ACCOUNT = 5;
export const MAX_FAILURES_PER_IP = 20;

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

export interface Session {
  id: string;
  user: User;
  expiresAt: Date;
}

export async function createSession(
  sql: postgres.Sql,
  userId: number,
  meta: { ip: string; userAgent: string | null },
): Promise<{ token: string; expiresAt: Date }> {
  await pruneSignInRecords(sql);
  const token = newSecret();
  const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
  await sql`
    INSERT INTO idem.sessions (id, user_id, expires_at, ip, user_agent)
    VALUES (${hashToken(token)}, ${userId}, ${expiresAt.toISOString()}::timestamptz, ${meta.ip}, ${meta.userAgent?.slice(0, 400) ?? null})`;
  return { token, expiresAt };
}

/** The session for a cookie token, if it is live and its user is not disabled. */
export async function findSession(sql: postgres.Sql, token: string): Promise<Session | null> {
  const rows = await sql<
    { session_id: string; expires_at: Date; id: string; username: string; role: Role; created_at: Date; created_by: string | null; disabled_at: Date | null }[]
  >`
    SELECT s.id AS session_id, s.expires_at, u.id, u.username, u.role, u.created_at, u.created_by, u.disabled_at
    FROM idem.sessions s JOIN idem.users u ON u.id = s.user_id
    WHERE s.id = ${hashToken(token)} AND s.expires_at > now() AND u.disabled_at IS NULL`;
  const row = rows[0];
  return row ? { id: row.session_id, user: toUser(row), expiresAt: new Date(row.expires_at) } : null;
}

export async function deleteSession(sql: postgres.Sql, token: string): Promise<void> {
  await sql`DELETE FROM idem.sessions WHERE id = ${hashToken(token)}`;
}

/**
 * Sessions a day past their expiry, and sign-in attempts older than any limit reads (the 30 days that
 * make an address known). Run at every sign-in: rare enough to cost nothing, often enough that
 * neither table grows without bound, and no scheduler to forget.
 */
export async function pruneSignInRecords(sql: postgres.Sql): Promise<void> {
  await sql`DELETE FROM idem.sessions WHERE expires_at < now() - interval '1 day'`;
  await sql`DELETE FROM idem.login_attempts WHERE at < now() - ${KNOWN_ADDRESS_MS}::bigint * interval '1 millisecond'`;
}

export type Throttle = { limited: false } | { limited: true; scope: "account" | "ip"; retryAfterMs: number };

/** An address that signed in to an account within this long is "known" to it (see beginLoginAttempt). */
export const KNOWN_ADDRESS_MS = 30 * 24 * 3600 * 1000;

export type LoginAttempt = { limited: true; throttle: Throttle & { limited: true } } | { limited: false; attemptId: number };

/**
 * Records a sign-in attempt as failed BEFORE the password is checked, then counts the failures in the
 * last 15 minutes including it. Counting after inserting is what makes the limits hold under
 * concurrency: the k-th of many parallel attempts sees at least k rows, so at most the limit get to the
 * (slow) password check; checking first and recording after let 40 parallel guesses all through.
 *
 * Limits: per address (an IPv6 client's /64), 20 failures across all accounts. Per account, 5 failures since its last success
 * — but an address that signed in to the account within 30 days counts only its own failures, so
 * strangers guessing an account's password (e.g. "admin") cannot lock its owner out.
 *
 * A refused attempt is deleted again: it never reached the password, and keeping it would let an
 * attacker extend the lockout for ever by continuing to knock.
 */
export async function beginLoginAttempt(sql: postgres.Sql, username: string, ip: string): Promise<LoginAttempt> {
  ip = throttleAddress(ip);
  const [inserted] = await sql<{ id: number }[]>`
    INSERT INTO idem.login_attempts (username, ip, succeeded) VALUES (${username.slice(0, 200)}, ${ip}, false) RETURNING id`;
  const attemptId = Number(inserted!.id);
  const [row] = await sql<{ account_failures: number; account_oldest: Date | null; ip_failures: number; ip_oldest: Date | null }[]>`
    WITH window_start AS (SELECT now() - ${THROTTLE_WINDOW_MS}::int * interval '1 millisecond' AS at),
    known AS (
      SELECT EXISTS (
        SELECT 1 FROM idem.login_attempts
        WHERE lower(username) = lower(${username}) AND ip = ${ip} AND succeeded
          AND at > now() - ${KNOWN_ADDRESS_MS}::bigint * interval '1 millisecond'
      ) AS yes
    ),
    last_success AS (
      SELECT max(at) AS at FROM idem.login_attempts
      WHERE lower(username) = lower(${username}) AND succeeded AND at > (SELECT at FROM window_start)
        AND ((SELECT NOT yes FROM known) OR ip = ${ip})
    ),
    account AS (
      SELECT count(*)::int AS failures, min(at) AS oldest FROM idem.login_attempts
      WHERE lower(username) = lower(${username}) AND NOT succeeded
        AND at > greatest((SELECT at FROM window_start), coalesce((SELECT at FROM last_success), '-infinity'))
        AND ((SELECT NOT yes FROM known) OR ip = ${ip})
    ),
    by_ip AS (
      SELECT count(*)::int AS failures, min(at) AS oldest FROM idem.login_attempts
      WHERE ip = ${ip} AND NOT succeeded AND at > (SELECT at FROM window_start)
    )
    SELECT account.failures AS account_failures, account.oldest AS account_oldest, by_ip.failures AS ip_failures, by_ip.oldest AS ip_oldest
    FROM account, by_ip`;
  const retryAfter = (oldest: Date | null) => Math.max(1000, (oldest ? new Date(oldest).getTime() : Date.now()) + THROTTLE_WINDOW_MS - Date.now());
  // The counts include this attempt, hence ">": the limit-th failure is still allowed its check.
  let throttle: (Throttle & { limited: true }) | null = null;
  if (row && row.account_failures > MAX_FAILURES_PER_ACCOUNT) throttle = { limited: true, scope: "account", retryAfterMs: retryAfter(row.account_oldest) };
  else if (row && row.ip_failures > MAX_FAILURES_PER_IP) throttle = { limited: true, scope: "ip", retryAfterMs: retryAfter(row.ip_oldest) };
  if (!throttle) return { limited: false, attemptId };
  await sql`DELETE FROM idem.login_attempts WHERE id = ${attemptId}`;
  return { limited: true, throttle };
}

/** The password was right: the attempt begun by beginLoginAttempt is a success (resets the account's count). */
export async function markLoginSucceeded(sql: postgres.Sql, attemptId: number): Promise<void> {
  await sql`UPDATE idem.login_attempts SET succeeded = true WHERE id = ${attemptId}`;
}

export async function recordLoginAttempt(sql: postgres.Sql, username: string, ip: string, succeeded: boolean): Promise<void> {
  await sql`INSERT INTO idem.login_attempts (username, ip, succeeded) VALUES (${username.slice(0, 200)}, ${throttleAddress(ip)}, ${succeeded})`;
}
