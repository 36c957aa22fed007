import { z } from "zod";
import { ValidationError } from "@/lib/errors";
import { assertJson, canonicalJson, fingerprintOf, fingerprintOfCanonical, pickFields, textProblem, type Json } from "./json";

export const KEY_MAX_BYTES = 512;
export const PAYLOAD_MAX_BYTES = 1024 * 1024;
export const LEASE_MIN_MS = 100;
export const LEASE_MAX_MS = 7 * 24 * 3600 * 1000;

// Task names end up inside Redis lock keys as `<prefix><task>:<key>`, so they may not contain ':'.
export const taskNameSchema = z
  .string({ error: "is required and must be a string" })
  .min(1, "must not be empty")
  .max(200, "must be at most 200 characters")
  .regex(/^[A-Za-z0-9_.\-/]+$/, "may contain only letters, digits and _ . - /");

/**
 * Text Postgres stores as given. U+0000 is refused by text columns, and an unpaired surrogate is
 * replaced by U+FFFD on the way in, so "a\ud800" and "a\udfff" would be stored as the same key and
 * wrongly deduplicated: both are refused at the boundary instead.
 */
function storable<S extends z.ZodString>(schema: S) {
  return schema.superRefine((text, ctx) => {
    const problem = textProblem(text);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
}

export const idempotencyKeySchema = storable(
  z
    .string({ error: "is required and must be a string" })
    .min(1, "must not be empty")
    .refine((key) => Buffer.byteLength(key, "utf8") <= KEY_MAX_BYTES, `must be at most ${KEY_MAX_BYTES} bytes in UTF-8`),
);

/** A lease token is the run's uuid column and the Redis lock's value. */
export const leaseTokenSchema = z
  .string({ error: "must be a string" })
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, "must be a UUID (8-4-4-4-12 hex digits)");

export const pendingLimitSchema = z.number({ error: "must be a number" }).int("must be a whole number").min(0, "must not be negative").max(1000, "must be at most 1000");

export const taskListSchema = z.array(taskNameSchema, { error: "must be an array of task names" }).max(1000, "must list at most 1000 tasks");

/** A worker id or a lock prefix: recorded in text columns and Redis keys. */
export const labelSchema = storable(z.string({ error: "must be a string" }).min(1, "must not be empty").max(200, "must be at most 200 characters"));

export const leaseMsSchema = z
  .number({ error: "must be a number of milliseconds" })
  .int("must be a whole number of milliseconds")
  .min(LEASE_MIN_MS, `must be at least ${LEASE_MIN_MS} ms`)
  .max(LEASE_MAX_MS, "must be at most 7 days");

const submissionSchema = z.object({
  task: taskNameSchema,
  key: idempotencyKeySchema,
  payload: z.unknown(),
  leaseMs: leaseMsSchema.default(30_000),
  maxAttempts: z.number().int().min(1).max(100).default(1),
  fingerprintFields: z.array(storable(z.string().min(1).max(200))).min(1).max(100).optional(),
  scheduledFor: z.date().optional(),
  source: storable(z.string().min(1).max(100)).default("sdk"),
});

export type SubmissionInput = z.input<typeof submissionSchema>;

export type Submission = Omit<z.output<typeof submissionSchema>, "payload"> & {
  payload: Json;
  /** The payload as canonical JSON: what is stored (jsonb keeps no key order), sized and, without fingerprintFields, hashed. */
  payloadJson: string;
  fingerprint: string;
};

/** Checked before anything is claimed: a claim whose fn cannot run would record a failure and spend the key. */
export function assertFunction(fn: unknown, field = "fn"): void {
  if (typeof fn !== "function") throw new ValidationError(field, "must be a function");
}

/** Throws a ValidationError naming the first field that is wrong. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, fieldPrefix = ""): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = [fieldPrefix, ...(issue?.path ?? []).map(String)].filter(Boolean).join(".") || "input";
  throw new ValidationError(field, issue?.message ?? "is invalid");
}

export function parseSubmission(input: SubmissionInput): Submission {
  if (input === null || typeof input !== "object") throw new ValidationError("input", "must be an object");
  const spec = parseOrThrow(submissionSchema, input);
  if (spec.payload === undefined) throw new ValidationError("payload", "is required (use null for none)");
  assertJson("payload", spec.payload);
  const payload = spec.payload;
  // One serialisation serves the size limit, the stored text and the fingerprint: canonical JSON is
  // as long as JSON.stringify's (same escaping and number forms, only the key order differs).
  const payloadJson = canonicalJson(payload);
  if (Buffer.byteLength(payloadJson, "utf8") > PAYLOAD_MAX_BYTES) {
    throw new ValidationError("payload", `must be at most ${PAYLOAD_MAX_BYTES} bytes as JSON`);
  }
  const fingerprint = spec.fingerprintFields
    ? fingerprintOf(pickFields(payload, spec.fingerprintFields))
    : fingerprintOfCanonical(payloadJson);
  // Spelled out, not `{ ...spec }`: spreading zod's output object cost several times the whole
  // parse (bench/, client CPU per cycle), and this runs for every submission.
  return {
    task: spec.task,
    key: spec.key,
    payload,
    payloadJson,
    fingerprint,
    leaseMs: spec.leaseMs,
    maxAttempts: spec.maxAttempts,
    fingerprintFields: spec.fingerprintFields,
    scheduledFor: spec.scheduledFor,
    source: spec.source,
  };
}
