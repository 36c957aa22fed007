import { performance } from "node:perf_hooks";

export interface OpIndex {
  phase: "warmup" | "measure";
  /** Unique within the cell and phase: measured ops are 0..ops-1, warm-up ops count on across rounds. */
  index: number;
}

/**
 * One contender in a cell. `open` runs before each round (a fresh client, pool size = the cell's
 * concurrency), `close` after it, so only one contender holds connections at a time.
 */
export interface Contender<S> {
  label: string;
  open(concurrency: number): Promise<S>;
  op(session: S, at: OpIndex): Promise<void>;
  close(session: S): Promise<void>;
}

export interface Measurement {
  ops: number;
  seconds: number;
  /** The median of the rounds' throughputs: one round slowed by a burst of background load does not move it. */
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** Throughput of each round: their spread shows how noisy the machine was. */
  roundOpsPerSec: number[];
  /**
   * CPU time (user + system) this Node process spent per measured op: the client side's share of the
   * machine, which on a small box competes with the servers. NaN when not measured in-process.
   */
  clientCpuUsPerOp: number;
}

export interface CellPlan {
  concurrency: number;
  /** Measured operations per contender, split evenly over the rounds. */
  ops: number;
  /** Unmeasured operations per contender and round, after opening the client. */
  warmupOps: number;
  rounds: number;
  /** Aborted on Ctrl-C: clients stop issuing operations and the cell throws. */
  signal?: AbortSignal;
  /**
   * Unmeasured operations per contender before the first round, for a suite's first cell: without
   * them whichever contender runs first pays for warming V8 and the shared driver code for all.
   */
  primeOps?: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

/**
 * Closed loop: `concurrency` clients, each issuing its next operation as soon as the previous one
 * returns, until `count` operations have been issued. The first error stops every client and is thrown.
 */
export async function closedLoop(
  concurrency: number,
  count: number,
  op: (index: number) => Promise<void>,
  latencies?: Float64Array,
  signal?: AbortSignal,
): Promise<number> {
  let next = 0;
  let failure: unknown = null;
  const client = async () => {
    while (failure === null) {
      if (signal?.aborted) {
        failure = signal.reason ?? new Error("interrupted");
        return;
      }
      const index = next++;
      if (index >= count) return;
      const started = performance.now();
      try {
        await op(index);
      } catch (error) {
        failure ??= error;
        return;
      }
      if (latencies) latencies[index] = performance.now() - started;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, client));
  const elapsed = performance.now() - started;
  if (failure !== null) throw failure;
  return elapsed;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(latencies: Float64Array, seconds: number, roundOpsPerSec: number[], clientCpuUs = Number.NaN): Measurement {
  const sorted = Float64Array.from(latencies).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    ops: sorted.length,
    seconds,
    opsPerSec: roundOpsPerSec.length ? median(roundOpsPerSec) : sorted.length / seconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    meanMs: sum / sorted.length,
    roundOpsPerSec,
    clientCpuUsPerOp: clientCpuUs / sorted.length,
  };
}

/**
 * Measures every contender in one cell. Rounds are interleaved (A B C, B C A, C A B, ...) so that a
 * burst of background load hits all contenders rather than whichever ran at that moment.
 * Throughput is the median of the rounds' throughputs; p50/p99 are over all measured ops.
 */
export async function measureCell(
  list: ReadonlyArray<AnyContender>,
  plan: CellPlan,
  log: (message: string) => void = () => undefined,
): Promise<Map<string, Measurement>> {
  const perRound = splitEvenly(plan.ops, plan.rounds);
  const state = new Map(list.map((c) => [c.label, { latencies: new Float64Array(plan.ops), seconds: 0, cpuUs: 0, rounds: [] as number[] }]));
  if (plan.primeOps) {
    for (const contender of list) {
      const session = await contender.open(plan.concurrency);
      try {
        const base = plan.rounds * plan.warmupOps;
        await closedLoop(plan.concurrency, plan.primeOps, (i) => contender.op(session, { phase: "warmup", index: base + i }), undefined, plan.signal);
      } finally {
        await contender.close(session);
      }
    }
  }
  let offset = 0;
  for (let round = 0; round < plan.rounds; round++) {
    const count = perRound[round] ?? 0;
    for (let k = 0; k < list.length; k++) {
      const contender = list[(round + k) % list.length]!;
      const s = state.get(contender.label)!;
      const session = await contender.open(plan.concurrency);
      try {
        const warmBase = round * plan.warmupOps;
        await closedLoop(plan.concurrency, plan.warmupOps, (i) => contender.op(session, { phase: "warmup", index: warmBase + i }), undefined, plan.signal);
        const slice = s.latencies.subarray(offset, offset + count);
        const cpu = process.cpuUsage();
        const ms = await closedLoop(plan.concurrency, count, (i) => contender.op(session, { phase: "measure", index: offset + i }), slice, plan.signal);
        const used = process.cpuUsage(cpu);
        s.cpuUs += used.user + used.system;
        s.seconds += ms / 1000;
        s.rounds.push(count / (ms / 1000));
        log(`    ${contender.label.padEnd(34)} round ${round + 1}/${plan.rounds}: ${formatRate(count / (ms / 1000))} ops/s`);
      } finally {
        await contender.close(session);
      }
    }
    offset += count;
  }
  const result = new Map<string, Measurement>();
  for (const contender of list) {
    const s = state.get(contender.label)!;
    result.set(contender.label, summarize(s.latencies, s.seconds, s.rounds, s.cpuUs));
  }
  return result;
}

/** A contender whose session type has been erased, so contenders of different types share a list. */
export interface AnyContender {
  label: string;
  open(concurrency: number): Promise<unknown>;
  op(session: unknown, at: OpIndex): Promise<void>;
  close(session: unknown): Promise<void>;
}

/** Erases a contender's session type; safe because measureCell only hands a session back to its own contender. */
export function contender<S>(c: Contender<S>): AnyContender {
  return c as unknown as AnyContender;
}

export function splitEvenly(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}

export function formatRate(opsPerSec: number): string {
  if (!Number.isFinite(opsPerSec)) return "-";
  return opsPerSec >= 100 ? Math.round(opsPerSec).toLocaleString("en-US") : opsPerSec.toFixed(1);
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  if (ms < 1) return ms.toFixed(3);
  if (ms < 10) return ms.toFixed(2);
  return ms.toFixed(1);
}

/** Half the range of the per-round throughputs, relative to their median: how far to trust one number. */
export function roundSpread(rounds: number[]): number {
  if (rounds.length < 2) return Number.NaN;
  const sorted = [...rounds].sort((a, b) => a - b);
  return (sorted.at(-1)! - sorted[0]!) / 2 / median(sorted);
}

export function formatSpread(rounds: number[]): string {
  const spread = roundSpread(rounds);
  return Number.isFinite(spread) ? `±${(spread * 100).toFixed(0)}%` : "-";
}

export function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : "-";
}

/** mulberry32: a small seeded PRNG, so every contender gets the very same key sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface KeySequence {
  keys: string[];
  distinct: number;
}

/**
 * `count` keys of which a share `duplicateShare` repeat a key already used earlier in the sequence
 * (uniformly among those), the rest being new: with 0.8, one op in five brings a new key.
 * The first key is always new. Deterministic for a given seed.
 */
export function keySequence(prefix: string, count: number, duplicateShare: number, seed: number): KeySequence {
  const random = seededRandom(seed);
  const freshShare = 1 - duplicateShare;
  const keys: string[] = [];
  let distinct = 0;
  for (let i = 0; i < count; i++) {
    const fresh = i === 0 || Math.floor(i * freshShare + 1e-9) !== Math.floor((i + 1) * freshShare + 1e-9) || duplicateShare === 0;
    if (fresh) keys.push(`${prefix}${distinct++}`);
    else keys.push(`${prefix}${Math.floor(random() * distinct)}`);
  }
  return { keys, distinct };
}
