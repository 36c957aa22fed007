import { z } from "zod";
import { lockClasses } from "@/lib/locks/classify";
import { duplicateOutcome, runStatus } from "@/lib/ledger/schema";
import { PAGE_SIZE_MAX, runStatusFilters } from "@/lib/ledger/run-filters";
import { duplicateViews, duplicatesSchema } from "@/lib/params/duplicates";
import { locksParams } from "@/lib/params/locks";
import { runsListSchema } from "@/lib/params/runs";
import { abandonBody, bodyExamples, cancelBody, lockReleaseBody, retryBody } from "./schemas";

/**
 * The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json. Request bodies are generated
 * from the schemas the routes validate with (lib/api/schemas.ts). Query parameters are generated from
 * the routes' query schemas' keys; their descriptions are written here, keyed by those keys (the type
 * makes a missing or extra one a compile error), because the schemas coerce and transform, which JSON
 * Schema cannot express. lib/api/openapi.test.ts checks both against the routes.
 */
type Parameter = { name: string; in: "query" | "path" | "header"; required?: boolean; description: string; schema: Record<string, unknown> };
type ParameterSpec = Omit<Parameter, "name" | "in">;

const str = (description: string, extra: Record<string, unknown> = {}): ParameterSpec => ({ description, schema: { type: "string", ...extra } });

/** One query parameter per key of the route's schema, in its order. */
function queryParameters<S extends z.ZodObject>(schema: S, docs: { [K in keyof S["shape"]]: ParameterSpec }): Parameter[] {
  return Object.keys(schema.shape).map((name) => ({ name, in: "query", ...(docs as Record<string, ParameterSpec>)[name]! }));
}

const timeBound = "A relative time before now (`15m`, `24h`, `7d`) or an ISO 8601 date-time.";

const runsQuery = queryParameters(runsListSchema, {
  q: str("Free search: a run id, or an exact key."),
  status: str("Status, or `stuck` (running with an expired lease).", { enum: [...runStatusFilters] }),
  task: str("Task name."),
  key: str("Idempotency key."),
  keyMatch: str("How `key` matches.", { enum: ["exact", "prefix"], default: "exact" }),
  worker: str("The worker that holds or last held the lease."),
  from: str(`Created (or finished, with sort=finished) at or after. ${timeBound}`),
  to: str(`Created (or finished) before. ${timeBound}`),
  dups: str("Only runs with duplicate attempts.", { enum: ["1", "0"] }),
  retry: str("Only retries (runs with retry_of).", { enum: ["1", "0"] }),
  sort: str("Sort column.", { enum: ["created", "finished"], default: "created" }),
  order: str("Sort order.", { enum: ["desc", "asc"], default: "desc" }),
  cursor: str("`nextCursor` or `prevCursor` from the previous page."),
  pageSize: { description: "Rows per page.", schema: { type: "integer", minimum: 1, maximum: PAGE_SIZE_MAX, default: 50 } },
});

const duplicatesQuery = queryParameters(duplicatesSchema, {
  view: str("`list` of attempts, or grouped by `keys` or `sources`.", { enum: [...duplicateViews], default: "list" }),
  outcome: str("Outcome.", { enum: [...duplicateOutcome.enumValues] }),
  task: str("Task name."),
  source: str("Source of the attempt (e.g. celery, api)."),
  worker: str("Worker id of the attempt."),
  run: str("Attempts on this run id."),
  from: str(`At or after. ${timeBound}`),
  to: str(`Before. ${timeBound}`),
  cursor: str("`nextCursor` from the previous page."),
});

const locksQuery = queryParameters(locksParams.schema, {
  class: str("Lock class.", { enum: [...lockClasses] }),
  pattern: str("One of the configured SCAN patterns."),
  q: str("Substring of the key."),
});

const requestIdHeader: Parameter = {
  name: "X-Request-Id",
  in: "header",
  description: "8-100 characters of [A-Za-z0-9_-]. A write repeated with the same id returns the first answer instead of acting twice. Echoed in the X-Request-Id response header (a new id when absent or malformed).",
  schema: { type: "string", pattern: "^[A-Za-z0-9_-]{8,100}$" },
};

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
const requestIdResponseHeader = { "X-Request-Id": { description: "The request's id: the one sent, or a new one. Also in error bodies.", schema: { type: "string" } } };
const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [
      String(status),
      { description: errorDescriptions[status] ?? "Error", headers: requestIdResponseHeader, content: json({ $ref: "#/components/schemas/Error" }) },
    ]),
  );
const errorDescriptions: Record<number, string> = {
  400: "Invalid parameters or body; `field` names the offending one (`query.status`, `body.seenStatus`)",
  401: "Missing, unknown or revoked token",
  403: "The token's role cannot do this",
  404: "No such run",
  409: "Refused: the state changed since it was read, or the operation does not apply (the message says why)",
  413: "Body too large",
  415: "Body is not application/json",
  503: "Postgres or Redis unreachable",
};
const ok = (description: string, schema: unknown) => ({ "200": { description, headers: requestIdResponseHeader, content: json(schema) } });

export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
}
const body = (schema: z.ZodType, examples: Record<string, unknown>) => ({
  required: true,
  content: { "application/json": { schema: jsonSchemaOf(schema), examples: Object.fromEntries(Object.entries(examples).map(([name, value]) => [name, { value }])) } },
});

// Response bodies: the fields automation relies on; rows carry more (every column the console shows).
const obj = (required: string[], properties: Record<string, unknown>) => ({ type: "object", required, properties });
const nullable = (type: string) => ({ type: [type, "null"] });
// A list row and the run detail share these; the detail adds the columns a write's precondition needs.
const runSchema = obj(["id", "taskName", "idempotencyKey", "status", "attempt", "createdAt"], {
  id: { type: "integer" },
  taskName: { type: "string" },
  idempotencyKey: { type: "string" },
  status: { type: "string", enum: [...runStatus.enumValues] },
  attempt: { type: "integer" },
  createdAt: { type: "string", format: "date-time" },
  finishedAt: nullable("string"),
  retryOf: nullable("integer"),
});
const runListItem = { allOf: [runSchema, obj(["leaseExpired", "durationMs"], { leaseExpired: { type: "boolean" }, durationMs: nullable("integer"), errorMessage: nullable("string") })] };
const cursorPage = (rows: string, item: unknown) =>
  obj([rows, "nextCursor", "prevCursor"], { [rows]: { type: "array", items: item }, nextCursor: nullable("string"), prevCursor: nullable("string") });
const responses = {
  me: obj(["name", "role", "via"], { name: { type: "string" }, role: { type: "string", enum: ["viewer", "operator", "admin"] }, via: { type: "string", enum: ["api", "console"] } }),
  runs: cursorPage("runs", runListItem),
  run: obj(["run", "events", "duplicates", "lineage"], {
    run: {
      allOf: [
        runSchema,
        obj(["updatedAt", "leaseToken", "leaseExpired", "lineageRetries"], {
          updatedAt: { type: "string", format: "date-time", description: "`seenUpdatedAt` for a retry" },
          leaseToken: { ...nullable("string"), description: "`seenLeaseToken` for an abandon" },
          leaseExpired: { type: "boolean" },
          lineageRetries: { type: "integer", description: "`seenRetries` for a retry" },
        }),
      ],
    },
    events: { type: "array", items: { type: "object" }, description: "The timeline (run_events), oldest first" },
    duplicates: { type: "array", items: { type: "object" } },
    lineage: { type: "object", description: "The root run and its retries" },
  }),
  duplicates: {
    oneOf: [
      { allOf: [obj(["view"], { view: { const: "list" } }), cursorPage("attempts", { type: "object" })] },
      obj(["view"], { view: { enum: ["keys", "sources"] } }),
    ],
  },
  locks: obj(["locks", "counts", "examined", "capped", "stoppedBy", "unfinishedPatterns", "keyspaceKeys", "scanCalls", "maxKeys", "patterns"], {
    locks: {
      type: "array",
      items: obj(["key", "keyBase64", "value", "valueBase64", "class", "pttlMs", "seenAt"], {
        key: { type: "string", description: "Send back as `key` to release (binary keys: `keyBase64`)" },
        keyBase64: { type: "string", description: "The key's exact bytes" },
        value: { type: ["string", "null"], description: "Send back as `value` to release; null when not valid UTF-8 text (send `valueBase64`)" },
        valueBase64: { type: ["string", "null"], description: "The value's exact bytes; null when the console cannot release it (not a string, or too long)" },
        class: { type: "string", enum: [...lockClasses] },
        pttlMs: { type: "integer", description: "PTTL as read (-1: no TTL); send back with `seenAt`" },
        seenAt: { type: "integer", description: "When the lock was read (ms since the epoch)" },
      }),
    },
    counts: { type: "object", additionalProperties: { type: "integer" } },
    examined: { type: "integer" },
    capped: { type: "boolean", description: "Stopped before every pattern was walked to its end: the list is partial (see `stoppedBy`)" },
    stoppedBy: { type: ["string", "null"], enum: ["keys", "scan_calls", "time", null], description: "The bound that stopped the walk (null: it finished)" },
    unfinishedPatterns: { type: "array", items: { type: "string" }, description: "Patterns whose SCAN did not reach its end on every node" },
    keyspaceKeys: { type: "integer", description: "DBSIZE summed over the masters: how many keys SCAN walks per pattern" },
    scanCalls: { type: "integer", description: "SCAN calls this listing made" },
    maxKeys: { type: "integer" },
    patterns: { type: "array", items: { type: "string" } },
  }),
};

const writeNote =
  "Writes need a bearer token with the operator role. Send `X-Request-Id` to make a retry of the same request return the first answer instead of acting twice. Every attempt, done or refused, is written to the audit log as `token:<name>`.";

export function openApiDocument(serverUrl: string) {
  return {
    openapi: "3.1.0",
    info: {
      title: "Idem console API",
      version: "1",
      description:
        "Automation for the Idem ledger: task history, duplicates, Redis locks, and guarded operations (retry under a new key, cancel, abandon, lock release). Authenticate with `Authorization: Bearer idem_...` (tokens are created by admins under Settings → API tokens). Reads also accept a signed-in console session. Every answer carries `X-Request-Id`; every failure, including an unknown path (404) and a method a path does not take (405, with `Allow`), has the body `Error`.",
    },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "An API token (`idem_...`)." } },
      schemas: { Error: errorSchema, OperationResult: operationResult },
    },
    paths: {
      "/api/v1/me": {
        get: { summary: "Who this token is", responses: { ...ok("The token's name and role", responses.me), ...errors(401, 503) } },
      },
      "/api/v1/runs": {
        get: {
          summary: "List runs (task history)",
          description: "Keyset pagination: pass `nextCursor` back as `cursor`.",
          parameters: runsQuery,
          responses: { ...ok("A page of runs", responses.runs), ...errors(400, 401, 503) },
        },
      },
      "/api/v1/runs/{id}": {
        get: {
          summary: "A run with its timeline, duplicate attempts and lineage",
          parameters: [runId],
          responses: { ...ok("The run", responses.run), ...errors(401, 404, 503) },
        },
      },
      "/api/v1/runs/{id}/retry": {
        post: {
          summary: "Retry a failed or abandoned run under a new key, with lineage",
          description: `The new run is pending (a worker executes it) under \`<root key>#retry-<n>\`, retry_of this run. ${writeNote}`,
          parameters: [runId, requestIdHeader],
          requestBody: body(retryBody, { retry: bodyExamples.retry, editedPayload: bodyExamples.retryEdited }),
          responses: { ...ok("Created", { $ref: "#/components/schemas/OperationResult" }), ...errors(400, 401, 403, 404, 409, 413, 415, 503) },
        },
      },
      "/api/v1/runs/{id}/cancel": {
        post: {
          summary: "Cancel a pending run",
          description: writeNote,
          parameters: [runId, requestIdHeader],
          requestBody: body(cancelBody, { cancel: bodyExamples.cancel }),
          responses: { ...ok("Cancelled", { $ref: "#/components/schemas/OperationResult" }), ...errors(400, 401, 403, 404, 409, 413, 415, 503) },
        },
      },
      "/api/v1/runs/{id}/abandon": {
        post: {
          summary: "Mark a running run whose lease expired as abandoned (failed)",
          description: writeNote,
          parameters: [runId, requestIdHeader],
          requestBody: body(abandonBody, { abandon: bodyExamples.abandon }),
          responses: { ...ok("Abandoned", { $ref: "#/components/schemas/OperationResult" }), ...errors(400, 401, 403, 404, 409, 413, 415, 503) },
        },
      },
      "/api/v1/duplicates": {
        get: {
          summary: "Duplicate attempts (replayed, in_progress, payload_mismatch, lock_contended)",
          parameters: duplicatesQuery,
          responses: { ...ok("Attempts, or groups for view=keys|sources", responses.duplicates), ...errors(400, 401, 503) },
        },
      },
      "/api/v1/locks": {
        get: {
          summary: "Redis lock inventory, classified and mapped to runs",
          parameters: locksQuery,
          responses: { ...ok("Locks and counts per class", responses.locks), ...errors(400, 401, 503) },
        },
      },
      "/api/v1/locks/release": {
        post: {
          summary: "Release a lock by compare-and-delete with the value seen",
          description: `Deletes the key only if it still holds \`value\`. Held locks need \`confirmKey\` and \`reason\`. ${writeNote}`,
          parameters: [requestIdHeader],
          requestBody: body(lockReleaseBody, { release: bodyExamples.release, releaseHeld: bodyExamples.releaseHeld }),
          responses: { ...ok("Released", { $ref: "#/components/schemas/OperationResult" }), ...errors(400, 401, 403, 409, 413, 415, 503) },
        },
      },
      "/api/metrics": {
        get: {
          summary: "Prometheus metrics (text exposition format)",
          description:
            "Runs by status and duplicates by outcome (both over the last 24 hours), stuck runs, locks by class, operator actions (`idem_operator_actions_total`, a counter). Needs a token (any role); a browser session is not accepted.",
          responses: { "200": { description: "text/plain; version=0.0.4", content: { "text/plain": { schema: { type: "string" } } } }, ...errors(401, 503) },
        },
      },
    },
    "x-run-statuses": runStatus.enumValues,
  };
}
