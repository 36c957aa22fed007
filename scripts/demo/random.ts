/**
 * A small seeded PRNG (mulberry32). The backfill plan must come out the same on every start, because
 * its idempotency keys are what make a restarted seed find its own history instead of adding more.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  int(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Lowercase hex, `length` characters. */
  hex(length: number): string;
  /** Base-62-ish id, like the ids payment providers and mail APIs hand out. */
  alnum(length: number): string;
}

const ALNUM = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[Math.floor(next() * items.length)] as T;
  };
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick,
    hex: (length) => Array.from({ length }, () => Math.floor(next() * 16).toString(16)).join(""),
    alnum: (length) => Array.from({ length }, () => ALNUM[Math.floor(next() * ALNUM.length)]).join(""),
  };
}

/** For the live trickle, where keys must be new rather than reproducible. */
export function liveRng(): Rng {
  return createRng(Math.floor(Math.random() * 2 ** 32));
}
