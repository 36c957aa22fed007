import "server-only";
import type { RedisClient } from "./commands";

export interface LockState {
  key: string;
  /** The value (an SDK lock holds the holder's lease token), or `<hash>` etc. for a key that is not a string. */
  value: string;
  /** Milliseconds left, or null when the key has no TTL (it would never expire by itself). */
  pttlMs: number | null;
  type: string;
}

const DEFAULT_TIMEOUT_MS = 1500;

/**
 * Reads one lock key: TYPE, PTTL and GET in one round trip. Null when the key does not
 * exist. Rejects after `timeoutMs` so a dead Redis fails this read quickly instead of holding a page.
 */
export async function getLock(redis: RedisClient, key: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<LockState | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([readLock(redis, key), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function readLock(redis: RedisClient, key: string): Promise<LockState | null> {
  // MULTI: the three answers describe the same moment. GET on a non-string fails inside the
  // transaction (WRONGTYPE) without failing the others.
  const replies = await redis.multi().type(key).pttl(key).get(key).exec();
  if (!replies) throw new Error("Redis discarded the transaction");
  const [[typeError, type], [pttlError, pttl], [, value]] = replies as [[Error | null, unknown], [Error | null, unknown], [Error | null, unknown]];
  if (typeError) throw typeError;
  if (pttlError) throw pttlError;
  if (type === "none" || pttl === -2) return null;
  const kind = String(type);
  return {
    key,
    value: kind === "string" && typeof value === "string" ? value : `<${kind}>`,
    pttlMs: pttl === -1 ? null : Number(pttl),
    type: kind,
  };
}
