import "server-only";
import { once } from "node:events";
import { Cluster, type ChainableCommander, type Redis } from "ioredis";
import type postgres from "postgres";
import type { RunStatus } from "@/lib/ledger/schema";
import { classifyLock, lockClasses, type Classification, type LockClass } from "./classify";
import type { RedisClient } from "./commands";
import { coveredBy, globMatch } from "./glob";
import { isInventoried, mapLockKey, type LockConfig, type LockMapping } from "./config";

/**
 * The lock inventory: SCAN (never KEYS) over the configured patterns, on every master of a Cluster, in
 * bounded steps, so Redis is never blocked by a page view:
 *
 * - SCAN ... MATCH <pattern> COUNT 500: each call visits a bounded number of buckets; the patterns'
 *   cursors take turns (round robin), each with its share of the key cap;
 * - per 50 keys ONE pipeline of OBJECT IDLETIME, TYPE, PTTL, GETRANGE per key (plain commands, not a
 *   MULTI, so other clients' commands interleave with ours), and per batch of 250 keys ONE SQL query
 *   that maps the batch's keys to their runs;
 * - per view at most `maxKeys` matching keys, 500 SCAN calls and 3 s (the screen says when and where it
 *   stopped, and which patterns it did not finish).
 *
 * The same code reads single keys again before a release (inspectLocks), so the class the server acts
 * on is computed exactly as the class the operator saw.
 */

/** Values longer than this are shown cut, and cannot be released from the console (it must compare all of it). */
export const MAX_VALUE_BYTES = 1024;
const DEFAULT_SCAN_COUNT = 500;
/** Keys per SQL query (and classification batch). */
const DEFAULT_BATCH_SIZE = 250;
/** Keys per Redis pipeline (4 commands each): small, so each round trip stays short. */
export const DEFAULT_PIPELINE_KEYS = 50;
/**
 * What one page view may cost Redis at most, whatever the keyspace holds. maxKeys caps the keys that
 * MATCH; in a big Redis with few locks, SCAN visits the whole keyspace per pattern returning almost
 * nothing, so the calls and the time are capped too (500 calls × COUNT 500 ≈ 250,000 keys visited).
 */
export const DEFAULT_MAX_SCAN_CALLS = 500;
export const DEFAULT_TIME_BUDGET_MS = 3000;
const P99_TTL_MS = 60_000;
const P99_SAMPLE = 1000;
const P99_MIN_RUNS = 20;
const READY_TIMEOUT_MS = 3000;

export interface LockRun {
  id: number;
  taskName: string;
  idempotencyKey: string;
  status: RunStatus;
  leaseToken: string | null;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  /** Running with lease_expires_at in the future, by the database's clock. */
  leaseLive: boolean;
  fencingToken: number;
}

export interface LockEntry {
  /** As shown: the key's text, or its bytes escaped (\xNN) when it is not UTF-8 or holds U+0000. */
  key: string;
  /** The exact bytes, read with SCAN's binary form: binary keys are released by these. */
  keyRaw: Buffer;
  /** Redis TYPE: locks are strings; other libraries use hashes, which the console shows but never deletes. */
  type: string;
  /** The value as text, when it is valid UTF-8 and at most MAX_VALUE_BYTES long; else null. */
  value: string | null;
  /** The exact bytes, for compare-and-delete: any string value up to MAX_VALUE_BYTES (binary too); else null. */
  raw: Buffer | null;
  /** When the value and PTTL were read (this server's Date.now()): a release compares the TTL run down since. */
  seenAtMs: number;
  /** What to show: the value, or a cut / escaped form of it, or `<hash>`. */
  preview: string;
  valueBytes: number | null;
  /** -1: no expiry. */
  pttlMs: number;
  /** OBJECT IDLETIME; null when the server does not track it (an LFU eviction policy). */
  idleSeconds: number | null;
  mapping: LockMapping | null;
  run: LockRun | null;
  taskP99Ms: number | null;
  classification: Classification;
  /** Null when the console can release it; otherwise why not. */
  notReleasable: string | null;
}

export interface RedisCallTiming {
  command: "SCAN" | "PIPELINE";
  node: string;
  ms: number;
  /** Keys returned (SCAN) or commands sent (PIPELINE). */
  size: number;
}

export interface WalkOptions {
  /** Scan only this pattern (one of config.patterns). */
  pattern?: string;
  maxKeys?: number;
  /** SCAN calls at most (all patterns and nodes together); Infinity for a full walk. */
  maxScanCalls?: number;
  /** Stop starting SCAN calls after this long; Infinity for a full walk. */
  timeBudgetMs?: number;
  scanCount?: number;
  batchSize?: number;
  pipelineKeys?: number;
  /** Benchmarks record every Redis round trip through this. */
  onRedisCall?: (timing: RedisCallTiming) => void;
}

export interface WalkStats {
  patterns: string[];
  nodes: string[];
  examined: number;
  /** Stopped before every pattern was walked to its end: the view is partial (see stoppedBy). */
  capped: boolean;
  stoppedBy: "keys" | "scan_calls" | "time" | null;
  /** Patterns whose SCAN did not reach its end on every node. */
  unfinishedPatterns: string[];
  /** DBSIZE summed over the masters: how many keys SCAN walks per pattern. */
  keyspaceKeys: number;
  maxKeys: number;
  maxScanCalls: number;
  scanCalls: number;
  pipelines: number;
  sqlQueries: number;
  /**
   * Redis before 7.2 cannot read a value without touching it, so idle time counts the console's own
   * reads, and the TTL < p99 warning (which needs the idle time) is not given.
   */
  idleCountsConsoleReads: boolean;
  durationMs: number;
}

export interface LockInventory extends WalkStats {
  locks: LockEntry[];
  counts: Record<LockClass, number>;
}

interface RawKeyState {
  /** As shown: the key's text, or its bytes escaped when it is not UTF-8 (or holds U+0000). */
  key: string;
  /** The exact bytes: what every Redis command on it uses. */
  keyRaw: Buffer;
  type: string;
  pttlMs: number;
  idleSeconds: number | null;
  value: Buffer | null;
  /** The key is plain text (UTF-8 without U+0000): `key` is that text. */
  keyIsText: boolean;
  /** Date.now() once the reply was in: no earlier than Redis read the PTTL (see RELEASE_SEEN_LUA). */
  seenAtMs: number;
}

function nodeName(node: Redis): string {
  return `${node.options.host ?? "127.0.0.1"}:${node.options.port ?? 6379}`;
}

async function masters(redis: RedisClient): Promise<Redis[]> {
  if (!(redis instanceof Cluster)) return [redis];
  if (redis.status !== "ready") {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        once(redis, "ready"),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`Redis Cluster not ready within ${READY_TIMEOUT_MS} ms (status ${redis.status})`)), READY_TIMEOUT_MS);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
  const nodes = redis.nodes("master");
  if (!nodes.length) throw new Error("Redis Cluster reports no master nodes");
  return nodes;
}

const noTouchUnsupported = new WeakSet<Redis>();

/**
 * CLIENT NO-TOUCH (Redis 7.2+) lets the console read values without resetting their idle time, so
 * "idle" keeps meaning "since the holder last touched it". Returns false where it is not supported.
 */
async function readWithoutTouching(node: Redis): Promise<boolean> {
  if (noTouchUnsupported.has(node)) return false;
  try {
    await node.call("CLIENT", "NO-TOUCH", "ON");
    return true;
  } catch (error) {
    // Only a server that does not know the subcommand is remembered; a dead one fails the inventory.
    if (!(error instanceof Error) || !/unknown subcommand|syntax error/i.test(error.message)) throw error;
    noTouchUnsupported.add(node);
    return false;
  }
}

/** CLIENT NO-TOUCH on every node at once; false when any of them does not support it. */
async function noTouchOn(nodes: Redis[]): Promise<boolean> {
  return (await Promise.all(nodes.map(readWithoutTouching))).every(Boolean);
}

function queueReads(pipeline: ChainableCommander, key: Buffer) {
  // IDLETIME first: of these four, only GETRANGE counts as an access.
  pipeline.object("IDLETIME", key);
  pipeline.type(key);
  pipeline.pttl(key);
  pipeline.getrangeBuffer(key, 0, MAX_VALUE_BYTES);
}

function parseReads(keys: Buffer[], replies: Array<[Error | null, unknown]>): RawKeyState[] {
  const seenAtMs = Date.now();
  return keys.map((keyRaw, i) => {
    const at = (j: number) => replies[i * 4 + j] ?? [new Error("no reply"), null];
    const [idleError, idle] = at(0);
    const [typeError, type] = at(1);
    const [pttlError, pttl] = at(2);
    const [valueError, value] = at(3);
    if (typeError) throw typeError;
    if (pttlError) throw pttlError;
    const { text, shown } = showBytes(keyRaw);
    return {
      key: shown,
      keyRaw,
      keyIsText: shown === text,
      type: String(type),
      pttlMs: Number(pttl),
      idleSeconds: idleError || idle === null ? null : Number(idle),
      // WRONGTYPE for non-strings: expected, their value is shown as <type>.
      value: valueError || !Buffer.isBuffer(value) ? null : value,
      seenAtMs,
    };
  });
}

async function timed<T>(onCall: WalkOptions["onRedisCall"], command: RedisCallTiming["command"], node: string, size: (result: T) => number, call: () => Promise<T>): Promise<T> {
  if (!onCall) return call();
  const started = performance.now();
  const result = await call();
  onCall({ command, node, ms: performance.now() - started, size: size(result) });
  return result;
}

async function readOnNode(node: Redis, keys: Buffer[], onCall: WalkOptions["onRedisCall"], pipelineKeys: number): Promise<{ states: RawKeyState[]; pipelines: number }> {
  const states: RawKeyState[] = [];
  let pipelines = 0;
  for (let i = 0; i < keys.length; i += pipelineKeys) {
    const chunk = keys.slice(i, i + pipelineKeys);
    const pipeline = node.pipeline();
    for (const key of chunk) queueReads(pipeline, key);
    const replies = await timed(onCall, "PIPELINE", nodeName(node), () => chunk.length * 4, () => pipeline.exec());
    if (!replies) throw new Error("Redis pipeline was discarded");
    states.push(...parseReads(chunk, replies));
    pipelines++;
  }
  return { states, pipelines };
}

/** Specific keys, wherever they live: one pipeline on a single node; per key (one slot each) on a Cluster. */
async function readKeys(redis: RedisClient, keys: Buffer[]): Promise<RawKeyState[]> {
  if (!(redis instanceof Cluster)) return (await readOnNode(redis, keys, undefined, DEFAULT_PIPELINE_KEYS)).states;
  await masters(redis);
  const out: RawKeyState[] = [];
  for (let i = 0; i < keys.length; i += 50) {
    const chunk = keys.slice(i, i + 50);
    const states = await Promise.all(
      chunk.map(async (key) => {
        const pipeline = redis.pipeline();
        queueReads(pipeline, key);
        const replies = await pipeline.exec();
        if (!replies) throw new Error("Redis pipeline was discarded");
        return parseReads([key], replies)[0]!;
      }),
    );
    out.push(...states);
  }
  return out;
}

type RawRunRow = {
  id: string;
  task_name: string;
  idempotency_key: string;
  status: RunStatus;
  lease_token: string | null;
  lease_owner: string | null;
  lease_expires_at: Date | string | null;
  lease_live: boolean;
  fencing_token: string;
};

const pairKey = (task: string, key: string) => `${task}\u0000${key}`;

/**
 * One query for a batch: runs by (task, key) through the unique index, and by id. The lists travel as
 * one JSON text parameter (typed text: a json-typed one is stringified again): postgres.js cannot serialise an untyped array before it has loaded the
 * server's array types, so sql.array() failed ("malformed array literal") as a new pool's first query.
 */
async function findRuns(sql: postgres.Sql, mappings: LockMapping[]): Promise<{ byPair: Map<string, LockRun>; byId: Map<number, LockRun> }> {
  const pairs = mappings.filter((m) => m.by === "task_key");
  const ids = [...new Set(mappings.flatMap((m) => (m.by === "id" ? [m.runId] : [])))];
  const byPair = new Map<string, LockRun>();
  const byId = new Map<number, LockRun>();
  if (!pairs.length && !ids.length) return { byPair, byId };
  const rows = await sql<RawRunRow[]>`
    WITH wanted AS (
      SELECT * FROM json_to_recordset(${JSON.stringify(pairs.map((p) => ({ task_name: p.task, idempotency_key: p.key })))}::text::json) AS w(task_name text, idempotency_key text)
    ), found AS (
      SELECT r.* FROM wanted JOIN idem.task_runs r ON r.task_name = wanted.task_name AND r.idempotency_key = wanted.idempotency_key
      UNION
      SELECT r.* FROM idem.task_runs r WHERE r.id IN (SELECT value::bigint FROM json_array_elements_text(${JSON.stringify(ids)}::text::json))
    )
    SELECT id, task_name, idempotency_key, status, lease_token::text AS lease_token, lease_owner, lease_expires_at,
           (status = 'running' AND lease_expires_at > now()) AS lease_live, fencing_token
    FROM found`;
  for (const row of rows) {
    const run: LockRun = {
      id: Number(row.id),
      taskName: row.task_name,
      idempotencyKey: row.idempotency_key,
      status: row.status,
      leaseToken: row.lease_token,
      leaseOwner: row.lease_owner,
      leaseExpiresAt: row.lease_expires_at === null ? null : new Date(row.lease_expires_at),
      leaseLive: row.lease_live === true,
      fencingToken: Number(row.fencing_token),
    };
    byPair.set(pairKey(run.taskName, run.idempotencyKey), run);
    byId.set(run.id, run);
  }
  return { byPair, byId };
}

const p99Cache = new WeakMap<postgres.Sql, Map<string, { p99Ms: number | null; at: number }>>();

/**
 * p99 duration of each task's last 1000 finished runs (started_at to finished_at of the final attempt),
 * walked backwards on task_runs_task_created_idx; null with fewer than 20 runs. Cached for a minute per
 * database, so page views do not recompute it.
 */
export async function taskP99s(sql: postgres.Sql, tasks: string[]): Promise<Map<string, number | null>> {
  return (await loadTaskP99s(sql, tasks)).p99s;
}

async function loadTaskP99s(sql: postgres.Sql, tasks: string[]): Promise<{ p99s: Map<string, number | null>; queried: boolean }> {
  let cache = p99Cache.get(sql);
  if (!cache) p99Cache.set(sql, (cache = new Map()));
  const now = Date.now();
  const missing = [...new Set(tasks)].filter((task) => {
    const hit = cache.get(task);
    return !hit || now - hit.at > P99_TTL_MS;
  });
  if (missing.length) {
    const rows = await sql<{ task_name: string; runs: string; p99_ms: number | null }[]>`
      SELECT t.task_name, count(d.ms) AS runs, percentile_cont(0.99) WITHIN GROUP (ORDER BY d.ms) AS p99_ms
      FROM json_array_elements_text(${JSON.stringify(missing)}::text::json) AS t(task_name)
      CROSS JOIN LATERAL (
        SELECT extract(epoch FROM r.finished_at - r.started_at) * 1000 AS ms
        FROM idem.task_runs r
        WHERE r.task_name = t.task_name AND r.status IN ('succeeded', 'failed')
          AND r.started_at IS NOT NULL AND r.finished_at IS NOT NULL
        ORDER BY r.created_at DESC, r.id DESC
        LIMIT ${P99_SAMPLE}
      ) d
      GROUP BY t.task_name`;
    const found = new Map(rows.map((row) => [row.task_name, Number(row.runs) >= P99_MIN_RUNS && row.p99_ms !== null ? Number(row.p99_ms) : null]));
    for (const task of missing) cache.set(task, { p99Ms: found.get(task) ?? null, at: now });
  }
  return { p99s: new Map(tasks.map((task) => [task, cache.get(task)?.p99Ms ?? null])), queried: missing.length > 0 };
}

/** Bytes as the screen and the audit log show them: the text when it is UTF-8, else escaped byte by byte (\xNN). */
export function displayBytes(value: Buffer | string): string {
  return typeof value === "string" ? value : showBytes(value).shown;
}

/** The bytes decoded once: their text (utf8OrNull) and how they are shown (displayBytes). */
function showBytes(bytes: Buffer): { text: string | null; shown: string } {
  const text = utf8OrNull(bytes);
  // U+0000 cannot be stored in Postgres text or jsonb (the audit log): escaped like binary.
  const shown =
    text !== null && !text.includes("\u0000") ? text : [...bytes].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`)).join("");
  return { text, shown };
}

/**
 * One decoder for every call: a non-streaming decode() starts afresh each time (even after a fatal
 * error), so it keeps nothing from one call to the next.
 */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Exactly the bytes' text, or null when they are not UTF-8. ignoreBOM: a leading U+FEFF is part of the value. */
export function utf8OrNull(bytes: Buffer): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

function decodeValue(state: RawKeyState): Pick<LockEntry, "value" | "raw" | "preview" | "valueBytes" | "notReleasable"> {
  if (state.type !== "string") {
    return {
      value: null,
      raw: null,
      preview: `<${state.type}>`,
      valueBytes: null,
      notReleasable: `It is a ${state.type}, not a string: the console's compare-and-delete compares one string value, so it cannot tell whether a ${state.type} changed since you looked (libraries such as Redisson keep locks in hashes). Release it through the library that wrote it, or with redis-cli once you know no one holds it${state.pttlMs === -1 ? "; it has no TTL, so it will not go away on its own" : ""}.`,
    };
  }
  const bytes = state.value ?? Buffer.alloc(0);
  if (bytes.length > MAX_VALUE_BYTES) {
    return {
      value: null,
      raw: null,
      preview: `${new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes.subarray(0, 200))}…`,
      valueBytes: null,
      notReleasable: `The value is longer than ${MAX_VALUE_BYTES} bytes: the console only releases values it can show in full.`,
    };
  }
  // Binary values are released too: the form and the API carry the exact bytes (base64).
  const { text, shown } = showBytes(bytes);
  return { value: text, raw: bytes, preview: shown, valueBytes: bytes.length, notReleasable: null };
}

/** Reads done: map to runs (one query), task p99s (cached), classify. Keys that vanished meanwhile are dropped. */
/**
 * `idleTrusted`: the reads did not reset idle times (CLIENT NO-TOUCH, Redis 7.2+). Before 7.2 the
 * console's own GETRANGE resets a key's idle time, so PTTL + idle underestimates the TTL the holder
 * gave by however long ago the console (any page view) last read it: the TTL < p99 warning would fire
 * for locks whose TTL is fine. There it is not given at all, and the screen says the check is off.
 */
async function describeStates(
  sql: postgres.Sql,
  config: LockConfig,
  states: RawKeyState[],
  idleTrusted: boolean,
): Promise<{ entries: LockEntry[]; queries: number }> {
  const present = states.filter((s) => s.type !== "none" && s.pttlMs !== -2);
  // Keys that are not plain text (binary, U+0000) map to no run: templates and task names are text.
  const mapped = present.map((state) => ({ state, mapping: state.keyIsText ? mapLockKey(config, state.key) : null }));
  const mappings = mapped.flatMap((m) => (m.mapping ? [m.mapping] : []));
  const runs = await findRuns(sql, mappings);
  let queries = mappings.length ? 1 : 0;
  const runFor = (mapping: LockMapping | null): LockRun | null => {
    if (!mapping) return null;
    return (mapping.by === "id" ? runs.byId.get(mapping.runId) : runs.byPair.get(pairKey(mapping.task, mapping.key))) ?? null;
  };
  const withRuns = mapped.map((m) => ({ ...m, run: runFor(m.mapping) }));
  const tasks = withRuns.flatMap(({ run, mapping }) => (run ? [run.taskName] : mapping?.by === "task_key" ? [mapping.task] : []));
  const { p99s, queried } = await loadTaskP99s(sql, tasks);
  if (queried) queries++;

  const entries = withRuns.map(({ state, mapping, run }): LockEntry => {
    const decoded = decodeValue(state);
    const task = run?.taskName ?? (mapping?.by === "task_key" ? mapping.task : null);
    const taskP99Ms = task ? (p99s.get(task) ?? null) : null;
    // The TTL it was given (or last extended to): what is left plus the time since it was last written.
    const ttlEstimateMs = idleTrusted && state.pttlMs > 0 && state.idleSeconds !== null ? state.pttlMs + state.idleSeconds * 1000 : null;
    const classification = classifyLock({
      value: state.type === "string" ? (decoded.value ?? decoded.preview) : null,
      pttlMs: state.pttlMs,
      compareToken: mapping?.source === "sdk",
      mapped: mapping !== null,
      run: run ? { status: run.status, leaseToken: run.leaseToken, leaseLive: run.leaseLive } : null,
      ttlEstimateMs,
      taskP99Ms,
      extendedByHeartbeat: mapping?.source === "sdk",
    });
    return {
      key: state.key,
      keyRaw: state.keyRaw,
      type: state.type,
      ...decoded,
      pttlMs: state.pttlMs,
      seenAtMs: state.seenAtMs,
      idleSeconds: state.idleSeconds,
      mapping,
      run,
      taskP99Ms,
      classification,
    };
  });
  return { entries, queries };
}

/**
 * Walks every lock under the configured patterns (or one of them), handing each described batch to
 * `onBatch`, without keeping them: the benchmark walks a million keys this way. The page uses listLocks.
 */
export async function walkLocks(
  redis: RedisClient,
  sql: postgres.Sql,
  config: LockConfig,
  options: WalkOptions,
  onBatch: (locks: LockEntry[]) => void | Promise<void>,
): Promise<WalkStats> {
  const started = performance.now();
  // SCAN walks the whole keyspace once per pattern, whatever MATCH says: skip patterns a plain prefix
  // pattern before them already covers (a template's `lock:order:*` under `lock:*`).
  const patterns = options.pattern
    ? config.patterns.filter((p) => p === options.pattern)
    : config.patterns.filter((p, i) => !config.patterns.slice(0, i).some((earlier) => coveredBy(p, earlier)));
  if (options.pattern && !patterns.length) throw new Error(`not a configured lock pattern: ${options.pattern}`);
  const maxKeys = options.maxKeys ?? config.maxKeys;
  const maxScanCalls = options.maxScanCalls ?? DEFAULT_MAX_SCAN_CALLS;
  const timeBudgetMs = options.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS;
  const scanCount = options.scanCount ?? DEFAULT_SCAN_COUNT;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const pipelineKeys = Math.min(options.pipelineKeys ?? DEFAULT_PIPELINE_KEYS, batchSize);
  const nodes = await masters(redis);
  const stats: WalkStats = {
    patterns,
    nodes: nodes.map(nodeName),
    examined: 0,
    capped: false,
    stoppedBy: null,
    unfinishedPatterns: [],
    keyspaceKeys: 0,
    maxKeys,
    maxScanCalls,
    scanCalls: 0,
    pipelines: 0,
    sqlQueries: 0,
    idleCountsConsoleReads: false,
    durationMs: 0,
  };
  const [idleTrusted, sizes] = await Promise.all([noTouchOn(nodes), Promise.all(nodes.map((node) => node.dbsize()))]);
  stats.idleCountsConsoleReads = !idleTrusted;
  stats.keyspaceKeys = sizes.reduce((sum, size) => sum + size, 0);

  // SCAN may return a key twice (while the table rehashes), and patterns may overlap.
  const seen = new Set<string>();
  const flush = async (node: Redis, keys: Buffer[]) => {
    if (!keys.length) return;
    const { states, pipelines } = await readOnNode(node, keys, options.onRedisCall, pipelineKeys);
    stats.pipelines += pipelines;
    const { entries, queries } = await describeStates(sql, config, states, !stats.idleCountsConsoleReads);
    stats.sqlQueries += queries;
    await onBatch(entries);
  };

  // One SCAN cursor per pattern and node, advanced in turn (round robin), each taking at most its share
  // of maxKeys until the others are done: when a limit stops the walk, every pattern has had its share,
  // rather than the first pattern everything and the last nothing. Keys a SCAN call returned beyond a
  // walk's share wait in its `carry` for its next turn, so none is skipped.
  const walks = patterns.flatMap((pattern) =>
    nodes.map((node) => ({ pattern, node, cursor: "0", atEnd: false, carry: [] as Buffer[], examined: 0, pending: [] as Buffer[] })),
  );
  const finished = (w: (typeof walks)[number]) => w.atEnd && w.carry.length === 0;
  const stop = (why: NonNullable<WalkStats["stoppedBy"]>) => {
    stats.capped = true;
    stats.stoppedBy = why;
  };
  let share = Math.ceil(maxKeys / walks.length);
  outer: while (walks.some((w) => !finished(w))) {
    let progressed = false;
    for (const w of walks) {
      if (stats.examined >= maxKeys) break;
      if (finished(w) || w.examined >= share) continue;
      progressed = true;
      if (!w.carry.length) {
        if (stats.scanCalls >= maxScanCalls) {
          stop("scan_calls");
          break outer;
        }
        if (performance.now() - started >= timeBudgetMs) {
          stop("time");
          break outer;
        }
        // The binary form: keys are bytes, and a key that is not UTF-8 must not be decoded (and mangled).
        const [next, keys] = await timed(options.onRedisCall, "SCAN", nodeName(w.node), (r) => r[1].length, () => w.node.scanBuffer(w.cursor, "MATCH", w.pattern, "COUNT", scanCount));
        stats.scanCalls++;
        w.cursor = next.toString();
        w.atEnd = w.cursor === "0";
        w.carry = keys;
      }
      while (w.carry.length && w.examined < share && stats.examined < maxKeys) {
        const key = w.carry.shift()!;
        const id = key.toString("latin1"); // one character per byte: the same bytes, the same id
        if (seen.has(id)) continue;
        seen.add(id);
        stats.examined++;
        w.examined++;
        w.pending.push(key);
        if (w.pending.length >= batchSize) {
          await flush(w.node, w.pending);
          w.pending = [];
        }
      }
      if (finished(w)) {
        await flush(w.node, w.pending);
        w.pending = [];
      }
    }
    if (stats.examined >= maxKeys && walks.some((w) => !finished(w))) {
      stop("keys");
      break;
    }
    if (!progressed) {
      // Every open walk used its share: split what is left of maxKeys among them.
      const open = walks.filter((w) => !finished(w));
      share += Math.max(1, Math.ceil((maxKeys - stats.examined) / open.length));
    }
  }
  for (const w of walks) await flush(w.node, w.pending);
  stats.unfinishedPatterns = [...new Set(walks.filter((w) => !finished(w)).map((w) => w.pattern))];
  stats.durationMs = performance.now() - started;
  return stats;
}

/** Locks first that need attention, held ones last; within a class, the longest untouched first. */
const classOrder: Record<LockClass, number> = { no_ttl: 0, stale: 1, token_mismatch: 2, orphaned: 3, held: 4 };

export function emptyCounts(): Record<LockClass, number> {
  return Object.fromEntries(lockClasses.map((c) => [c, 0])) as Record<LockClass, number>;
}

export async function listLocks(redis: RedisClient, sql: postgres.Sql, config: LockConfig, options: WalkOptions = {}): Promise<LockInventory> {
  const locks: LockEntry[] = [];
  const stats = await walkLocks(redis, sql, config, options, (batch) => {
    locks.push(...batch);
  });
  const counts = emptyCounts();
  for (const lock of locks) counts[lock.classification.class]++;
  locks.sort(
    (a, b) =>
      classOrder[a.classification.class] - classOrder[b.classification.class] ||
      (b.idleSeconds ?? -1) - (a.idleSeconds ?? -1) ||
      (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
  return { ...stats, locks, counts };
}

/**
 * The current state of specific keys, described exactly as the inventory describes them; null for a key
 * that no longer exists. Keys outside every configured pattern are never read (the caller refuses them).
 */
export async function inspectLocks(
  redis: RedisClient,
  sql: postgres.Sql,
  config: LockConfig,
  keys: Array<string | Buffer>,
): Promise<Map<string, LockEntry | null>> {
  // Keyed by the key as shown (displayBytes); text keys are their own text.
  const byId = new Map(keys.map((key) => (typeof key === "string" ? Buffer.from(key, "utf8") : key)).map((raw) => [raw.toString("latin1"), raw]));
  const wanted = [...byId.values()].filter((raw) => isInventoried(config, raw));
  const out = new Map<string, LockEntry | null>(wanted.map((raw) => [displayBytes(raw), null]));
  if (!wanted.length) return out;
  const idleTrusted = await noTouchOn(await masters(redis));
  const { entries } = await describeStates(sql, config, await readKeys(redis, wanted), idleTrusted);
  for (const entry of entries) out.set(entry.key, entry);
  return out;
}

/** Which configured pattern a key falls under first (for the screen's pattern column and filter). */
export function patternOf(config: LockConfig, key: string): string | null {
  return config.patterns.find((pattern) => globMatch(pattern, key)) ?? null;
}
