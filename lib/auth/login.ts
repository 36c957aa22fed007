import "server-only";
import type postgres from "postgres";
import { DUMMY_HASH, verifyPassword } from "./password";
import { beginLoginAttempt, markLoginSucceeded, type Throttle } from "./sessions";
import { findUserForLogin, type User } from "./users";

export type Authentication =
  | { ok: true; user: User }
  | { ok: false; reason: "throttled"; throttle: Throttle & { limited: true } }
  | { ok: false; reason: "invalid" };

/**
 * A password sign-in from `ip`: throttled first (see beginLoginAttempt), then the password checked. A
 * throttled attempt never reaches scrypt, so parallel requests cannot buy unlimited guesses or CPU.
 */
export async function authenticate(sql: postgres.Sql, username: string, password: string, ip: string): Promise<Authentication> {
  const attempt = await beginLoginAttempt(sql, username, ip);
  if (attempt.limited) return { ok: false, reason: "throttled", throttle: attempt.throttle };
  const user = await findUserForLogin(sql, username);
  // Verify against a dummy hash for unknown users, so response time does not reveal which names exist.
  const valid = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
  if (!user || !valid || user.disabledAt) return { ok: false, reason: "invalid" };
  await markLoginSucceeded(sql, attempt.attemptId);
  const { passwordHash: _hash, ...rest } = user;
  return { ok: true, user: rest };
}

export function throttleMessage(throttle: Throttle & { limited: true }): string {
  const minutes = Math.ceil(throttle.retryAfterMs / 60_000);
  const wait = `Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`;
  return throttle.scope === "account" ? `Too many failed sign-ins for this account. ${wait}` : `Too many failed sign-ins from this address. ${wait}`;
}
