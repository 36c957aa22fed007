import { z } from "zod";
import type { abandonSchema, cancelSchema, retrySchema } from "@/lib/ops/run-operations";
import { releaseLockSchema, textLockRef } from "@/lib/locks/operations";
import { lockClasses } from "@/lib/locks/classify";
import { MAX_VALUE_BYTES } from "@/lib/locks/inventory";
import { runStatus } from "@/lib/ledger/schema";
import { PAYLOAD_MAX_BYTES } from "@/lib/ledger/spec";

/**
 * Request bodies of the JSON API: the ONE schema per write route. The route validates with it and the
 * OpenAPI document is generated from it (z.toJSONSchema, input side), so the document cannot promise
 * what the route refuses. Each is at least as strict as the operation's own form schema
 * (lib/ops/run-operations.ts, lib/locks/operations.ts) and transforms into that schema's output, so
 * nothing is validated a second time with other rules or other field names.
 */
type OperationInput<S extends z.ZodType> = Omit<z.output<S>, "runId">;

const requiredReason = z
  .string()
  .trim()
  .min(1, "is required: say why, it is kept in the audit log")
  .max(500, "must be at most 500 characters")
  .describe("Why: kept in the audit log.");
// Blank counts as none, as in the console's form.
const optionalReason = z
  .string()
  .trim()
  .max(500, "must be at most 500 characters")
  .optional()
  .describe("Why: kept in the audit log.")
  .transform((reason) => (reason ? reason : null));

export const retryBody = z
  .object({
    seenStatus: z.enum(runStatus.enumValues).describe("`run.status` as read"),
    seenUpdatedAt: z.iso.datetime({ offset: true, error: "must be `run.updatedAt` as read (ISO 8601)" }).describe("`run.updatedAt` as read (ISO 8601)"),
    seenRetries: z.number().int().min(0).max(1_000_000).describe("`run.lineageRetries` as read"),
    payload: z.unknown().optional().describe("An edited payload for the new run; the parent's when absent."),
    reason: optionalReason,
  })
  .strict()
  .transform((body, ctx): OperationInput<typeof retrySchema> => {
    const payload = body.payload === undefined ? undefined : JSON.stringify(body.payload);
    if (payload !== undefined && payload.length > PAYLOAD_MAX_BYTES) {
      ctx.addIssue({ code: "custom", path: ["payload"], message: "is larger than 1 MiB" });
      return z.NEVER;
    }
    return {
      seenStatus: body.seenStatus,
      seenUpdatedAt: new Date(body.seenUpdatedAt),
      seenRetries: body.seenRetries,
      editPayload: body.payload !== undefined,
      payload,
      reason: body.reason,
    };
  });

export const cancelBody = z
  .object({
    seenAttempt: z
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .optional()
      .describe("`run.attempt` as read: the cancel is refused if the run was claimed again since (status-only when absent)"),
    reason: requiredReason,
  })
  .strict() satisfies z.ZodType<OperationInput<typeof cancelSchema>>;

export const abandonBody = z
  .object({
    seenLeaseToken: z.uuid({ error: "must be `run.leaseToken` as read (a uuid)" }).describe("`run.leaseToken` as read: the lease being declared dead"),
    reason: requiredReason,
  })
  .strict()
  .transform((body): OperationInput<typeof abandonSchema> => ({ leaseToken: body.seenLeaseToken, reason: body.reason }));

export const lockReleaseBody = z
  .object({
    key: z.string().min(1, "is required").max(4096, "is too long").optional().describe("The lock's key as read (text keys)"),
    keyBase64: z.string().max(5464).optional().describe("Instead of `key`: the key's exact bytes (`keyBase64` from the GET), for binary keys"),
    value: z.string().max(MAX_VALUE_BYTES, "is longer than the console releases").optional().describe("The lock's value as read: compare-and-delete deletes only if it is still this"),
    valueBase64: z.string().max(1400).optional().describe("Instead of `value`: the value's exact bytes (`valueBase64` from the GET), for binary values"),
    class: z.enum(lockClasses).describe("The class as read"),
    pttlMs: z.number().int().min(-1).optional().describe("`pttlMs` as read: with `seenAt`, a lock set again with the same value since is left alone"),
    seenAt: z.number().int().positive().optional().describe("`seenAt` as read (ms since the epoch), with `pttlMs`"),
    reason: optionalReason.describe("Required to release a held lock"),
    confirmKey: z.string().max(4096).optional().describe("To release a held lock: the key again"),
    expireLease: z.boolean().optional().describe("Also end the run's lease (compare-and-set on leaseToken): only for a held SDK lock whose value is leaseToken"),
    leaseToken: z.uuid({ error: "must be a lease token (uuid)" }).optional(),
  })
  .strict()
  .transform((body, ctx): z.output<typeof releaseLockSchema> => {
    const exactlyOne = (text: string | undefined, bytes: string | undefined, field: string) => {
      if ((text === undefined) === (bytes === undefined)) ctx.addIssue({ code: "custom", path: [field], message: `send exactly one of ${field} or ${field}Base64` });
    };
    exactlyOne(body.key, body.keyBase64, "key");
    exactlyOne(body.value, body.valueBase64, "value");
    if (ctx.issues.length > 0) return z.NEVER;
    // The operation's own schema turns the lock seen into exact bytes (as the console's form does): one
    // set of rules, reported under this body's field names.
    const fromText = textLockRef({ key: body.key ?? "", value: body.value ?? "", class: body.class, pttlMs: body.pttlMs, seenAt: body.seenAt });
    const parsed = releaseLockSchema.safeParse({
      lock: { ...fromText, key: body.keyBase64 ?? fromText.key, value: body.valueBase64 ?? fromText.value },
      reason: body.reason ?? undefined,
      confirmKey: body.confirmKey,
      expireLease: body.expireLease ? "on" : undefined,
      leaseToken: body.leaseToken,
    });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const [head, field, ...rest] = issue.path;
        const path = head === "lock" && typeof field === "string" ? [field === "key" || field === "value" ? (body[`${field}Base64`] === undefined ? field : `${field}Base64`) : field, ...rest] : issue.path;
        ctx.addIssue({ code: "custom", path, message: issue.message });
      }
      return z.NEVER;
    }
    return parsed.data;
  });

/** A valid body for each write, shown in the OpenAPI document (lib/api/openapi.test.ts parses each with its schema). */
export const bodyExamples = {
  retry: { seenStatus: "failed", seenUpdatedAt: "2026-01-31T12:00:00.000Z", seenRetries: 0, reason: "upstream fixed" },
  retryEdited: { seenStatus: "failed", seenUpdatedAt: "2026-01-31T12:00:00.000Z", seenRetries: 1, payload: { orderId: 42 } },
  cancel: { seenAttempt: 0, reason: "customer withdrew the order" },
  abandon: { seenLeaseToken: "6f1c2b9e-8a4d-4c3e-9b2a-1d5e7f9a0b3c", reason: "worker host is gone" },
  release: { key: "idem:lock:charge_invoice:inv-1", value: "6f1c2b9e-8a4d-4c3e-9b2a-1d5e7f9a0b3c", class: "stale" },
  releaseHeld: { key: "idem:lock:charge_invoice:inv-2", value: "6f1c2b9e-8a4d-4c3e-9b2a-1d5e7f9a0b3c", class: "held", confirmKey: "idem:lock:charge_invoice:inv-2", reason: "stuck deploy" },
} as const;
