import type { Cluster, Redis, Result } from "ioredis";

/**
 * Compare-and-delete. Deletes the key only if it still holds the exact value the caller owns (or saw);
 * otherwise leaves it alone and reports what is there now, so a caller can tell "already gone" from
 * "re-acquired by someone else". Returns {1} when deleted, {0, current value or false, pttl} when not.
 * Non-string keys (hashes used by other lock libraries) are reported, never deleted.
 */
export const RELEASE_LUA = `
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'none' then return {0, false, -2} end
if kind ~= 'string' then return {0, '<' .. kind .. '>', redis.call('PTTL', KEYS[1])} end
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return {1}
end
return {0, current, redis.call('PTTL', KEYS[1])}
`;

/** Compare-and-pexpire: extends the TTL only while the caller still holds the lock. */
export const EXTEND_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

export type ReleaseReply = [1] | [0, string | null, number];

declare module "ioredis" {
  interface RedisCommander<Context> {
    idemReleaseLock(key: string, token: string): Result<ReleaseReply, Context>;
    idemExtendLock(key: string, token: string, ttlMs: number): Result<number, Context>;
  }
}

export type RedisClient = Redis | Cluster;

const defined = new WeakSet<RedisClient>();

/**
 * ioredis turns each script into a method. Its first call on each connection (and the first after a
 * reconnect) is sent as EVAL, which also loads the script; later calls on that connection are EVALSHA
 * with the script's hash, and one answered NOSCRIPT (a SCRIPT FLUSH) is resent as EVAL. There is no
 * separate SCRIPT LOAD. Defined once per client.
 */
export function withLockCommands(redis: RedisClient): RedisClient {
  if (!defined.has(redis)) {
    redis.defineCommand("idemReleaseLock", { numberOfKeys: 1, lua: RELEASE_LUA });
    redis.defineCommand("idemExtendLock", { numberOfKeys: 1, lua: EXTEND_LUA });
    defined.add(redis);
  }
  return redis;
}
