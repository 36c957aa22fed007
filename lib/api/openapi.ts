import { z } from "zod";
import { lockClasses } from "@/lib/locks/classify";
import { duplicateOutcome, runStatus } from "@/lib/ledger/schema";
import { PAGE_SIZE_MAX, runStatusFilters } from "@/lib/ledger/run-filters";
import { abandonBody, cancelBody, lockReleaseBody, retryBody } from "./schemas";

/**
 * The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json. Request bodies come from the
 * same zod schemas the routes validate with; query parameters are listed by hand because their
 * schemas coerce and transform (which JSON Schema cannot express).
 */
type Parameter = { name: string; in: "query" | "path"; required?: boolean; description: string; schema: Record<string, unknown> };

const str = (description: string, extra: Record<string, unknown> = {}): Omit<Parameter, "name" | "in"> => ({ description, schema: { type: "string", ...extra } });
const q = (name: string, spec: Omit<Parameter, "name" | "in">): Parameter => ({ name, in: "query", ...spec });

const timeBound = "A relative time before now (`15m`, `24h`, `7d`) or an ISO 8601 date-time.";

const runsQuery: Parameter[] = [
  q("q", str("Free search: a run id, or an exact key.")),
  q("status", str("Status, or `stuck` (running with an expired lease).", { enum: [...runStatusFilters] })),
  q("task", str("Task name.")),
  q("key", str("Idempotency key.")),
  q("keyMatch", str("How `key` matches.", { enum: ["exact", "prefix"], default: "exact" })),
  q("worker", str("The worker that holds or last held the lease.")),
  q("from", str(`Created (or finished, with sort=finished) at or after. ${timeBound}`)),
  q("to", str(`Created (or finished) before. ${timeBound}`)),
  q("dups", str("Only runs with duplicate attempts.", { enum: ["1", "0"] })),
  q("retry", str("Only retries (runs with retry_of).", { enum: ["1", "0"] })),
  q("sort", str("Sort column.", { enum: ["created", "finished"], default: "created" })),
  q("order", str("Sort order.", { enum: ["desc", "asc"], default: "desc" })),
  q("cursor", str("`nextCursor` or `prevCursor` from the previous page.")),
  q("pageSize", { description: "Rows per page.", schema: { type: "integer", minimum: 1, maximum: PAGE_SIZE_MAX, default: 50 } }),
];

const duplicatesQuery: Parameter[] = [
  q("view", str("`list` of attempts, or grouped by `keys` or `sources`.", { enum: ["list", "keys", "sources"], default: "list" })),
  q("outcome", str("Outcome.", { enum: [...duplicateOutcome.enumValues] })),
  q("task", str("Task name.")),
  q("source", str("Source of the attempt (e.g. celery, api).")),
  q("worker", str("Worker id of the attempt.")),
  q("run", str("Attempts on this run id.")),
  q("from", str(`At or after. ${timeBound}`)),
  q("to", str(`Before. ${timeBound}`)),
  q("cursor", str("`nextCursor` from the previous page.")),
];

const locksQuery: Parameter[] = [
  q("class", str("Lock class.", { enum: [...lockClasses] })),
  q("pattern", str("One of the configured SCAN patterns.")),
  q("q", str("Substring of the key.")),
];

const runId: Parameter = { name: "id", in: "path", required: true, description: "Run id.", schema: { type: "integer", minimum: 1 } };

const errorSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message", "requestId"],
      properties: {
        code: { type: "string", examples: ["VALIDATION", "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "CONFLICT", "PAYLOAD_TOO_LARGE", "UNAVAILABLE"] },
        message: { type: "string" },
        field: { type: "string", description: "The offending parameter or body field, for validation errors." },
        requestId: { type: "string" },
      },
    },
  },
} as const;

const operationResult = {
  type: "object",
  required: ["ok", "message", "repeated"],
  properties: {
    ok: { const: true },
    message: { type: "string" },
    repeated: { type: "boolean", description: "True when this X-Request-Id was already done: the first answer, nothing redone." },
    data: {},
  },
} as const;

const json = (schema: unknown) => ({ "application/json": { schema } });
const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [String(status), { description: errorDescriptions[status] ?? "Error", content: json({ $ref: "#/components/schemas/Error" }) }]));
const errorDescriptions: Record<number, string> = {
  400: "Invalid parameters or body",
  401: "Missing, unknown or revoked token",
  403: "The token's role cannot do this",
  404: "No such run",
  409: "Refused: the state changed since it was read, or the operation does not apply (the message says why)",
  413: "Body too large",
  415: "Body is not application/json",
  503: "Postgres or Redis unreachable",
};

const body = (schema: z.ZodType) => ({ required: true, content: json(z.toJSONSchema(schema, { io: "input", unrepresentable: "any" })) });

const writeNote =
  "Writes need a bearer token with the operator role. Send `X-Request-Id` to make a retry of the same request return the first answer instead of acting twice. Every attempt, done or refused, is written to the audit log as `token:<name>`.";

export function openApiDocument(serverUrl: string) {
  return {
    openapi: "3.1.0",
    info: {
      title: "Idem console API",
      version: "1",
      description:
        "Automation for the Idem ledger: task history, duplicates, Redis locks, and guarded operations (retry under a new key, cancel, abandon, lock release). Authenticate with `Authorization: Bearer idem_...` (tokens are created by admins under Settings → API tokens). Reads also accept a signed-in console session.",
    },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "An API token (`idem_...`)." } },
      schemas: { Error: errorSchema, OperationResult: operationResult },
    },
    paths: {
      "/api/v1/me": {
        get: { summary: "Who this token is", responses: { "200": { description: "The token's name and role" }, ...errors(401) } },
      },
      "/api/v1/runs": {
        get: {
          summary: "List runs (task history)",
          description: "Keyset pagination: pass `nextCursor` back as `cursor`.",
          parameters: runsQuery,
          responses: { "200": { description: "A page of runs with nextCursor / prevCursor" }, ...errors(400, 401, 503) },
        },
      },
      "/api/v1/runs/{id}": {
        get: {
          summary: "A run with its timeline, duplicate attempts and lineage",
          parameters: [runId],
          responses: { "200": { description: "The run" }, ...errors(401, 404, 503) },
        },
      },
      "/api/v1/runs/{id}/retry": {
        post: {
          summary: "Retry a failed or abandoned run under a new key, with lineage",
          description: `The new run is pending (a worker executes it) under \`<root key>#retry-<n>\`, retry_of this run. ${writeNote}`,
          parameters: [runId],
          requestBody: body(retryBody),
          responses: { "200": { description: "Created", content: json({ $ref: "#/components/schemas/OperationResult" }) }, ...errors(400, 401, 403, 404, 409, 413, 415) },
        },
      },
      "/api/v1/runs/{id}/cancel": {
        post: {
          summary: "Cancel a pending run",
          description: writeNote,
          parameters: [runId],
          requestBody: body(cancelBody),
          responses: { "200": { description: "Cancelled", content: json({ $ref: "#/components/schemas/OperationResult" }) }, ...errors(400, 401, 403, 404, 409, 415) },
        },
      },
      "/api/v1/runs/{id}/abandon": {
        post: {
          summary: "Mark a running run whose lease expired as abandoned (failed)",
          description: writeNote,
          parameters: [runId],
          requestBody: body(abandonBody),
          responses: { "200": { description: "Abandoned", content: json({ $ref: "#/components/schemas/OperationResult" }) }, ...errors(400, 401, 403, 404, 409, 415) },
        },
      },
      "/api/v1/duplicates": {
        get: {
          summary: "Duplicate attempts (replayed, in_progress, payload_mismatch, lock_contended)",
          parameters: duplicatesQuery,
          responses: { "200": { description: "Attempts, or groups for view=keys|sources" }, ...errors(400, 401, 503) },
        },
      },
      "/api/v1/locks": {
        get: {
          summary: "Redis lock inventory, classified and mapped to runs",
          parameters: locksQuery,
          responses: { "200": { description: "Locks and counts per class" }, ...errors(400, 401, 503) },
        },
      },
      "/api/v1/locks/release": {
        post: {
          summary: "Release a lock by compare-and-delete with the value seen",
          description: `Deletes the key only if it still holds \`value\`. Held locks need \`confirmKey\` and \`reason\`. ${writeNote}`,
          requestBody: body(lockReleaseBody),
          responses: { "200": { description: "Released", content: json({ $ref: "#/components/schemas/OperationResult" }) }, ...errors(400, 401, 403, 409, 415, 503) },
        },
      },
      "/api/metrics": {
        get: {
          summary: "Prometheus metrics (text exposition format)",
          description: "Runs by status, duplicates by outcome, locks by class, operator actions. Needs a token (any role).",
          responses: { "200": { description: "text/plain; version=0.0.4" }, ...errors(401) },
        },
      },
    },
    "x-run-statuses": runStatus.enumValues,
  };
}
