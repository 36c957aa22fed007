import "server-only";
import { getSql } from "./db";
import { getRedis } from "./redis";

export interface ServiceHealth {
  ok: boolean;
  latencyMs: number | null;
  error: string | null;
}

export interface Health {
  postgres: ServiceHealth;
  redis: ServiceHealth;
}

const TIMEOUT_MS = 2000;

async function probe(check: () => Promise<unknown>): Promise<ServiceHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      }),
    ]);
    return { ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10, error: null };
  } catch (error) {
    return { ok: false, latencyMs: null, error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** Round-trip checks of both servers, never throwing: the console shows the result as a banner. */
export async function checkHealth(): Promise<Health> {
  const [postgres, redis] = await Promise.all([probe(() => getSql()`SELECT 1`), probe(() => getRedis().ping())]);
  return { postgres, redis };
}
