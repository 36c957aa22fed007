import { randomUUID } from "node:crypto";
import { withLockCommands, type RedisClient } from "./commands";

export const DEFAULT_LOCK_PREFIX = "idem:lock:";

/** `<prefix><task>:<key>`. Task names cannot contain ':', so the first ':' after the prefix splits them. */
export function lockKeyFor(task: string, key: string, prefix = DEFAULT_LOCK_PREFIX): string {
  return `${prefix}${task}:${key}`;
}

export function parseLockKey(lockKey: string, prefix = DEFAULT_LOCK_PREFIX): { task: string; key: string } | null {
  if (!lockKey.startsWith(prefix)) return null;
  const rest = lockKey.slice(prefix.length);
  const colon = rest.indexOf(":");
  if (colon <= 0 || colon === rest.length - 1) return null;
  return { task: rest.slice(0, colon), key: rest.slice(colon + 1) };
}

export function newLockToken(): string {
  return randomUUID();
}

/** SET key token NX PX ttl: true when this caller now holds the lock. */
export async function acquireLock(redis: RedisClient, key: string, token: string, ttlMs: number): Promise<boolean> {
  const reply = await redis.set(key, token, "PX", ttlMs, "NX");
  return reply === "OK";
}

export type ReleaseResult =
  | { released: true }
  | { released: false; current: { value: string; pttlMs: number } | null };

/** Compare-and-delete with the token the caller holds (or, in the console, the value the operator saw). */
export async function releaseLock(redis: RedisClient, key: string, token: string): Promise<ReleaseResult> {
  const reply = await withLockCommands(redis).idemReleaseLock(key, token);
  if (reply[0] === 1) return { released: true };
  const [, value, pttlMs] = reply;
  return { released: false, current: value === null || value === undefined ? null : { value, pttlMs } };
}

/** Compare-and-pexpire: true while the caller still holds the lock. */
export async function extendLock(redis: RedisClient, key: string, token: string, ttlMs: number): Promise<boolean> {
  return (await withLockCommands(redis).idemExtendLock(key, token, ttlMs)) === 1;
}
