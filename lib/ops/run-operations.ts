import "server-only";
import { z } from "zod";
import { AppError } from "@/lib/errors";
import type { Json } from "@/lib/ledger/json";
import { runStatus } from "@/lib/ledger/schema";
import { PAYLOAD_MAX_BYTES } from "@/lib/ledger/spec";
import { recordOperatorAction } from "./audit";
import type { Operation, OperationContext } from "./perform";
import { optionalReason, requiredReason } from "./reason";
import { blankAsUnset } from "@/lib/params/fields";
import { BULK_RETRY_MAX, parseEditedPayload, retryRun, type RetryResult, type RetrySeen } from "./retry";
import { abandonRun, cancelRun } from "./transitions";

/**
 * The run operations (retry, bulk retry, abandon, cancel), defined once (lib/ops/perform.ts) so the
 * console's server actions (app/(console)/runs/actions.ts) and any API route share the role, the
 * validation, the compare-and-set and the audit row. Every field is a string, as a form sends it.
 */

const runId = z.coerce.number({ error: "must be a run id" }).int("must be a run id").positive("must be a run id").max(Number.MAX_SAFE_INTEGER, "must be a run id");
const seenAt = z
  .string({ error: "is missing (reload the page)" })
  .refine((text) => !Number.isNaN(Date.parse(text)), "is not a time (reload the page)")
  .transform((text) => new Date(text));
// Blank is missing, not 0 (which is what coercing "" gives).
const seenRetries = z.preprocess(blankAsUnset, z.coerce.number({ error: "is missing (reload the page)" }).int().min(0).max(1_000_000));

export const retrySchema = z.object({
  runId,
  seenStatus: z.enum(runStatus.enumValues, { error: "is missing (reload the page)" }),
  seenUpdatedAt: seenAt,
  seenRetries,
  editPayload: z.preprocess(blankAsUnset, z.literal("on").optional()).transform((value) => value === "on"),
  payload: z.preprocess(blankAsUnset, z.string().max(PAYLOAD_MAX_BYTES, "is larger than 1 MiB").optional()),
  reason: optionalReason,
});

const bulkItem = z.preprocess(
  (text) => {
    if (typeof text !== "string") return text;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  },
  z.object(
    { id: runId, status: z.enum(runStatus.enumValues), updatedAt: seenAt, retries: seenRetries },
    { error: "each run must be {id, status, updatedAt, retries} as the page showed it" },
  ),
);

export const bulkRetrySchema = z.object({
  run: z.preprocess(
    (value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]),
    z.array(bulkItem).min(1, "select at least one run").max(BULK_RETRY_MAX, `at most ${BULK_RETRY_MAX} runs at a time`),
  ),
  reason: requiredReason,
});

export const abandonSchema = z.object({
  runId,
  leaseToken: z.uuid("must be the lease token the page showed (a uuid)"),
  // When the lease the page showed expired: recorded in the audit row as what the operator saw.
  seenLeaseExpiresAt: z.preprocess(blankAsUnset, seenAt.optional()),
  reason: requiredReason,
});

export const cancelSchema = z.object({
  runId,
  // The attempt the page showed; the console always sends it, an API client may not (status-only then).
  seenAttempt: z.preprocess(blankAsUnset, z.coerce.number({ error: "must be the attempt the page showed" }).int().min(0).max(1_000_000).optional()),
  reason: requiredReason,
});

/** A run named by the raw form (before validation), for auditing an attempt whose other fields were invalid. */
const rawRunTarget = (raw: Record<string, string | string[]>) =>
  typeof raw.runId === "string" && /^[1-9]\d{0,15}$/.test(raw.runId) ? { type: "run", id: raw.runId } : null;

const actorName = (ctx: OperationContext) => (ctx.actor.via === "api" ? `token:${ctx.actor.name}` : ctx.actor.name);

/** A run that does not exist is not a refusal of its state: the API answers 404, the console the same message. */
function throwIfMissing(result: { outcome: string; why?: string; message: string }): void {
  if (result.outcome === "refused" && result.why === "not_found") throw new AppError("NOT_FOUND", result.message);
}

const seenJson = (seen: RetrySeen) => ({ status: seen.status, updatedAt: seen.updatedAt.toISOString(), retries: seen.retries });

function retryDetail(result: RetryResult): { [key: string]: Json } {
  return result.outcome === "created"
    ? { childRunId: result.childId, childKey: result.childKey, payloadEdited: result.payloadEdited }
    : { why: result.why, otherRunId: result.otherRunId, childKey: result.childKey };
}

export const retryOperation: Operation<typeof retrySchema> = {
  name: "run.retry",
  role: "operator",
  transactional: true,
  replayData: true,
  requestIdentity: (input) => (input.editPayload ? (input.payload ?? "") : null),
  rawTarget: rawRunTarget,
  schema: retrySchema,
  target: (input) => ({ type: "run", id: String(input.runId) }),
  precondition: (input) => ({
    status: input.seenStatus,
    updatedAt: input.seenUpdatedAt.toISOString(),
    retries: input.seenRetries,
    payloadEdited: input.editPayload,
  }),
  reason: (input) => input.reason,
  run: async (input, ctx) => {
    const payload = input.editPayload ? parseEditedPayload(input.payload ?? "") : undefined;
    const result = await retryRun(ctx.sql, {
      runId: input.runId,
      seen: { status: input.seenStatus, updatedAt: input.seenUpdatedAt, retries: input.seenRetries },
      payload,
      actor: actorName(ctx),
      reason: input.reason,
      requestId: ctx.requestId,
    });
    throwIfMissing(result);
    const detail = retryDetail(result);
    if (result.outcome === "created") {
      return { outcome: "done", message: result.message, detail, data: { childRunId: result.childId, childKey: result.childKey } };
    }
    return { outcome: "refused", message: result.message, detail };
  },
};

/**
 * Audit: performOperation writes one `run.retry_bulk` row for the request (the frozen selection and the
 * tally), and this writes one `run.retry` row per run (request id `<request>/<n>`), shaped like a single
 * retry's row, so a run's audit history is one query whichever way it was retried.
 */
export const bulkRetryOperation: Operation<typeof bulkRetrySchema> = {
  name: "run.retry_bulk",
  role: "operator",
  transactional: true,
  replayData: true,
  schema: bulkRetrySchema,
  target: (input) => ({ type: "runs", id: `${input.run.length} selected` }),
  precondition: (input) => ({ runs: input.run.map((run) => ({ id: run.id, ...seenJson(run) })) }),
  reason: (input) => input.reason,
  run: async (input, ctx) => {
    const items = [...input.run].sort((a, b) => a.id - b.id);
    const results: Array<{ runId: number; outcome: string; message: string; childRunId: number | null }> = [];
    for (const [index, item] of items.entries()) {
      const seen: RetrySeen = { status: item.status, updatedAt: item.updatedAt, retries: item.retries };
      const result = await retryRun(ctx.sql, { runId: item.id, seen, actor: actorName(ctx), reason: input.reason, requestId: `${ctx.requestId}/${index + 1}` });
      results.push({ runId: item.id, outcome: result.outcome, message: result.message, childRunId: result.outcome === "created" ? result.childId : null });
      await recordOperatorAction(ctx.sql, {
        actor: actorName(ctx),
        actorRole: ctx.actor.role,
        action: "run.retry",
        targetType: "run",
        targetId: String(item.id),
        precondition: { ...seenJson(seen), payloadEdited: false, bulk: ctx.requestId },
        outcome: result.outcome === "created" ? "done" : "refused",
        outcomeDetail: { message: result.message, ...retryDetail(result) },
        reason: input.reason,
        requestId: `${ctx.requestId}/${index + 1}`,
      });
    }
    const created = results.filter((r) => r.outcome === "created").length;
    const refused = results.length - created;
    const why = results
      .filter((r) => r.outcome !== "created")
      .slice(0, 5)
      .map((r) => `#${r.runId}: ${r.message.replace(/^Refused: /, "")}`);
    const message = `${results.length} selected: ${created} retried${refused ? `, ${refused} refused. ${why.join(" ")}${refused > why.length ? " …" : ""}` : "."}`;
    const detail = { selected: results.length, created, refused };
    const data = { results };
    return created > 0 ? { outcome: "done", message, detail, data } : { outcome: "refused", message, detail };
  },
};

export const abandonOperation: Operation<typeof abandonSchema> = {
  name: "run.abandon",
  role: "operator",
  transactional: true,
  rawTarget: rawRunTarget,
  schema: abandonSchema,
  target: (input) => ({ type: "run", id: String(input.runId) }),
  precondition: (input) => ({ status: "running", leaseToken: input.leaseToken, leaseExpiresAt: input.seenLeaseExpiresAt?.toISOString() ?? null }),
  reason: (input) => input.reason,
  run: async (input, ctx) => {
    const result = await abandonRun(ctx.sql, { runId: input.runId, leaseToken: input.leaseToken, actor: actorName(ctx), reason: input.reason });
    throwIfMissing(result);
    return result.outcome === "done"
      ? { outcome: "done", message: result.message }
      : { outcome: "refused", message: result.message, detail: { why: result.why } };
  },
};

export const cancelOperation: Operation<typeof cancelSchema> = {
  name: "run.cancel",
  role: "operator",
  transactional: true,
  rawTarget: rawRunTarget,
  schema: cancelSchema,
  target: (input) => ({ type: "run", id: String(input.runId) }),
  precondition: (input) => ({ status: "pending", attempt: input.seenAttempt ?? null }),
  reason: (input) => input.reason,
  run: async (input, ctx) => {
    const result = await cancelRun(ctx.sql, { runId: input.runId, seenAttempt: input.seenAttempt, actor: actorName(ctx), reason: input.reason });
    throwIfMissing(result);
    return result.outcome === "done"
      ? { outcome: "done", message: result.message }
      : { outcome: "refused", message: result.message, detail: { why: result.why } };
  },
};
