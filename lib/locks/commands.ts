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

/**
 * The console's compare-and-delete: RELEASE_LUA, plus the TTL the operator saw. Locks written by other
 * code share values ("1", "processing"), so a lock deleted and taken again by a new holder can hold
 * exactly the value on screen; only its TTL tells them apart. ARGV: value seen, PTTL seen (-1: none),
 * milliseconds since it was seen, tolerance; a PTTL seen of '' compares the value only (API callers that
 * did not send the TTL they saw). Refused when the key went from no TTL to a TTL or back,
 * or when its PTTL is now higher than the seen one run down by the elapsed time (plus the tolerance):
 * it was set again or extended (by a holder that is alive) since the operator looked.
 * Limit: a value set again identically with no TTL, or with a shorter TTL than the old one had left,
 * cannot be told from the lock that was on screen.
 * Replies like RELEASE_LUA, with a 4th element 'ttl' when the value matched but the TTL did not.
 */
export const RELEASE_SEEN_LUA = `
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'none' then return {0, false, -2} end
if kind ~= 'string' then return {0, '<' .. kind .. '>', redis.call('PTTL', KEYS[1])} end
local current = redis.call('GET', KEYS[1])
local pttl = redis.call('PTTL', KEYS[1])
if current ~= ARGV[1] then return {0, current, pttl} end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
  return {1}
end
local seen = tonumber(ARGV[2])
local elapsed = math.max(0, tonumber(ARGV[3]))
local tolerance = tonumber(ARGV[4])
if (seen == -1) ~= (pttl == -1) or (seen >= 0 and pttl > seen - elapsed + tolerance) then
  return {0, current, pttl, 'ttl'}
end
redis.call('DEL', KEYS[1])
return {1}
`;

/** Compare-and-pexpire: extends the TTL only while the caller still holds the lock. */
export const EXTEND_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

export type ReleaseReply = [1] | [0, string | null, number];
export type ReleaseSeenReply = [1] | [0, Buffer | null, number] | [0, Buffer, number, Buffer];

declare module "ioredis" {
  interface RedisCommander<Context> {
    idemReleaseLock(key: string, token: string): Result<ReleaseReply, Context>;
    idemExtendLock(key: string, token: string, ttlMs: number): Result<number, Context>;
    idemReleaseSeenLockBuffer(key: string | Buffer, value: Buffer, pttlSeen: number | "", elapsedMs: number, toleranceMs: number): Result<ReleaseSeenReply, Context>;
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
    redis.defineCommand("idemReleaseSeenLock", { numberOfKeys: 1, lua: RELEASE_SEEN_LUA });
    defined.add(redis);
  }
  return redis;
}
