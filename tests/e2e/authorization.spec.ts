import { randomUUID } from "node:crypto";
import { ACTION_BODY_MAX_BYTES } from "@/lib/auth/action-request";
import type { APIRequestContext, APIResponse } from "@playwright/test";
import postgres from "postgres";
import { createRedis } from "@/lib/redis";
import { actionCases, actionExportsOnDisk, actionsTestedApart, captureCase, captureSignIn, captureSignOut, issueTokens, routesOnDisk, serverActionSource, type Seeds } from "./action-cases";
import { clientFor, clientsForAll, multipartBody, postChunked, refusal, replayAction, withFields, type Who } from "./action-replay";
import { expect, state, test } from "./fixtures";
import { e2eLedger, uniqueTask } from "./ops-seed";
import { E2E_ACCOUNTS, type E2ERole } from "./state";

/**
 * Nobody acts without the right: every page, route handler and server action, as anonymous, viewer,
 * operator and admin (and, for the API, with a bearer token of each role), with the exact outcome
 * each must get. The tables are the list of what exists: a test below compares them with app/, so a
 * new page or route handler fails here until it is given a line.
 */
const sql = postgres(state.databaseUrl, { max: 4, onnotice: () => undefined });
const redis = createRedis(state.redisUrl, { name: "idem-e2e-authz" });
const seeds: Seeds = { sql, redis, ledger: e2eLedger(sql, "e2e-authz-worker"), task: uniqueTask("authz") };

const ROLES: E2ERole[] = ["viewer", "operator", "admin"];
const WHO: Who[] = ["anonymous", ...ROLES];
const rank: Record<Who, number> = { anonymous: -1, viewer: 0, operator: 1, admin: 2 };

let clients: Awaited<ReturnType<typeof clientsForAll>>;
let tokens: Record<E2ERole, { token: string; name: string }>;
/** A succeeded run: readable by all, and every write aimed at it is refused by its compare-and-set (409). */
let runId = 0;

test.beforeAll(async ({ browser }) => {
  clients = await clientsForAll();
  tokens = await issueTokens(browser, state.baseURL, clients.admin, { viewer: "viewer", operator: "operator", admin: "admin" });
  const done = await seeds.ledger.runOnce({ task: seeds.task, key: `walk-${randomUUID()}`, payload: { walk: true } }, () => ({ ok: true }));
  if (done.outcome !== "executed") throw new Error(`seed: expected the run to execute, got ${done.outcome}`);
  runId = done.run.id;
});

test.afterAll(async () => {
  await clients.dispose();
  redis.disconnect();
  await sql.end({ timeout: 5 });
});

// ---------------------------------------------------------------------------------------------------
// Pages

interface PageRule {
  /** The page's route as app/ spells it. */
  route: string;
  path: () => string;
  /** The least role that may open it; "public" pages answer everyone. */
  min: E2ERole | "public";
}

const pages: PageRule[] = [
  { route: "/", path: () => "/?window=7d", min: "viewer" },
  { route: "/runs", path: () => "/runs?status=failed", min: "viewer" },
  { route: "/runs/[id]", path: () => `/runs/${runId}`, min: "viewer" },
  { route: "/duplicates", path: () => "/duplicates", min: "viewer" },
  { route: "/locks", path: () => "/locks", min: "viewer" },
  { route: "/audit", path: () => "/audit", min: "viewer" },
  { route: "/settings/users", path: () => "/settings/users", min: "admin" },
  { route: "/settings/tokens", path: () => "/settings/tokens", min: "admin" },
  { route: "/login", path: () => "/login", min: "public" },
];

type Outcome = { status: number; location?: string; text?: string };

function pageOutcome(rule: PageRule, who: Who): Outcome {
  const target = rule.path();
  if (rule.route === "/login") return who === "anonymous" ? { status: 200, text: "Sign in to the console" } : { status: 307, location: "/" };
  if (rule.min === "public") return { status: 200 };
  if (who === "anonymous") return { status: 307, location: `/login?next=${encodeURIComponent(target)}` };
  if (rank[who] < rank[rule.min]) return { status: 403, text: "Not allowed" };
  return { status: 200 };
}

test("every page answers each role as it must: sign-in redirect, 403 page, or the page", async () => {
  const failures: string[] = [];
  for (const rule of pages) {
    for (const who of WHO) {
      const expected = pageOutcome(rule, who);
      const response = await clients[who].get(rule.path(), { maxRedirects: 0, failOnStatusCode: false });
      const got: Outcome = { status: response.status() };
      const location = response.headers().location;
      if (expected.location !== undefined) got.location = location ? new URL(location, state.baseURL).href.replace(state.baseURL, "") : "(none)";
      const body = await response.text();
      if (expected.text !== undefined) got.text = body.includes(expected.text) ? expected.text : `(no "${expected.text}")`;
      if (JSON.stringify(got) !== JSON.stringify(expected)) failures.push(`${who} GET ${rule.path()}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
    }
  }
  expect(failures).toEqual([]);
});

// ---------------------------------------------------------------------------------------------------
// Route handlers

type Access =
  /** Anyone. */
  | "public"
  /** A token of any role, or a signed-in browser (reads accept the session cookie). */
  | "read"
  /** A token of any role only (metrics: for scrapers). */
  | "token"
  /** A token of the route's role; a session cookie is not enough for a write. */
  | "write"
  /** A signed-in browser only (a console download, not part of the API). */
  | "session"
  /** Single sign-on, which this console does not have configured: 404 for everyone (tests/e2e/sso.spec.ts signs in through it). */
  | "sso"
  /** No such API path (the catch-all): a JSON 404 for everyone, by any method. */
  | "absent";

interface RouteRule {
  route: string;
  method: "GET" | "POST";
  path: () => string;
  access: Access;
  /** For writes: a valid body, aimed where the compare-and-set refuses, so an allowed caller gets 409 and nothing changes. */
  body?: () => unknown;
}

const routes: RouteRule[] = [
  { route: "/api/health", method: "GET", path: () => "/api/health", access: "public" },
  { route: "/api/v1/openapi.json", method: "GET", path: () => "/api/v1/openapi.json", access: "public" },
  { route: "/api/metrics", method: "GET", path: () => "/api/metrics", access: "token" },
  { route: "/api/v1/me", method: "GET", path: () => "/api/v1/me", access: "read" },
  { route: "/api/v1/runs", method: "GET", path: () => "/api/v1/runs?pageSize=5", access: "read" },
  { route: "/api/v1/runs/[id]", method: "GET", path: () => `/api/v1/runs/${runId}`, access: "read" },
  { route: "/api/v1/duplicates", method: "GET", path: () => "/api/v1/duplicates", access: "read" },
  { route: "/api/v1/locks", method: "GET", path: () => "/api/v1/locks", access: "read" },
  {
    route: "/api/v1/runs/[id]/retry",
    method: "POST",
    path: () => `/api/v1/runs/${runId}/retry`,
    access: "write",
    body: () => ({ seenStatus: "failed", seenUpdatedAt: new Date().toISOString(), seenRetries: 0, reason: "authorization walk" }),
  },
  { route: "/api/v1/runs/[id]/cancel", method: "POST", path: () => `/api/v1/runs/${runId}/cancel`, access: "write", body: () => ({ reason: "authorization walk" }) },
  {
    route: "/api/v1/runs/[id]/abandon",
    method: "POST",
    path: () => `/api/v1/runs/${runId}/abandon`,
    access: "write",
    body: () => ({ seenLeaseToken: randomUUID(), reason: "authorization walk" }),
  },
  {
    route: "/api/v1/locks/release",
    method: "POST",
    path: () => "/api/v1/locks/release",
    access: "write",
    body: () => ({ key: `lock:e2e-authz:absent-${randomUUID()}`, value: "nothing", class: "orphaned" }),
  },
  { route: "/runs/export", method: "GET", path: () => "/runs/export?limit=5", access: "session" },
  { route: "/api/auth/oidc/start", method: "GET", path: () => "/api/auth/oidc/start?next=/", access: "sso" },
  { route: "/api/auth/oidc/callback", method: "GET", path: () => "/api/auth/oidc/callback?code=x&state=y", access: "sso" },
  { route: "/api/[...rest]", method: "GET", path: () => "/api/v1/no-such-route", access: "absent" },
  { route: "/api/[...rest]", method: "POST", path: () => "/api/v1/runs/1/no-such-action", access: "absent", body: () => ({}) },
];

type Credential = { label: string; who: Who; token: E2ERole | null };
const credentials: Credential[] = [
  { label: "anonymous", who: "anonymous", token: null },
  ...ROLES.map((role) => ({ label: `${role} session`, who: role, token: null })),
  ...ROLES.map((role) => ({ label: `${role} token`, who: "anonymous" as Who, token: role })),
];

type RouteOutcome = { status: number; code?: string };

function routeOutcome(rule: RouteRule, credential: Credential): RouteOutcome {
  const anonymous = credential.who === "anonymous" && credential.token === null;
  switch (rule.access) {
    case "public":
      return { status: 200 };
    case "read":
      return anonymous ? { status: 401, code: "UNAUTHENTICATED" } : { status: 200 };
    case "token":
      return credential.token === null ? { status: 401, code: "UNAUTHENTICATED" } : { status: 200 };
    case "session":
      return credential.token === null && !anonymous ? { status: 200 } : { status: 401, code: "UNAUTHENTICATED" };
    case "sso":
    case "absent":
      return { status: 404, code: "NOT_FOUND" };
    case "write":
      if (credential.token === null) return { status: 401, code: "UNAUTHENTICATED" };
      if (credential.token === "viewer") return { status: 403, code: "FORBIDDEN" };
      return { status: 409, code: "CONFLICT" };
  }
}

async function call(rule: RouteRule, credential: Credential): Promise<APIResponse> {
  const client: APIRequestContext = clients[credential.who];
  const headers: Record<string, string> = credential.token ? { authorization: `Bearer ${tokens[credential.token].token}` } : {};
  if (rule.method === "GET") return client.get(rule.path(), { headers, maxRedirects: 0, failOnStatusCode: false });
  return client.post(rule.path(), { headers, data: rule.body?.() ?? {}, maxRedirects: 0, failOnStatusCode: false });
}

test("every route handler answers each session and token as it must, with the API's error shape", async () => {
  const failures: string[] = [];
  for (const rule of routes) {
    for (const credential of credentials) {
      const expected = routeOutcome(rule, credential);
      const response = await call(rule, credential);
      const got: RouteOutcome = { status: response.status() };
      if (response.status() >= 400) {
        const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string; requestId?: string } | string } | null;
        // Every route handler, the console's export included, answers failures in the API's error shape.
        const error = typeof body?.error === "object" ? body.error : null;
        if (!error?.message || !error.requestId) failures.push(`${credential.label} ${rule.method} ${rule.path()}: no error shape in ${JSON.stringify(body)}`);
        if (expected.code) got.code = error?.code;
      }
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        failures.push(`${credential.label} ${rule.method} ${rule.path()}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
      }
    }
  }
  expect(failures).toEqual([]);
  // The writes above were all refused: the run is as it was, with no retry.
  const [run] = await sql<{ status: string; children: number }[]>`
    SELECT status::text, (SELECT count(*)::int FROM idem.task_runs c WHERE c.retry_of = r.id) AS children FROM idem.task_runs r WHERE id = ${runId}`;
  expect(run).toEqual({ status: "succeeded", children: 0 });
});

test("the tables above list every page and route handler in app/", () => {
  expect(routesOnDisk("page.tsx")).toEqual([...new Set(pages.map((p) => p.route))].sort());
  expect(routesOnDisk("route.ts")).toEqual([...new Set(routes.map((r) => r.route))].sort());
});

test("every exported server action has a case in actionCases, or a test of its own", () => {
  expect(actionExportsOnDisk()).toEqual([...actionCases.map((c) => c.source), ...Object.keys(actionsTestedApart)].sort());
});

// ---------------------------------------------------------------------------------------------------
// Server actions

async function auditRows(requestIdValue: string) {
  return sql<{ actor: string; actor_role: string; outcome: string; why: string | null }[]>`
    SELECT actor, actor_role, outcome, outcome_detail->>'why' AS why FROM idem.operator_actions WHERE request_id = ${requestIdValue} ORDER BY id`;
}

const OVER_LIMIT = ACTION_BODY_MAX_BYTES + 100_000;

for (const action of actionCases) {
  test(`${action.name}: refused below ${action.role} and done from ${action.role} up; refused cross-origin, without Origin and oversized`, async ({ browser }) => {
    const captured = await captureCase(browser, state.baseURL, action, seeds);
    // The case drives the export it claims: the captured action id is that export's in the build.
    expect(serverActionSource(captured.headers["next-action"] ?? "")).toBe(action.source);

    for (const who of WHO) {
      const target = await action.target(seeds);
      const result = await replayAction(clients[who], captured, { fields: target.fields });
      const requestIdValue = target.fields.requestId as string;
      if (rank[who] >= rank[action.role]) {
        expect(result.state, `${who}: ${result.text.slice(0, 300)}`).toMatchObject({ ok: true });
        expect(await target.effect(), who).not.toBeNull();
        expect(await auditRows(requestIdValue)).toEqual([{ actor: E2E_ACCOUNTS[who as E2ERole].username, actor_role: who, outcome: "done", why: null }]);
        continue;
      }
      expect(result.status, who).toBe(200);
      expect(await target.effect(), who).toBeNull();
      if (who === "anonymous") {
        expect(refusal(result)).toContain("session has expired");
        expect(await auditRows(requestIdValue)).toEqual([]);
      } else {
        expect(refusal(result)).toBe(`Your role (${who}) cannot do this; it needs ${action.role}.`);
        // A refused attempt by a signed-in user is audited, and says why.
        expect(await auditRows(requestIdValue)).toEqual([{ actor: E2E_ACCOUNTS[who].username, actor_role: who, outcome: "refused", why: "forbidden" }]);
      }
    }

    // The right role, from elsewhere: a foreign Origin, none, the opaque "null", or a body over the limit.
    const allowed = clients[action.role];
    const attempts: Array<{ label: string; status: number; send: (fields: Record<string, string | string[]>) => Promise<{ status: number; text: string }> }> = [
      { label: "foreign Origin", status: 403, send: (fields) => replayAction(allowed, captured, { fields, origin: "https://evil.example" }) },
      { label: "no Origin", status: 403, send: (fields) => replayAction(allowed, captured, { fields, origin: null }) },
      { label: "Origin null", status: 403, send: (fields) => replayAction(allowed, captured, { fields, origin: "null" }) },
      {
        label: "Origin on another port",
        status: 403,
        send: (fields) => replayAction(allowed, captured, { fields, origin: state.baseURL.replace(/:(\d+)$/, (_m, port: string) => `:${Number(port) + 1}`) }),
      },
      { label: "body over the limit", status: 413, send: (fields) => replayAction(allowed, captured, { fields: { ...fields, padding: "x".repeat(OVER_LIMIT) } }) },
      {
        label: "chunked body over the limit (no Content-Length)",
        status: 413,
        send: async (fields) => {
          const { body, contentType } = multipartBody(withFields(captured, { ...fields, padding: "x".repeat(OVER_LIMIT) }));
          const cookies = (await allowed.storageState()).cookies.map((c) => `${c.name}=${c.value}`).join("; ");
          return postChunked(captured.url, { ...captured.headers, "content-type": contentType, origin: state.baseURL, cookie: cookies }, body);
        },
      },
    ];
    for (const attempt of attempts) {
      const target = await action.target(seeds);
      const result = await attempt.send(target.fields);
      expect(result.status, `${attempt.label}: ${result.text.slice(0, 200)}`).toBe(attempt.status);
      expect(await target.effect(), attempt.label).toBeNull();
      expect(await auditRows(target.fields.requestId as string), attempt.label).toEqual([]);
    }
    expect((await clients.anonymous.get("/api/health")).status()).toBe(200);
  });
}

test("a request id another user's refused attempt used does not block the right role's request", async ({ browser }) => {
  const cancel = actionCases.find((c) => c.name === "run.cancel")!;
  const captured = await captureCase(browser, state.baseURL, cancel, seeds);
  const target = await cancel.target(seeds);
  const refused = await replayAction(clients.viewer, captured, { fields: target.fields });
  expect(refusal(refused)).toContain("Your role (viewer) cannot do this");
  const done = await replayAction(clients.operator, captured, { fields: target.fields });
  expect(done.state).toMatchObject({ ok: true });
  expect(await target.effect()).toBe("now cancelled");
});

// ---------------------------------------------------------------------------------------------------
// Sign-in and sign-out: not defineAction (no session to check), but the same origin rule.

test("sign-in and sign-out refuse a foreign Origin and a missing one, and change nothing", async ({ browser }) => {
  const signIn = await captureSignIn(browser, state.baseURL);
  const viewer = E2E_ACCOUNTS.viewer;
  const counts = async () => {
    const [row] = await sql<{ sessions: number; attempts: number }[]>`
      SELECT (SELECT count(*)::int FROM idem.sessions s JOIN idem.users u ON u.id = s.user_id WHERE u.username = ${viewer.username}) AS sessions,
             (SELECT count(*)::int FROM idem.login_attempts WHERE username = ${viewer.username}) AS attempts`;
    return row!;
  };

  const before = await counts();
  for (const origin of ["https://evil.example", null, "null"]) {
    const anonymous = await clientFor("anonymous");
    const result = await replayAction(anonymous, signIn, { fields: { username: viewer.username, password: viewer.password }, origin });
    expect(result.status, `Origin ${origin}`).toBe(403);
    expect((await anonymous.storageState()).cookies, `Origin ${origin}`).toEqual([]);
    await anonymous.dispose();
  }
  expect(await counts()).toEqual(before);

  // A session of its own to sign out of (signing out the shared viewer would sign out every other test).
  const own = await clientFor("anonymous");
  const signedIn = await replayAction(own, signIn, { fields: { username: viewer.username, password: viewer.password } });
  expect(signedIn.redirect).toMatch(/^\/(;|$)/);
  expect((await own.get("/api/v1/me")).status()).toBe(200);

  const signOut = await captureSignOut(browser, state.baseURL);
  for (const origin of ["https://evil.example", null]) {
    const result = await replayAction(own, signOut, { origin });
    expect(result.status, `sign-out with Origin ${origin}`).toBe(403);
    expect((await own.get("/api/v1/me")).status(), `still signed in after Origin ${origin}`).toBe(200);
  }
  const out = await replayAction(own, signOut);
  expect(out.redirect).toMatch(/^\/login/);
  await own.dispose();
});

// ---------------------------------------------------------------------------------------------------
// Security headers

/** The directives of a Content-Security-Policy header, by name. */
function cspDirectives(header: string): Map<string, string[]> {
  return new Map(
    header
      .split(";")
      .map((part) => part.trim().split(/\s+/))
      .filter((tokens): tokens is [string, ...string[]] => tokens[0] !== undefined && tokens[0] !== "")
      .map(([name, ...values]) => [name.toLowerCase(), values]),
  );
}

test("every page response carries the CSP with a per-request script nonce, frame-ancestors 'none' and the other security headers", async () => {
  const responses: Array<{ label: string; who: Who; path: string; status: number }> = [
    ...pages.filter((p) => p.route !== "/login").map((p) => ({ label: p.route, who: "admin" as Who, path: p.path(), status: 200 })),
    { label: "sign-in", who: "anonymous", path: "/login", status: 200 },
    { label: "sign-in redirect", who: "anonymous", path: "/runs", status: 307 },
    { label: "403 page", who: "viewer", path: "/settings/tokens", status: 403 },
    { label: "404 page", who: "viewer", path: "/runs/999999999999", status: 404 },
    { label: "400 page", who: "viewer", path: "/runs?pageSize=0", status: 400 },
    { label: "API JSON", who: "viewer", path: "/api/v1/me", status: 200 },
  ];
  const nonces = new Set<string>();
  const failures: string[] = [];
  for (const { label, who, path: target, status } of responses) {
    const response = await clients[who].get(target, { maxRedirects: 0, failOnStatusCode: false });
    const headers = response.headers();
    const problem = (text: string) => failures.push(`${label} (${target}): ${text}`);
    if (response.status() !== status) problem(`status ${response.status()}, expected ${status}`);
    const csp = cspDirectives(headers["content-security-policy"] ?? "");
    const scriptSrc = csp.get("script-src") ?? [];
    const nonce = scriptSrc.find((value) => /^'nonce-[A-Za-z0-9+/=]{16,}'$/.test(value))?.slice(7, -1);
    if (!nonce) problem(`script-src has no nonce: ${scriptSrc.join(" ")}`);
    else nonces.add(nonce);
    if (scriptSrc.some((value) => value === "'unsafe-inline'" || value === "*" || value.startsWith("http"))) problem(`script-src allows too much: ${scriptSrc.join(" ")}`);
    if ((csp.get("default-src") ?? []).join(" ") !== "'self'") problem("default-src is not 'self'");
    if ((csp.get("frame-ancestors") ?? []).join(" ") !== "'none'") problem("frame-ancestors is not 'none'");
    if ((csp.get("object-src") ?? []).join(" ") !== "'none'") problem("object-src is not 'none'");
    if ((csp.get("base-uri") ?? []).join(" ") !== "'self'") problem("base-uri is not 'self'");
    if (headers["x-frame-options"] !== "DENY") problem(`X-Frame-Options ${headers["x-frame-options"]}`);
    if (headers["x-content-type-options"] !== "nosniff") problem(`X-Content-Type-Options ${headers["x-content-type-options"]}`);
    if (!["same-origin", "strict-origin", "no-referrer", "strict-origin-when-cross-origin"].includes(headers["referrer-policy"] ?? "")) {
      problem(`Referrer-Policy ${headers["referrer-policy"]}`);
    }
    // Every script the page itself carries has the nonce, so the browser runs it; nothing else would run.
    if (nonce && (headers["content-type"] ?? "").startsWith("text/html")) {
      const html = await response.text();
      const scripts = html.match(/<script\b[^>]*>/g) ?? [];
      const without = scripts.filter((tag) => !tag.includes(`nonce="${nonce}"`));
      if (without.length) problem(`${without.length} of ${scripts.length} <script> tags without the nonce, e.g. ${without[0]}`);
    }
  }
  expect(failures).toEqual([]);
  expect(nonces.size).toBe(responses.length);
});
