import "server-only";
import { randomUUID } from "node:crypto";
import type postgres from "postgres";
import { z } from "zod";
import { getSession } from "@/lib/auth/current";
import { hasRole, type Role } from "@/lib/auth/roles";
import { authenticateApiToken } from "@/lib/auth/tokens";
import { getSql } from "@/lib/db";
import { AppError, errorCodes, isAppError, type ErrorCode } from "@/lib/errors";
import { findUnstorableText } from "@/lib/ledger/json";
import { describeIssue, searchParamsToObject } from "@/lib/params/registry";
import { performOperation, type Actor, type Operation } from "@/lib/ops/perform";

/**
 * The JSON API's one wrapper: bearer-token (or, for reads, session) authentication, role, query and
 * body validation with zod, a body size limit, and one error shape for every failure:
 * `{ "error": { "code", "message", "field"?, "requestId" } }`.
 */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

export interface ApiContext<Q, B, P> {
  actor: Actor;
  query: Q;
  body: B;
  params: P;
  sql: postgres.Sql;
  requestId: string;
  request: Request;
}

type RouteParams = { params: Promise<Record<string, string | string[]>> };

export function errorResponse(status: number, code: ErrorCode | "UNSUPPORTED_MEDIA_TYPE" | "METHOD_NOT_ALLOWED", message: string, requestId: string, field?: string) {
  return Response.json(
    { error: { code, message, ...(field ? { field } : {}), requestId } },
    { status, headers: { "cache-control": "no-store", "x-request-id": requestId } },
  );
}

async function authenticate(request: Request, allowSession: boolean): Promise<Actor | null> {
  const header = request.headers.get("authorization");
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) return null;
    const token = await authenticateApiToken(getSql(), match[1]);
    return token ? { name: token.name, role: token.role, via: "api" } : null;
  }
  // A browser's cookie is accepted for reads only: writes need a token, so no page elsewhere can
  // make a signed-in browser act through the API.
  if (!allowSession) return null;
  const session = await getSession();
  return session ? { name: session.user.username, role: session.user.role, via: "console" } : null;
}

/** Reads at most `limit` bytes of the body; more is a 413 without reading the rest. */
async function readBody(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit) throw new AppError("PAYLOAD_TOO_LARGE", `the body is larger than ${limit} bytes`);
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new AppError("PAYLOAD_TOO_LARGE", `the body is larger than ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** A 400 naming the first issue's field as `<where>.<path>` (e.g. query.limit). */
export function validationError(error: z.ZodError, where: string, requestId: string) {
  const issue = error.issues[0];
  const field = [where, ...(issue?.path ?? []).map(String)].join(".");
  return errorResponse(400, "VALIDATION", describeIssue(error), requestId, field);
}

export function apiRoute<Q extends z.ZodType = z.ZodUnknown, B extends z.ZodType = z.ZodUnknown, P extends z.ZodType = z.ZodUnknown>(config: {
  role: Role;
  /** Reads accept a signed-in browser's session too, unless false (metrics: for scrapers with a token). */
  sessions?: boolean;
  query?: Q;
  body?: B;
  params?: P;
  maxBodyBytes?: number;
  /**
   * The handler is an operation (apiOperation): performOperation checks the role after validation and
   * audits a refusal, exactly as the console's actions do, so the wrapper does not refuse early.
   */
  roleCheckedByOperation?: boolean;
  handler: (ctx: ApiContext<z.output<Q>, z.output<B>, z.output<P>>) => Promise<Response | object>;
}) {
  // The config rides on the handler so lib/api/openapi.test.ts can hold the document to the schemas the route really uses.
  return Object.assign(async function route(request: Request, routeParams: RouteParams): Promise<Response> {
    const requestId = requestIdOf(request);
    try {
      const actor = await authenticate(request, (request.method === "GET" || request.method === "HEAD") && config.sessions !== false);
      if (!actor) {
        return errorResponse(401, "UNAUTHENTICATED", "Send a valid API token: Authorization: Bearer idem_...", requestId);
      }
      if (!config.roleCheckedByOperation && !hasRole(actor.role, config.role)) {
        return errorResponse(403, "FORBIDDEN", `This token's role (${actor.role}) cannot do this; it needs ${config.role}.`, requestId);
      }
      const query = (config.query ?? z.unknown()).safeParse(searchParamsToObject(new URL(request.url).searchParams));
      if (!query.success) return validationError(query.error, "query", requestId);
      const params = (config.params ?? z.unknown()).safeParse(await routeParams.params);
      if (!params.success) return errorResponse(404, "NOT_FOUND", "No such resource.", requestId);

      let body: unknown = undefined;
      if (config.body) {
        if (!(request.headers.get("content-type") ?? "").toLowerCase().startsWith("application/json")) {
          return errorResponse(415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json.", requestId);
        }
        const text = await readBody(request, config.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          return errorResponse(400, "VALIDATION", "The body is not valid JSON.", requestId, "body");
        }
        const unstorable = findUnstorableText(json, ["body"]);
        if (unstorable) return errorResponse(400, "VALIDATION", `${unstorable.path}: ${unstorable.message}`, requestId, unstorable.path);
        const parsed = config.body.safeParse(json);
        if (!parsed.success) return validationError(parsed.error, "body", requestId);
        body = parsed.data;
      }

      const result = await config.handler({
        actor,
        query: query.data as z.output<Q>,
        body: body as z.output<B>,
        params: params.data as z.output<P>,
        sql: getSql(),
        requestId,
        request,
      });
      return result instanceof Response ? result : Response.json(result, { headers: { "cache-control": "no-store", "x-request-id": requestId } });
    } catch (error) {
      if (isAppError(error) && error.code !== "INTERNAL") return errorResponse(error.status, error.code, error.message, requestId);
      console.error(`[idem] API ${request.method} ${new URL(request.url).pathname} failed (request ${requestId})`, error);
      if (isConnectionError(error)) return errorResponse(503, "UNAVAILABLE", "Postgres is unreachable; try again shortly.", requestId);
      return errorResponse(500, "INTERNAL", `Something went wrong (request ${requestId}); the server log has the details.`, requestId);
    }
  }, { config: { role: config.role, query: config.query, body: config.body } });
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && ["ECONNREFUSED", "ECONNRESET", "CONNECT_TIMEOUT", "CONNECTION_CLOSED", "CONNECTION_ENDED", "57P01", "57P03"].includes(code);
}

/**
 * A write route that is one operation: validated with `body` and `params`, then performOperation with
 * `input(ctx)`: role check, compare-and-set and one audit row, a viewer token's refusal included (as
 * "refused", like the console's), which an early 403 in the wrapper would leave out of the audit log.
 */
export function apiOperation<S extends z.ZodType, B extends z.ZodType = z.ZodUnknown, P extends z.ZodType = z.ZodUnknown>(config: {
  operation: Operation<S>;
  body: B;
  params?: P;
  maxBodyBytes?: number;
  input: (ctx: { body: z.output<B>; params: z.output<P> }) => z.output<S>;
}) {
  return apiRoute({
    role: config.operation.role,
    body: config.body,
    params: config.params,
    maxBodyBytes: config.maxBodyBytes,
    roleCheckedByOperation: true,
    handler: (ctx) => operationResponse(config.operation, config.input(ctx), ctx as ApiContext<unknown, unknown, unknown>),
  });
}

/** An operator action over the API: the same Operation the console's server action runs, audited the same way. */
function operationResponse<S extends z.ZodType>(operation: Operation<S>, input: z.output<S>, ctx: ApiContext<unknown, unknown, unknown>) {
  return performOperation(operation, input, { actor: ctx.actor, requestId: ctx.requestId, sql: ctx.sql }).then((performed) => {
    if (performed.ok) {
      return Response.json(
        { ok: true, message: performed.message, repeated: performed.repeated, data: performed.data ?? null },
        { headers: { "cache-control": "no-store", "x-request-id": ctx.requestId } },
      );
    }
    const code = (performed.code in errorCodes ? performed.code : "INTERNAL") as ErrorCode;
    const status = performed.kind === "forbidden" ? 403 : performed.kind === "error" ? 500 : code === "INTERNAL" || code === "CONFLICT" ? 409 : errorCodes[code];
    return errorResponse(status, code, performed.message, ctx.requestId);
  });
}

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] as const;
type Method = (typeof METHODS)[number];
type PlainHandler = (request: Request) => Response;

function requestIdOf(request: Request): string {
  return request.headers.get("x-request-id")?.match(/^[A-Za-z0-9_-]{8,100}$/)?.[0] ?? randomUUID();
}

/**
 * Handlers for the methods a route does not take, so they get the API's error body and an Allow
 * header instead of Next's empty 405: `export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");`
 */
export function otherMethods(...allowed: Method[]): Record<Method, PlainHandler> {
  // HEAD is answered wherever GET is (Next derives it); OPTIONS is Next's own, with the same Allow.
  const allow = [...new Set<string>([...allowed, ...(allowed.includes("GET") ? ["HEAD"] : []), "OPTIONS"])].join(", ");
  const refuse: PlainHandler = (request) => {
    const response = errorResponse(405, "METHOD_NOT_ALLOWED", `${request.method} is not allowed here; use ${allowed.join(" or ")}.`, requestIdOf(request));
    response.headers.set("allow", allow);
    return response;
  };
  return Object.fromEntries(METHODS.map((method) => [method, refuse])) as Record<Method, PlainHandler>;
}

/** Every method of a path that is no route: the API's 404 body rather than the console's HTML page. */
export function unknownPath(request: Request): Response {
  return errorResponse(404, "NOT_FOUND", `No such API path: ${new URL(request.url).pathname.slice(0, 200)}. The routes are listed in /api/v1/openapi.json.`, requestIdOf(request));
}
