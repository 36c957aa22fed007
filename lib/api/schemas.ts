import { z } from "zod";

/**
 * Request bodies of the JSON API, shared by the route handlers and the OpenAPI document. Each write
 * carries what the caller saw (from a GET) as the precondition of its compare-and-set.
 */
const reason = z.string().max(500).describe("Why: kept in the audit log.");

export const retryBody = z
  .object({
    seenStatus: z.string().describe("`run.status` as read"),
    seenUpdatedAt: z.string().describe("`run.updatedAt` as read (ISO 8601)"),
    seenRetries: z.number().int().min(0).describe("`run.lineageRetries` as read"),
    payload: z.unknown().optional().describe("An edited payload for the new run; the parent's when absent."),
    reason: reason.optional(),
  })
  .strict();

export const cancelBody = z.object({ reason }).strict();

export const abandonBody = z
  .object({
    seenLeaseToken: z.uuid().describe("`run.leaseToken` as read: the lease being declared dead"),
    reason,
  })
  .strict();

export const lockReleaseBody = z
  .object({
    key: z.string().min(1).max(4096),
    value: z.string().max(1024).optional().describe("The lock's value as read: compare-and-delete deletes only if it is still this"),
    valueBase64: z.string().max(1400).optional().describe("Instead of `value`: the value's exact bytes (`valueBase64` from the GET), for binary values"),
    class: z.string().describe("The class as read (held, stale, orphaned, no_ttl, token_mismatch)"),
    pttlMs: z.number().int().min(-1).optional().describe("`pttlMs` as read: a lock set again with the same value since is left alone"),
    seenAt: z.number().int().positive().optional().describe("`seenAt` as read, with `pttlMs`"),
    reason: reason.optional().describe("Required to release a held lock"),
    confirmKey: z.string().max(4096).optional().describe("To release a held lock: the key again"),
    expireLease: z.boolean().optional().describe("Also end the run's lease (compare-and-set on leaseToken)"),
    leaseToken: z.uuid().optional(),
  })
  .strict();
