import "server-only";
import type postgres from "postgres";
import { assertJson, fingerprintOf, jsonByteLength, wellFormed, type Json } from "@/lib/ledger/json";
import { PENDING_CHANNEL } from "@/lib/ledger/protocol";
import type { RunStatus } from "@/lib/ledger/schema";
import { KEY_MAX_BYTES, PAYLOAD_MAX_BYTES } from "@/lib/ledger/spec";
import { ValidationError } from "@/lib/errors";

/**
 * Re-running a failed run. Its key is spent (a redelivery replays the failure), so a retry is a new
 * run under a derived key, `<root key>#retry-<n>`, with `retry_of` = the run retried and the same
 * `root_run_id`: the lineage stays one tree however many generations it takes.
 *
 * n is 1 + the number of retries the operator saw in the lineage (counting only keys no other
 * lineage holds, see freeChildKey). Two submissions of the same view (a double click, two tabs, two operators)
 * therefore derive the same key, and the unique (task_name, idempotency_key) index lets exactly one of
 * them create the run. Every other condition
 * (the run as seen, no retry of it succeeded or still under way, the same operation not already done
 * in the lineage) is checked in the same statement that inserts, so there is no check-then-act window.
 */

/** What the operator saw when deciding to retry: the compare half of the compare-and-set. */
export interface RetrySeen {
  status: RunStatus;
  /** The run's updated_at as shown (millisecond precision is enough: a failed run no longer changes). */
  updatedAt: Date;
  /** Retries in the run's lineage (runs of the same root with retry_of set). */
  retries: number;
}

export interface RetryRequest {
  runId: number;
  seen: RetrySeen;
  /** An edited payload; undefined retries with the run's own payload. */
  payload?: Json;
  actor: string;
  reason: string | null;
  requestId: string;
}

export type RetryRefusal =
  | "not_found"
  | "already_retried"
  | "lineage_changed"
  | "key_taken"
  | "state_changed"
  | "not_retryable"
  | "retry_succeeded"
  | "retry_in_flight"
  | "operation_succeeded"
  | "operation_in_flight"
  | "payload_not_editable";

export type RetryResult =
  | { outcome: "created"; runId: number; childId: number; childKey: string; payloadEdited: boolean; message: string }
  | { outcome: "refused"; runId: number; why: RetryRefusal; message: string; otherRunId: number | null; childKey: string | null };

/** Runs an operator may retry: failed ones, including runs marked abandoned (failed, class Abandoned). */
export const RETRYABLE_STATUSES: readonly RunStatus[] = ["failed"];

type Row = Record<string, unknown>;

const asDate = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)));
const num = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/** Parses and checks an edited payload from the console: JSON text, plain JSON, within the size limit. */
export function parseEditedPayload(text: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError("payload", `is not valid JSON (${error instanceof Error ? wellFormed(error.message) : "parse error"})`);
  }
  assertJson("payload", value);
  if (jsonByteLength(value) > PAYLOAD_MAX_BYTES) throw new ValidationError("payload", `must be at most ${PAYLOAD_MAX_BYTES} bytes as JSON`);
  return value;
}

/**
 * The fingerprint of an edited payload. A run fingerprinted over its whole payload keeps that rule. A
 * run fingerprinted over chosen fields (fingerprintFields; its fingerprint is then not its payload's)
 * cannot be recomputed here without knowing the fields, and hashing the edit whole would make it a
 * "different operation" that slips past the lineage's same-operation checks: such an edit is refused.
 */
async function editedFingerprint(
  sql: postgres.Sql,
  runId: number,
  payload: Json,
): Promise<{ fingerprint: string; changed: boolean } | "not_found" | "fields_fingerprint"> {
  const rows = await sql<{ payload: Json; fingerprint: string }[]>`SELECT payload, fingerprint FROM idem.task_runs WHERE id = ${runId}`;
  const parent = rows[0];
  if (!parent) return "not_found";
  const original = fingerprintOf(parent.payload);
  const edited = fingerprintOf(payload);
  if (edited === original) return { fingerprint: parent.fingerprint, changed: false };
  if (original !== parent.fingerprint) return "fields_fingerprint";
  return { fingerprint: edited, changed: true };
}

/** How far past the lineage's own count a retry key may move to get around keys that other runs hold. */
const KEY_SEARCH = 1000;

/**
 * The retry key for n, as SQL over `root_key`: `<root key>#retry-<n>`, or, when that would not fit in
 * KEY_MAX_BYTES, the root key's first 100 characters (at most 400 bytes), a sha256 of the whole root
 * key and the suffix, so a long root key can still be retried and its retries stay recognisable.
 * Either way the key fits: the hashed one is at most 400 + 1 + 64 + 7 + 10 (n is an int) = 482 bytes.
 */
function retryKeySql(sql: postgres.Sql, rootKey: postgres.PendingQuery<postgres.Row[]>, n: postgres.PendingQuery<postgres.Row[]>) {
  return sql`CASE WHEN octet_length(${rootKey}) + octet_length('#retry-' || ${n}) <= ${KEY_MAX_BYTES}::int
                  THEN ${rootKey} || '#retry-' || ${n}
                  ELSE left(${rootKey}, 100) || '#' || encode(sha256(convert_to(${rootKey}, 'UTF8')), 'hex') || '#retry-' || ${n} END`;
}

/**
 * The next retry key of the lineage of `parent` (a row with root_key, task_name, root_run_id): of the
 * keys n = 1, 2, ... that no other lineage holds (a client may have submitted "x#retry-1" itself),
 * the one after the retries the operator saw. Two submissions of one view therefore derive the same
 * key and the unique index picks one; a stale view derives a key its own lineage already holds,
 * which the verdict explains; and a key taken by someone else is stepped over instead of blocking
 * every later retry of the lineage.
 */
function freeChildKey(sql: postgres.Sql, seenRetries: number) {
  const n = sql`step.n + 1`;
  const rootKey = sql`parent.root_key`;
  // Walks n = 1, 2, ... counting the free keys, and stops at the (seenRetries + 1)-th or after
  // seenRetries + KEY_SEARCH steps: a probe per n up to the answer, not KEY_SEARCH probes every time.
  // The seed row's key is never used (it is not free); root_key gives the column the keys' collation.
  return sql`
    WITH RECURSIVE step(n, free_count, key, free) AS (
      SELECT 0, 0, parent.root_key, false
      UNION ALL
      SELECT step.n + 1, step.free_count + candidate.free::int, candidate.key, candidate.free
      FROM step CROSS JOIN LATERAL (
        SELECT k.key, NOT EXISTS (
          SELECT 1 FROM idem.task_runs other
          WHERE other.task_name = parent.task_name AND other.idempotency_key = k.key AND other.root_run_id <> parent.root_run_id) AS free
        FROM (SELECT ${retryKeySql(sql, rootKey, n)} AS key) k
      ) candidate
      WHERE step.free_count <= ${seenRetries}::int AND step.n < ${seenRetries}::int + ${KEY_SEARCH}::int
    )
    SELECT step.key AS child_key FROM step WHERE step.free AND step.free_count = ${seenRetries}::int + 1`;
}

/** The key a retry of the run would get now (the dialog shows it before confirming); null for an unknown run. */
export async function previewRetryKey(sql: postgres.Sql, runId: number, seenRetries: number): Promise<string | null> {
  const rows = await sql<{ child_key: string | null }[]>`
    WITH parent AS (
      SELECT p.task_name, p.root_run_id, root.idempotency_key AS root_key
      FROM idem.task_runs p JOIN idem.task_runs root ON root.id = p.root_run_id
      WHERE p.id = ${runId}
    )
    SELECT free.child_key FROM parent LEFT JOIN LATERAL (${freeChildKey(sql, seenRetries)}) free ON true`;
  return rows[0]?.child_key ?? null;
}

/** Creates the next retry of a failed run, or says why not. One statement decides; see the module comment. */
export async function retryRun(sql: postgres.Sql, request: RetryRequest): Promise<RetryResult> {
  const { runId, seen } = request;
  let fingerprint: string | null = null;
  let edited = false;
  if (request.payload !== undefined) {
    assertJson("payload", request.payload);
    const computed = await editedFingerprint(sql, runId, request.payload);
    if (computed === "not_found") return refusal(runId, "not_found", `Run #${runId} does not exist.`);
    if (computed === "fields_fingerprint") {
      return refusal(
        runId,
        "payload_not_editable",
        `Refused: run #${runId} is fingerprinted over chosen fields of its payload (fingerprintFields), which the console cannot recompute, so its payload cannot be edited here. Retry it unedited, or submit the changed run from its client.`,
      );
    }
    edited = computed.changed;
    fingerprint = computed.fingerprint;
  }

  const rows = await sql<Row[]>`
    WITH parent AS (
      SELECT p.*, root.idempotency_key AS root_key
      FROM idem.task_runs p JOIN idem.task_runs root ON root.id = p.root_run_id
      WHERE p.id = ${runId}
    ), derived AS (
      SELECT parent.*, free.child_key,
             CASE WHEN ${edited}::boolean THEN ${fingerprint}::text ELSE parent.fingerprint END AS child_fp
      FROM parent LEFT JOIN LATERAL (${freeChildKey(sql, seen.retries)}) free ON true
    ), verdict AS (
      SELECT d.id, d.status, d.root_run_id, d.task_name, d.payload, d.max_attempts, d.child_key, d.child_fp,
             d.updated_at, existing.id AS existing_id, existing.retry_of AS existing_retry_of,
             existing.root_run_id AS existing_root, existing.status AS existing_status,
             checks.retry_succeeded, checks.retry_in_flight, checks.op_succeeded, checks.op_in_flight, checks.retries,
             CASE
               WHEN d.child_key IS NULL THEN 'key_taken'
               WHEN existing.id IS NOT NULL AND existing.retry_of = d.id THEN 'already_retried'
               WHEN existing.id IS NOT NULL AND existing.root_run_id = d.root_run_id THEN 'lineage_changed'
               WHEN existing.id IS NOT NULL THEN 'key_taken'
               WHEN d.status::text <> ${seen.status}::text
                 OR abs(extract(epoch FROM d.updated_at - ${seen.updatedAt.toISOString()}::text::timestamptz)) >= 0.001 THEN 'state_changed'
               WHEN d.status::text <> ALL(${[...RETRYABLE_STATUSES]}::text[]) THEN 'not_retryable'
               WHEN checks.retry_succeeded IS NOT NULL THEN 'retry_succeeded'
               WHEN checks.retry_in_flight IS NOT NULL THEN 'retry_in_flight'
               WHEN checks.op_succeeded IS NOT NULL THEN 'operation_succeeded'
               WHEN checks.op_in_flight IS NOT NULL THEN 'operation_in_flight'
               WHEN checks.retries <> ${seen.retries}::int THEN 'lineage_changed'
             END AS why
      FROM derived d
      LEFT JOIN idem.task_runs existing ON existing.task_name = d.task_name AND existing.idempotency_key = d.child_key
      CROSS JOIN LATERAL (
        -- Every retry descending from the run, not only its children: root -> retry-1 (failed) ->
        -- retry-2 (succeeded) means the root's retry already succeeded.
        WITH RECURSIVE descendants AS (
          SELECT c.id, c.status FROM idem.task_runs c WHERE c.retry_of = d.id
          UNION ALL
          SELECT c.id, c.status FROM idem.task_runs c JOIN descendants x ON c.retry_of = x.id
        )
        SELECT
          (SELECT min(x.id) FROM descendants x WHERE x.status = 'succeeded') AS retry_succeeded,
          (SELECT min(x.id) FROM descendants x WHERE x.status IN ('pending', 'running')) AS retry_in_flight,
          (SELECT min(o.id) FROM idem.task_runs o
            WHERE ((o.root_run_id = d.root_run_id AND o.retry_of IS NOT NULL) OR o.id = d.root_run_id)
              AND o.fingerprint = d.child_fp AND o.status = 'succeeded') AS op_succeeded,
          (SELECT min(o.id) FROM idem.task_runs o
            WHERE ((o.root_run_id = d.root_run_id AND o.retry_of IS NOT NULL) OR o.id = d.root_run_id)
              AND o.fingerprint = d.child_fp AND o.status IN ('pending', 'running')) AS op_in_flight,
          (SELECT count(*) FROM idem.task_runs o WHERE o.root_run_id = d.root_run_id AND o.retry_of IS NOT NULL)::int AS retries
      ) checks
    ), new_run AS (
      INSERT INTO idem.task_runs AS r
        (id, root_run_id, retry_of, task_name, idempotency_key, fingerprint, payload, status, attempt, max_attempts,
         fencing_token, available_at, source, created_by)
      SELECT n.id, v.root_run_id, v.id, v.task_name, v.child_key, v.child_fp,
             CASE WHEN ${request.payload !== undefined}::boolean THEN ${JSON.stringify(request.payload ?? null)}::text::jsonb ELSE v.payload END,
             'pending', 0, v.max_attempts, 0, now(), 'console', ${request.actor}
      FROM (SELECT * FROM verdict WHERE why IS NULL) v
      CROSS JOIN LATERAL (SELECT nextval('idem.task_runs_id_seq') AS id) n
      ON CONFLICT (task_name, idempotency_key) DO NOTHING
      RETURNING r.*
    ), created_event AS (
      INSERT INTO idem.run_events (run_id, kind, from_status, to_status, actor, fencing_token, detail)
      SELECT id, 'created', NULL, 'pending', ${request.actor}, 0,
             jsonb_build_object('retry_of', retry_of, 'root_run_id', root_run_id, 'reason', ${request.reason}::text,
                                'payload_edited', ${edited}::boolean, 'request_id', ${request.requestId}::text)
      FROM new_run
    ), parent_event AS (
      INSERT INTO idem.run_events (run_id, kind, from_status, to_status, actor, fencing_token, detail)
      SELECT new_run.retry_of, 'retried', NULL, NULL, ${request.actor}, NULL,
             jsonb_build_object('child_run_id', new_run.id, 'child_key', new_run.idempotency_key, 'reason', ${request.reason}::text,
                                'payload_edited', ${edited}::boolean, 'request_id', ${request.requestId}::text)
      FROM new_run
    ), notified AS (
      -- Delivered at commit, so a worker woken by it finds the run.
      SELECT pg_notify(${PENDING_CHANNEL}, task_name) FROM new_run
    )
    SELECT v.why, v.status, v.updated_at, v.child_key, v.existing_id, v.existing_retry_of, v.existing_status,
           v.retry_succeeded, v.retry_in_flight, v.op_succeeded, v.op_in_flight, v.retries,
           (SELECT id FROM new_run) AS child_id, (SELECT count(*) FROM notified)::int AS notified
    FROM verdict v`;

  const row = rows[0];
  if (!row) return refusal(runId, "not_found", `Run #${runId} does not exist.`);
  const childKey = (row.child_key as string | null) ?? "";
  const childId = num(row.child_id);
  if (childId !== null) {
    return {
      outcome: "created",
      runId,
      childId,
      childKey,
      payloadEdited: edited,
      message: `Retry created: run #${childId} (${childKey}) is pending${edited ? ", with the edited payload" : ""}.`,
    };
  }
  const why = row.why as RetryRefusal | null;
  if (why === null) {
    // A concurrent request inserted the same key first: ON CONFLICT DO NOTHING waited for it to commit.
    return explainTakenKey(sql, runId, childKey);
  }
  return explain(runId, why, row, seen, childKey);
}

async function explainTakenKey(sql: postgres.Sql, runId: number, childKey: string): Promise<RetryResult> {
  const rows = await sql<Row[]>`
    SELECT c.id, c.retry_of, c.status, c.root_run_id = p.root_run_id AS same_lineage FROM idem.task_runs c
    JOIN idem.task_runs p ON p.id = ${runId} AND c.task_name = p.task_name AND c.idempotency_key = ${childKey}`;
  const taken = rows[0];
  if (!taken) return refusal(runId, "lineage_changed", `Run #${runId} changed while retrying it; reload and try again.`, null, childKey);
  const existingId = Number(taken.id);
  if (taken.same_lineage !== true) {
    return refusal(runId, "key_taken", `Refused: another client took the key ${childKey} (run #${existingId}) at the same moment; try again for the next key.`, existingId, childKey);
  }
  if (num(taken.retry_of) === runId) {
    return refusal(runId, "already_retried", `Already retried as run #${existingId} (${childKey}), now ${String(taken.status)}.`, existingId, childKey);
  }
  return refusal(
    runId,
    "lineage_changed",
    `Refused: the lineage changed while you were looking at it: ${childKey} is now run #${existingId}, a retry of run #${num(taken.retry_of) ?? "?"}. Reload to see it.`,
    existingId,
    childKey,
  );
}

function explain(runId: number, why: RetryRefusal, row: Row, seen: RetrySeen, childKey: string): RetryResult {
  const existing = num(row.existing_id);
  const status = String(row.status);
  switch (why) {
    case "already_retried":
      return refusal(runId, why, `Already retried as run #${existing} (${childKey}), now ${String(row.existing_status)}.`, existing, childKey);
    case "lineage_changed":
      return existing !== null
        ? refusal(
            runId,
            why,
            `Refused: the lineage changed since you loaded the page: ${childKey} is already run #${existing}, a retry of run #${num(row.existing_retry_of) ?? "?"}. Reload to see it.`,
            existing,
            childKey,
          )
        : refusal(
            runId,
            why,
            `Refused: this lineage has ${Number(row.retries)} ${Number(row.retries) === 1 ? "retry" : "retries"} now; you saw ${seen.retries}. Reload to see them.`,
            null,
            childKey,
          );
    case "key_taken":
      return existing !== null
        ? refusal(runId, why, `Refused: the key ${childKey} is already used by run #${existing}, which is not part of this lineage.`, existing, childKey)
        : refusal(runId, why, `Refused: the next ${KEY_SEARCH} retry keys of this lineage are all used by other runs of the task.`, null, null);
    case "state_changed":
      return status !== seen.status
        ? refusal(runId, why, `Refused: run #${runId} is now ${status}; you saw it ${seen.status}. Nothing was created; reload and decide again.`, null, childKey)
        : refusal(
            runId,
            why,
            `Refused: run #${runId} changed since you loaded the page (updated ${asDate(row.updated_at).toISOString()}, you saw ${seen.updatedAt.toISOString()}). Nothing was created; reload and decide again.`,
            null,
            childKey,
          );
    case "not_retryable":
      return refusal(runId, why, `Refused: run #${runId} is ${status}; only failed runs can be retried.`, null, childKey);
    case "retry_succeeded": {
      const other = num(row.retry_succeeded);
      return refusal(runId, why, `Refused: a retry of run #${runId} already succeeded (run #${other}).`, other, childKey);
    }
    case "retry_in_flight": {
      const other = num(row.retry_in_flight);
      return refusal(runId, why, `Refused: a retry of run #${runId} is still pending or running (run #${other}); wait for it, or cancel it first.`, other, childKey);
    }
    case "operation_succeeded": {
      const other = num(row.op_succeeded);
      return refusal(runId, why, `Refused: the same operation (same payload fingerprint) already succeeded in this lineage, as run #${other}.`, other, childKey);
    }
    case "operation_in_flight": {
      const other = num(row.op_in_flight);
      return refusal(runId, why, `Refused: the same operation (same payload fingerprint) is already pending or running in this lineage, as run #${other}.`, other, childKey);
    }
    case "not_found":
      return refusal(runId, why, `Run #${runId} does not exist.`, null, null);
    case "payload_not_editable":
      return refusal(runId, why, `Refused: run #${runId}'s payload cannot be edited here.`, null, null);
  }
}

function refusal(runId: number, why: RetryRefusal, message: string, otherRunId: number | null = null, childKey: string | null = null): RetryResult {
  return { outcome: "refused", runId, why, message, otherRunId, childKey };
}

export const BULK_RETRY_MAX = 100;

export interface RetryCandidate {
  id: number;
  taskName: string;
  idempotencyKey: string;
  status: RunStatus;
  updatedAt: Date;
  /** Retries in the run's lineage now: part of the seen state a bulk retry carries. */
  lineageRetries: number;
  errorClass: string | null;
  errorMessage: string | null;
}

/** The runs of a selection, with the state a bulk retry will carry as its precondition (by id, bounded). */
export async function listRetryCandidates(sql: postgres.Sql, ids: readonly number[]): Promise<RetryCandidate[]> {
  const wanted = [...new Set(ids)].slice(0, BULK_RETRY_MAX);
  if (wanted.length === 0) return [];
  const rows = await sql<Row[]>`
    SELECT r.id, r.task_name, r.idempotency_key, r.status, r.updated_at, r.error->>'class' AS error_class,
           left(r.error->>'message', 300) AS error_message,
           (SELECT count(*) FROM idem.task_runs o WHERE o.root_run_id = r.root_run_id AND o.retry_of IS NOT NULL)::int AS lineage_retries
    FROM idem.task_runs r WHERE r.id = ANY(${wanted}::bigint[])
    ORDER BY r.id`;
  return rows.map((row) => ({
    id: Number(row.id),
    taskName: String(row.task_name),
    idempotencyKey: String(row.idempotency_key),
    status: row.status as RunStatus,
    updatedAt: asDate(row.updated_at),
    lineageRetries: Number(row.lineage_retries),
    errorClass: (row.error_class as string | null) ?? null,
    errorMessage: (row.error_message as string | null) ?? null,
  }));
}
