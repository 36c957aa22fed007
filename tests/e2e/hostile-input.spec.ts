import { randomBytes, randomUUID } from "node:crypto";
import type { APIResponse, Page } from "@playwright/test";
import postgres from "postgres";
import { hashPassword } from "@/lib/auth/password";
import { createLedger, PayloadMismatchError } from "@/lib/ledger";
import { createRedis } from "@/lib/redis";
import { actionCases, captureCase, captureSignIn, captureSignOut, issueTokens, routesOnDisk, type Seeds } from "./action-cases";
import { clientFor, clientsForAll, multipartBody, postChunked, refusal, replayAction, withFields, type ReplayResult } from "./action-replay";
import { attachScreenshot, expect, state, test } from "./fixtures";
import { E2E_ACCOUNTS } from "./state";
import { e2eLedger, failedRun, pendingRun, uniqueTask } from "./ops-seed";
import { escapeInvisible } from "@/components/ui/invisible";

/**
 * Bad input never breaks anything: malformed, oversized and hostile input (SQL metacharacters, markup,
 * control and unpaired Unicode, wrong types, missing fields, 10 MB bodies, huge URLs, traversal-looking
 * ids) to every route handler, page and server action, with the right role so that validation is what
 * is exercised. Each gets a clear refusal, never a 500, and nothing is written: a route handler a 4xx
 * in the API's error shape; a server action its `{ ok: false, error }` result (HTTP 200, as React
 * expects) for a bad field, and a 4xx from proxy.ts for a body that is not a form at all. Text in a
 * free-text field (a reason, a token's name) is legitimate whatever it holds, and kept as typed.
 *
 * "Nothing written" means: the targeted run, lock, user or token is as it was; the console created no
 * run, user, token or session; and the audit log gained no `done` and no `error` row. It may gain
 * `refused` rows: an operation refused by its compare-and-set is audited, with the hostile text as sent.
 * The one legitimate write is a token created with a hostile name (a name is free text), shown escaped.
 *
 * Then the other half: runs, duplicates, a lock and audit rows whose text is markup are shown in the
 * browser as text, with no dialog, no injected element and no CSP violation.
 */
const sql = postgres(state.databaseUrl, { max: 6, onnotice: () => undefined });
const redis = createRedis(state.redisUrl, { name: "idem-e2e-hostile" });
const seeds: Seeds = { sql, redis, ledger: e2eLedger(sql, "e2e-hostile-worker"), task: uniqueTask("hostile") };

const SCRIPT = "<script>alert(1)</script>";
const IMG = "<img src=x onerror=alert(1)>";
const RTL = "invoice-\u202Efdp.exe";

/** Text an attacker types into any field. */
const HOSTILE: Array<[string, string]> = [
  ["SQL quote", "' OR 1=1 --"],
  ["SQL drop", '"; DROP TABLE idem.task_runs; --'],
  ["script tag", SCRIPT],
  ["onerror", IMG],
  ["RTL override", RTL],
  ["emoji", "🔥💥✅"],
  ["U+0000", "a\u0000b"],
  ["traversal", "../../../../etc/passwd"],
  ["long", "x".repeat(5000)],
  ["empty", ""],
  ["negative", "-1"],
  ["overflow", "1e309"],
  ["beyond 2^53", "9007199254740993"],
  ["JSON object", '{"$gt":""}'],
  ["JSON unpaired surrogate", '{"note":"\\ud800"}'],
];

let clients: Awaited<ReturnType<typeof clientsForAll>>;
let tokens: Record<"operator" | "viewer", { token: string; name: string }>;
const bearer = () => ({ authorization: `Bearer ${tokens.operator.token}` });

test.beforeAll(async ({ browser }) => {
  clients = await clientsForAll();
  tokens = await issueTokens(browser, state.baseURL, clients.admin, { operator: "operator", viewer: "viewer" });
});

test.afterAll(async () => {
  await clients.dispose();
  redis.disconnect();
  await sql.end({ timeout: 5 });
});

interface Writes {
  consoleRuns: number;
  /** Cancelled runs: only an operator's cancel makes one. */
  cancelledRuns: number;
  users: number;
  /** Role, enabled state and password hash of every account not made through the admin's form, digested. */
  accounts: string;
  tokens: number;
  revokedTokens: number;
  sessions: number;
  auditDone: number;
  auditError: number;
}

/** Counts of everything the console writes (token.create is counted apart: a hostile name is legitimate). */
async function writes(): Promise<Writes> {
  const [row] = await sql<Writes[]>`
    SELECT (SELECT count(*)::int FROM idem.task_runs WHERE source = 'console') AS "consoleRuns",
           (SELECT count(*)::int FROM idem.task_runs WHERE status = 'cancelled') AS "cancelledRuns",
           (SELECT count(*)::int FROM idem.users) AS users,
           (SELECT md5(coalesce(string_agg(id::text || role::text || (disabled_at IS NULL)::text || password_hash, ',' ORDER BY id), ''))
              FROM idem.users WHERE created_by IS DISTINCT FROM ${E2E_ACCOUNTS.admin.username}) AS accounts,
           (SELECT count(*)::int FROM idem.api_tokens) AS tokens,
           (SELECT count(*)::int FROM idem.api_tokens WHERE revoked_at IS NOT NULL) AS "revokedTokens",
           (SELECT count(*)::int FROM idem.sessions) AS sessions,
           (SELECT count(*)::int FROM idem.operator_actions WHERE outcome = 'done' AND action <> 'token.create') AS "auditDone",
           (SELECT count(*)::int FROM idem.operator_actions WHERE outcome = 'error') AS "auditError"`;
  return row!;
}

/** The server still serves, after whatever the test sent. */
test.afterEach(async () => {
  const health = await clients.anonymous.get("/api/health");
  expect(health.status()).toBe(200);
});

async function inBatches<T>(items: T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}

const describeValue = (value: string) => (value.length > 40 ? `${JSON.stringify(value.slice(0, 40))}… (${value.length} chars)` : JSON.stringify(value));

interface ErrorBody {
  error?: { code?: string; message?: string; field?: string; requestId?: string } | string;
}

/** A 4xx in the API's error shape (the console's export answers in it too): the problem, or null. */
async function apiErrorProblem(response: APIResponse, field?: string): Promise<string | null> {
  const body = (await response.json().catch(() => null)) as ErrorBody | null;
  const error = body?.error;
  if (typeof error === "string") return `a bare error string, not the API's shape: ${JSON.stringify(body)?.slice(0, 200)}`;
  if (!error?.code || !error.message || !error.requestId) return `no error shape: ${JSON.stringify(body)?.slice(0, 200)}`;
  if (field !== undefined && error.field !== field) return `field ${error.field}, expected ${field} (${error.message})`;
  return null;
}

// ---------------------------------------------------------------------------------------------------
// Route handlers

const runsParams = ["q", "status", "task", "key", "keyMatch", "worker", "from", "to", "dups", "retry", "sort", "order", "cursor", "pageSize"];
const readEndpoints: Array<{ path: string; params: string[]; session?: boolean }> = [
  { path: "/api/v1/runs", params: runsParams },
  { path: "/api/v1/duplicates", params: ["view", "outcome", "task", "source", "worker", "run", "from", "to", "cursor"] },
  { path: "/api/v1/locks", params: ["class", "pattern", "q"] },
  { path: "/api/v1/me", params: ["unknown"] },
  { path: "/api/metrics", params: ["unknown"] },
  { path: "/api/health", params: ["unknown"] },
  { path: "/api/v1/openapi.json", params: ["unknown"] },
  { path: "/runs/export", params: [...runsParams, "format", "limit"], session: true },
];

/** In a URL everything is text: one value per kind of trouble is enough (an unpaired surrogate cannot be sent). */
const QUERY_HOSTILE = HOSTILE.filter(([label]) => ["SQL quote", "script tag", "RTL override", "U+0000", "long", "empty", "negative", "overflow", "beyond 2^53", "JSON object"].includes(label));

test("route handlers: a hostile query parameter is a 400 naming it, or read as the text it is; never a 500", async () => {
  const failures: string[] = [];
  const cases = readEndpoints.flatMap((endpoint) =>
    endpoint.params.flatMap((param) => [
      ...QUERY_HOSTILE.map(([label, value]) => ({ endpoint, param, label, query: `${param}=${encodeURIComponent(value)}` })),
      { endpoint, param, label: "given twice", query: `${param}=a&${param}=b` },
    ]),
  );
  await inBatches(cases, 8, async ({ endpoint, param, label, query }) => {
    const client = endpoint.session ? clients.operator : clients.anonymous;
    const response = await client.get(`${endpoint.path}?${query}`, { headers: endpoint.session ? {} : bearer(), failOnStatusCode: false });
    const where = `GET ${endpoint.path} ${param} ${label}`;
    if (response.status() === 200) {
      if (endpoint.path.startsWith("/api/v1/") && endpoint.path !== "/api/v1/openapi.json") await response.json().catch(() => failures.push(`${where}: 200 without JSON`));
      return;
    }
    if (response.status() !== 400) return void failures.push(`${where}: ${response.status()} ${(await response.text()).slice(0, 200)}`);
    const problem = await apiErrorProblem(response, endpoint.path.startsWith("/api/") || endpoint.path === "/runs/export" ? `query.${param}` : undefined);
    if (problem) failures.push(`${where}: ${problem}`);
  });
  expect(failures).toEqual([]);
});

test("route handlers: garbage, traversal and out-of-range ids are 404; 100 KB query strings and wrong methods get a 4xx", async () => {
  const failed = await failedRun(seeds.ledger, seeds.task, `ids-${randomUUID()}`, {});
  const ids = ["abc", "-1", "0", "1.5", "1e3", "0x10", "9007199254740993", "99999999999999999999999", "..%2F..%2Fetc%2Fpasswd", "%00", "%27%20OR%201%3D1%20--", "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "%E2%80%AE1", "%F0%9F%94%A5", `${failed}%20`];
  const failures: string[] = [];
  const body = { seenStatus: "failed", seenUpdatedAt: new Date().toISOString(), seenRetries: 0, reason: "x", seenLeaseToken: randomUUID() };
  await inBatches(ids, 4, async (id) => {
    const calls: Array<[string, Promise<APIResponse>]> = [
      [`GET /api/v1/runs/${id}`, clients.anonymous.get(`/api/v1/runs/${id}`, { headers: bearer() })],
      [`POST /api/v1/runs/${id}/retry`, clients.anonymous.post(`/api/v1/runs/${id}/retry`, { headers: bearer(), data: { seenStatus: body.seenStatus, seenUpdatedAt: body.seenUpdatedAt, seenRetries: 0 } })],
      [`POST /api/v1/runs/${id}/cancel`, clients.anonymous.post(`/api/v1/runs/${id}/cancel`, { headers: bearer(), data: { reason: "x" } })],
      [`POST /api/v1/runs/${id}/abandon`, clients.anonymous.post(`/api/v1/runs/${id}/abandon`, { headers: bearer(), data: { seenLeaseToken: body.seenLeaseToken, reason: "x" } })],
      [`GET /runs/${id}`, clients.operator.get(`/runs/${id}`, { failOnStatusCode: false })],
    ];
    for (const [where, call] of calls) {
      const response = await call;
      if (response.status() !== 404) failures.push(`${where}: ${response.status()} ${(await response.text()).slice(0, 150)}`);
      else if (where.includes("/api/")) {
        const problem = await apiErrorProblem(response);
        if (problem) failures.push(`${where}: ${problem}`);
      }
    }
  });

  const huge = `q=${"x".repeat(100 * 1024)}`;
  for (const target of ["/api/v1/runs", "/runs", "/runs/export", "/api/health"]) {
    const response = await clients.operator.get(`${target}?${huge}`, { headers: bearer(), failOnStatusCode: false });
    if (response.status() < 400 || response.status() >= 500) failures.push(`100 KB query on ${target}: ${response.status()}`);
  }
  // A method the route does not take: 405 in the API's error shape, with the methods it does take.
  for (const [method, target, allow] of [
    ["PUT", "/api/v1/runs", "GET, HEAD, OPTIONS"],
    ["DELETE", `/api/v1/runs/${failed}`, "GET, HEAD, OPTIONS"],
    ["PATCH", "/api/v1/locks", "GET, HEAD, OPTIONS"],
    ["GET", "/api/v1/locks/release", "POST, OPTIONS"],
    ["GET", `/api/v1/runs/${failed}/retry`, "POST, OPTIONS"],
    ["DELETE", `/api/v1/runs/${failed}/cancel`, "POST, OPTIONS"],
    ["PUT", `/api/v1/runs/${failed}/abandon`, "POST, OPTIONS"],
    ["POST", "/api/v1/me", "GET, HEAD, OPTIONS"],
    ["POST", "/api/v1/duplicates", "GET, HEAD, OPTIONS"],
    ["DELETE", "/api/v1/openapi.json", "GET, HEAD, OPTIONS"],
    ["POST", "/api/health", "GET, HEAD, OPTIONS"],
    ["DELETE", "/api/metrics", "GET, HEAD, OPTIONS"],
  ] as const) {
    const response = await clients.anonymous.fetch(target, { method, headers: bearer(), failOnStatusCode: false });
    const where = `${method} ${target}`;
    if (response.status() !== 405) failures.push(`${where}: ${response.status()}`);
    else if (response.headers()["allow"] !== allow) failures.push(`${where}: Allow ${response.headers()["allow"]}, expected ${allow}`);
    else {
      const problem = await apiErrorProblem(response);
      if (problem) failures.push(`${where}: ${problem}`);
    }
  }
  // A path that is no route, by any method: a JSON 404 in the same shape, never the console's HTML page.
  for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"]) {
    for (const target of ["/api/v1/nope", "/api/v1/runs/1/nope", "/api/v2/runs", `/api/v1/${encodeURIComponent(SCRIPT)}`]) {
      const response = await clients.anonymous.fetch(target, { method, headers: bearer(), failOnStatusCode: false });
      const where = `${method} ${target}`;
      if (response.status() !== 404) failures.push(`${where}: ${response.status()}`);
      else if (!(response.headers()["content-type"] ?? "").startsWith("application/json")) failures.push(`${where}: ${response.headers()["content-type"]}`);
      else {
        const problem = await apiErrorProblem(response);
        if (problem) failures.push(`${where}: ${problem}`);
      }
    }
  }
  // A hostile request id is not echoed: the answer carries one of the server's own.
  for (const id of [SCRIPT, "x".repeat(5000), "a\u00e9b"]) {
    const response = await clients.anonymous.get(`/api/v1/runs/${failed}`, { headers: { ...bearer(), "x-request-id": encodeURIComponent(id) } });
    expect(response.headers()["x-request-id"] ?? "").toMatch(/^[A-Za-z0-9_-]{8,100}$/);
  }
  expect(failures).toEqual([]);
});

interface WriteEndpoint {
  name: string;
  path: string;
  /** A valid body aimed where the compare-and-set refuses (409), so even a body that passes changes nothing. */
  body: Record<string, unknown>;
  /** The target is as it was. */
  unchanged: () => Promise<boolean>;
}

test("route handlers: malformed, oversized, mistyped and hostile bodies are 400, 413 or 415, or refused 409; nothing changes", async () => {
  const before = await writes();
  const failed = await failedRun(seeds.ledger, seeds.task, `bodies-${randomUUID()}`, { to: "ana@example.com" });
  const pending = await pendingRun(seeds.ledger, seeds.task, `bodies-${randomUUID()}`);
  const claim = await seeds.ledger.claimRun({ task: seeds.task, key: `bodies-${randomUUID()}`, payload: {}, leaseMs: 600_000 });
  if (claim.outcome !== "claimed") throw new Error("seed: expected a claim");
  await sql`UPDATE idem.task_runs SET lease_expires_at = now() - interval '1 minute' WHERE id = ${claim.run.id}`;
  const lockKey = `lock:e2e-hostile:${randomBytes(4).toString("hex")}`;
  const lockValue = `owner-${randomUUID()}`;
  await redis.set(lockKey, lockValue, "PX", 600_000);
  const status = async (id: number) => (await sql<{ status: string }[]>`SELECT status::text FROM idem.task_runs WHERE id = ${id}`)[0]?.status;
  const children = async (id: number) => (await sql`SELECT 1 FROM idem.task_runs WHERE retry_of = ${id}`).length;

  const endpoints: WriteEndpoint[] = [
    {
      name: "retry",
      path: `/api/v1/runs/${failed}/retry`,
      body: { seenStatus: "failed", seenUpdatedAt: "2001-01-01T00:00:00.000Z", seenRetries: 0, reason: "r", payload: { to: "x" } },
      unchanged: async () => (await children(failed)) === 0,
    },
    { name: "cancel", path: `/api/v1/runs/${failed}/cancel`, body: { reason: "r" }, unchanged: async () => (await status(pending)) === "pending" && (await status(failed)) === "failed" },
    {
      name: "abandon",
      path: `/api/v1/runs/${claim.run.id}/abandon`,
      body: { seenLeaseToken: randomUUID(), reason: "r" },
      unchanged: async () => (await status(claim.run.id)) === "running",
    },
    {
      name: "lock release",
      path: "/api/v1/locks/release",
      body: { key: lockKey, value: "not-the-value", class: "orphaned", reason: "r" },
      unchanged: async () => (await redis.get(lockKey)) === lockValue,
    },
  ];

  const failures: string[] = [];
  const wrongTypes: Array<[string, unknown]> = [
    ["number", 42],
    ["string", "text"],
    ["array", ["a"]],
    ["object", { nested: SCRIPT }],
    ["null", null],
    ["boolean", true],
  ];
  const tenMb = `{"reason":"${"x".repeat(10 * 1024 * 1024)}"}`;
  for (const endpoint of endpoints) {
    type Variant = { label: string; data: string | Buffer; type?: string; expect: number[] };
    const json = (value: unknown) => JSON.stringify(value);
    const variants: Variant[] = [
      { label: "malformed JSON", data: '{"reason": ', expect: [400] },
      { label: "empty body", data: "", expect: [400] },
      { label: "trailing garbage", data: `${json(endpoint.body)}garbage`, expect: [400] },
      ...["null", "[]", '"text"', "42", "true"].map((data) => ({ label: `body ${data}`, data, expect: [400] })),
      { label: "text/plain", data: json(endpoint.body), type: "text/plain", expect: [415] },
      { label: "form-urlencoded", data: "reason=x", type: "application/x-www-form-urlencoded", expect: [415] },
      { label: "multipart", data: "--b\r\n\r\n--b--", type: "multipart/form-data; boundary=b", expect: [415] },
      { label: "10 MB", data: tenMb, expect: [413] },
      { label: "unknown field", data: json({ ...endpoint.body, extra: SCRIPT }), expect: [400] },
      { label: "__proto__", data: `{"__proto__":{"role":"admin"},${json(endpoint.body).slice(1)}`, expect: [400] },
      { label: "unpaired surrogate", data: json(endpoint.body).replace(/"r"/, '"\\ud800"').replace(/"not-the-value"/, '"\\udfff"'), expect: [400, 409] },
      { label: "payload with an unpaired surrogate", data: json({ ...endpoint.body, payload: { note: "\ud800" } }), expect: [400, 409] },
      { label: "payload with U+0000", data: json({ ...endpoint.body, payload: { note: "\u0000" } }), expect: [400, 409] },
      { label: "nested 20,000 deep", data: `{"reason":${"[".repeat(20_000)}${"]".repeat(20_000)}}`, expect: [400] },
    ];
    for (const field of Object.keys(endpoint.body)) {
      for (const [label, value] of wrongTypes) variants.push({ label: `${field} as ${label}`, data: json({ ...endpoint.body, [field]: value }), expect: [400, 409] });
      for (const [label, value] of HOSTILE) variants.push({ label: `${field} ${label}`, data: json({ ...endpoint.body, [field]: value }), expect: [400, 409] });
      const { [field]: _missing, ...rest } = endpoint.body;
      variants.push({ label: `${field} missing`, data: json(rest), expect: [400, 409] });
    }
    await inBatches(variants, 6, async (variant) => {
      const response = await clients.anonymous.post(endpoint.path, {
        headers: { ...bearer(), "content-type": variant.type ?? "application/json" },
        data: variant.data,
        failOnStatusCode: false,
      });
      const where = `POST ${endpoint.name} ${variant.label}`;
      if (!variant.expect.includes(response.status())) return void failures.push(`${where}: ${response.status()} ${(await response.text()).slice(0, 200)}`);
      const problem = await apiErrorProblem(response);
      if (problem) failures.push(`${where}: ${problem}`);
    });
    // One more 10 MB, without a Content-Length to trust.
    const chunked = await postChunked(`${state.baseURL}${endpoint.path}`, { ...bearer(), "content-type": "application/json" }, Buffer.from(tenMb));
    if (chunked.status !== 413) failures.push(`POST ${endpoint.name} 10 MB chunked: ${chunked.status}`);
    if (!(await endpoint.unchanged())) failures.push(`${endpoint.name}: the target changed`);
  }
  expect(failures).toEqual([]);
  expect(await writes()).toEqual(before);
});

// ---------------------------------------------------------------------------------------------------
// Pages

const pageParams: Array<{ path: string; params: string[] }> = [
  { path: "/", params: ["window", "refresh"] },
  { path: "/runs", params: runsParams },
  { path: "/duplicates", params: ["view", "outcome", "task", "source", "worker", "run", "from", "to", "cursor"] },
  { path: "/locks", params: ["class", "pattern", "q"] },
  { path: "/audit", params: ["actor", "action", "outcome", "from", "to", "cursor", "pageSize"] },
  { path: "/settings/users", params: ["unknown"] },
  { path: "/settings/tokens", params: ["unknown"] },
];
const PAGE_HOSTILE = HOSTILE.filter(([label]) => ["SQL quote", "script tag", "onerror", "RTL override", "U+0000", "long"].includes(label));

test("pages: a hostile query parameter is a 400 page naming it, or shown escaped; never a 500", async () => {
  const failures: string[] = [];
  const cases = pageParams.flatMap(({ path, params }) =>
    params.flatMap((param) => [
      ...PAGE_HOSTILE.map(([label, value]) => ({ path, param, label, query: `${param}=${encodeURIComponent(value)}` })),
      { path, param, label: "given twice", query: `${param}=a&${param}=b` },
    ]),
  );
  await inBatches(cases, 4, async ({ path, param, label, query }) => {
    const response = await clients.admin.get(`${path}?${query}`, { failOnStatusCode: false, maxRedirects: 0 });
    const where = `GET ${path} ${param} ${label}`;
    const html = await response.text();
    if (![200, 400].includes(response.status())) failures.push(`${where}: ${response.status()} ${html.slice(0, 200)}`);
    if (response.status() === 400 && !html.includes(`${param}:`)) failures.push(`${where}: the 400 page does not name ${param}`);
    if (html.includes(SCRIPT) || html.includes(IMG)) failures.push(`${where}: markup from the URL is in the HTML unescaped`);
    if (/Application error|digest/i.test(html) && response.status() === 200) failures.push(`${where}: an error boundary rendered`);
  });
  expect(failures).toEqual([]);
});

// ---------------------------------------------------------------------------------------------------
// Server actions

const FIELD_HOSTILE: Array<[string, string | string[] | null]> = [...HOSTILE, ["given twice", ["a", "b"]], ["missing", null]];

for (const action of actionCases) {
  test(`server action ${action.name}: hostile fields are refused with a clear message; 10 MB, malformed and mistyped bodies are a 4xx; nothing changes`, async ({ browser }) => {
    const who = action.role;
    const client = clients[who];
    const captured = await captureCase(browser, state.baseURL, action, seeds);
    const target = await action.target(seeds);
    const refusable = await action.refusable(seeds);
    const before = await writes();
    const fields = [...new Set([...Object.keys(target.fields), ...Object.keys(refusable)])];
    const failures: string[] = [];
    const created: string[] = [];

    const variants = fields.flatMap((field) => FIELD_HOSTILE.map(([label, value]) => ({ field, label, value })));
    await inBatches(variants, 8, async ({ field, label, value }) => {
      // Free text (a reason, a name, the request id) is legitimate whatever it holds: sent with fields the
      // operation refuses, it reaches the audit log as typed. Anything else is sent at the live target.
      const free = action.textFields.includes(field) || field === "requestId";
      const base = free ? { ...target.fields, ...refusable } : target.fields;
      const requestId = field === "requestId" ? value : randomUUID();
      const result: ReplayResult = await replayAction(client, captured, { fields: { ...base, requestId, [field]: value } });
      const where = `${field} ${label} ${Array.isArray(value) ? JSON.stringify(value) : value === null ? "" : describeValue(value)}`;
      if (result.status !== 200 || result.state === undefined || result.state === null) {
        return void failures.push(`${where}: ${result.status} ${result.text.slice(0, 200)}`);
      }
      if (result.state.ok) {
        if (typeof value === "string" && action.accepts?.(field, value)) return void created.push(value);
        return void failures.push(`${where}: done (${result.state.message})`);
      }
      const message = refusal(result);
      if (message.length < 8 || /something went wrong|cannot reach postgres|unreachable/i.test(message)) failures.push(`${where}: unclear refusal "${message}"`);
      // A reason that got through validation is stored exactly as typed (trimmed).
      if (field === "reason" && typeof value === "string" && typeof requestId === "string") {
        const [row] = await sql<{ reason: string | null }[]>`SELECT reason FROM idem.operator_actions WHERE request_id = ${requestId}`;
        if (row && row.reason !== (value.trim() || null)) failures.push(`${where}: audited reason ${describeValue(row.reason ?? "null")}`);
      }
    });
    if (await target.effect()) failures.push(`the live target changed: ${await target.effect()}`);

    // Bodies that are not the form at all.
    const entries = withFields(captured, { ...target.fields, requestId: randomUUID() });
    const transport: Array<{ label: string; status: number; send: () => Promise<{ status: number; text: string }> }> = [
      { label: "10 MB", status: 413, send: () => replayAction(client, captured, { fields: { ...target.fields, requestId: randomUUID(), padding: "x".repeat(10 * 1024 * 1024) } }) },
      { label: "malformed multipart", status: 400, send: () => replayAction(client, captured, { raw: { body: "--zzz\r\ngarbage", contentType: "multipart/form-data; boundary=zzz" } }) },
      { label: "multipart without the arguments row", status: 400, send: () => replayAction(client, captured, { raw: multipartBody(entries.filter(([name]) => name !== "0")) }) },
      { label: "arguments row not JSON", status: 400, send: () => replayAction(client, captured, { raw: multipartBody(entries.map(([name, v]) => [name, name === "0" ? "[null,$K1" : v])) }) },
      { label: "JSON", status: 415, send: () => replayAction(client, captured, { raw: { body: JSON.stringify(Object.fromEntries(entries)), contentType: "application/json" } }) },
      { label: "text not JSON", status: 400, send: () => replayAction(client, captured, { raw: { body: "runId=1", contentType: "text/plain;charset=UTF-8" } }) },
      { label: "no body", status: 400, send: () => replayAction(client, captured, { raw: { body: "", contentType: "text/plain;charset=UTF-8" } }) },
      { label: "unknown action id", status: 404, send: () => replayAction(client, captured, { headers: { "next-action": "00".repeat(21) } }) },
      {
        label: "100 KB URL",
        status: 431,
        send: () => replayAction(client, { ...captured, url: `${captured.url}${captured.url.includes("?") ? "&" : "?"}q=${"x".repeat(100 * 1024)}` }, { fields: { ...target.fields, requestId: randomUUID() } }),
      },
    ];
    for (const attempt of transport) {
      const result = await attempt.send();
      const acceptable = attempt.label === "unknown action id" ? result.status >= 400 && result.status < 500 : result.status === attempt.status;
      if (!acceptable) failures.push(`${attempt.label}: ${result.status} ${result.text.slice(0, 200)}`);
    }
    const chunked = multipartBody(withFields(captured, { ...target.fields, requestId: randomUUID(), padding: "x".repeat(10 * 1024 * 1024) }));
    const cookies = (await client.storageState()).cookies.map((c) => `${c.name}=${c.value}`).join("; ");
    const streamed = await postChunked(captured.url, { ...captured.headers, "content-type": chunked.contentType, origin: state.baseURL, cookie: cookies }, chunked.body);
    if (streamed.status !== 413) failures.push(`10 MB chunked: ${streamed.status}`);
    if (await target.effect()) failures.push(`the live target changed: ${await target.effect()}`);

    expect(failures).toEqual([]);
    const after = await writes();
    const extra = { tokens: action.name === "token.create" ? created.length : 0, users: action.name === "user.create" ? created.length : 0 };
    expect(after).toEqual({ ...before, tokens: before.tokens + extra.tokens, users: before.users + extra.users, auditDone: before.auditDone + extra.users });
    if (created.length) {
      // What was accepted is stored exactly as typed (trimmed), neither cleaned nor mangled.
      const stored =
        action.name === "token.create"
          ? await sql<{ name: string }[]>`SELECT name FROM idem.api_tokens WHERE name = ANY(${created.map((n) => n.trim())})`
          : await sql<{ name: string }[]>`SELECT username AS name FROM idem.users WHERE username = ANY(${created.map((n) => n.trim())})`;
      expect(stored.map((n) => n.name).sort()).toEqual(created.map((n) => n.trim()).sort());
    }
  });
}

test("sign-in: hostile input is refused with a clear message, and next= never leads off the console", async ({ browser }) => {
  const user = { username: `hostile-${randomBytes(4).toString("hex")}`, password: `pw-${randomBytes(12).toString("hex")}` };
  await sql`INSERT INTO idem.users (username, password_hash, role, created_by) VALUES (${user.username}, ${await hashPassword(user.password)}, 'viewer', 'e2e')`;
  const signIn = await captureSignIn(browser, state.baseURL);
  const sentNames = new Set<string>([user.username]);
  const failures: string[] = [];
  // One client: each good sign-in here ends the previous one (rotation), all of them this user's own.
  const anonymous = await clientFor("anonymous");
  try {
    // Open redirects: after a good sign-in, next= leads to a page of this console, or to the overview.
    for (const next of ["//evil.example", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "\\\\evil.example", "/%2F%2Fevil.example", " //evil.example", `/${SCRIPT}`, "/\u0000x", "/a\r\nSet-Cookie: x=1"]) {
      const result = await replayAction(anonymous, signIn, { fields: { ...user, next } });
      const location = result.redirect?.split(";")[0] ?? "";
      if (!location.startsWith("/") || location.startsWith("//") || location.startsWith("/\\") || new URL(location, state.baseURL).origin !== state.baseURL) {
        failures.push(`next=${next}: redirected to ${location || result.text.slice(0, 120)}`);
      }
    }
    await sql`DELETE FROM idem.sessions s USING idem.users u WHERE u.id = s.user_id AND u.username = ${user.username}`;
    const before = await writes();

    // Each attempt verifies a password (scrypt, slow on purpose): one value per kind of trouble.
    const values = FIELD_HOSTILE.filter(([label]) => ["SQL quote", "script tag", "RTL override", "U+0000", "long", "empty", "given twice", "missing"].includes(label));
    const variants = (["username", "password", "next"] as const).flatMap((field) => values.map(([label, value]) => ({ field, label, value })));
    for (const { field, label, value } of variants) {
      // Failed attempts are recorded: forget them as we go, so neither this account's limit nor the
      // address's (every request here comes from 127.0.0.1) decides what the next attempt is told.
      const fields = { username: user.username, password: "wrong-password", next: "/", [field]: value };
      if (typeof fields.username === "string" && !fields.username.includes("\u0000")) sentNames.add(fields.username);
      const result = await replayAction(anonymous, signIn, { fields });
      await sql`DELETE FROM idem.login_attempts WHERE username = ANY(${[...sentNames]})`;
      const where = `${field} ${label}`;
      if (result.status !== 200 || !result.state || result.state.ok) {
        failures.push(`${where}: ${result.status} ${result.redirect ?? ""} ${result.text.slice(0, 150)}`);
        continue;
      }
      const message = refusal(result);
      if (message.length < 8 || /unavailable|cannot reach|something went wrong/i.test(message)) failures.push(`${where}: unclear refusal "${message}"`);
    }
    expect(await writes()).toEqual(before);
  } finally {
    await anonymous.dispose();
    await sql`DELETE FROM idem.login_attempts WHERE username = ANY(${[...sentNames]})`;
  }
  expect(failures).toEqual([]);
});

test("sign-in and sign-out: 10 MB, malformed and mistyped bodies are a 4xx, and nobody is signed in or out", async ({ browser }) => {
  const signIn = await captureSignIn(browser, state.baseURL);
  const signOut = await captureSignOut(browser, state.baseURL);
  const viewer = { username: "viewer", password: "idem-viewer" };
  // A session of its own, which a sign-out that got through would end.
  const own = await clientFor("anonymous");
  const failures: string[] = [];
  try {
    const signedIn = await replayAction(own, signIn, { fields: viewer });
    expect(signedIn.redirect).toMatch(/^\/(;|$)/);
    const before = await writes();
    const entries = withFields(signIn, viewer);
    const cookies = async () => (await own.storageState()).cookies.map((c) => `${c.name}=${c.value}`).join("; ");
    for (const [name, captured] of [["sign-in", signIn], ["sign-out", signOut]] as const) {
      const variants: Array<{ label: string; status: number; send: () => Promise<{ status: number; text: string }> }> = [
        { label: "10 MB", status: 413, send: () => replayAction(own, captured, { raw: multipartBody([...entries, ["padding", "x".repeat(10 * 1024 * 1024)]]) }) },
        { label: "10 MB text", status: 413, send: () => replayAction(own, captured, { raw: { body: `["${"x".repeat(10 * 1024 * 1024)}"]`, contentType: "text/plain;charset=UTF-8" } }) },
        { label: "malformed multipart", status: 400, send: () => replayAction(own, captured, { raw: { body: "--zzz\r\ngarbage", contentType: "multipart/form-data; boundary=zzz" } }) },
        { label: "text not JSON", status: 400, send: () => replayAction(own, captured, { raw: { body: "username=viewer", contentType: "text/plain;charset=UTF-8" } }) },
        { label: "JSON", status: 415, send: () => replayAction(own, captured, { raw: { body: JSON.stringify(viewer), contentType: "application/json" } }) },
        { label: "no body", status: 400, send: () => replayAction(own, captured, { raw: { body: "", contentType: "text/plain;charset=UTF-8" } }) },
      ];
      for (const variant of variants) {
        const result = await variant.send();
        if (result.status !== variant.status) failures.push(`${name} ${variant.label}: ${result.status} ${result.text.slice(0, 150)}`);
      }
      const chunked = multipartBody([...entries, ["padding", "x".repeat(10 * 1024 * 1024)]]);
      const streamed = await postChunked(captured.url, { ...captured.headers, "content-type": chunked.contentType, origin: state.baseURL, cookie: await cookies() }, chunked.body);
      if (streamed.status !== 413) failures.push(`${name} 10 MB chunked: ${streamed.status}`);
    }
    // Still signed in: no sign-out got through, and no new session was made.
    expect((await own.get("/api/v1/me")).status()).toBe(200);
    expect(await writes()).toEqual(before);
  } finally {
    await replayAction(own, signOut);
    await own.dispose();
  }
  expect(failures).toEqual([]);
});

test("the sign-in page and single sign-on routes: hostile next=, sso=, code= and state= are shown escaped or refused; never a 500", async () => {
  const failures: string[] = [];
  const values = HOSTILE.filter(([label]) => ["SQL quote", "script tag", "onerror", "RTL override", "U+0000", "long", "traversal"].includes(label));
  const calls = values.flatMap(([label, value]) => {
    const v = encodeURIComponent(value);
    return [
      { label: `GET /login next ${label}`, path: `/login?next=${v}`, html: true },
      { label: `GET /login sso ${label}`, path: `/login?sso=${v}`, html: true },
      { label: `GET /login both ${label}`, path: `/login?next=${v}&sso=${v}&next=${v}`, html: true },
      { label: `GET oidc start next ${label}`, path: `/api/auth/oidc/start?next=${v}`, html: false },
      { label: `GET oidc callback ${label}`, path: `/api/auth/oidc/callback?code=${v}&state=${v}&error=${v}`, html: false },
    ];
  });
  await inBatches(calls, 6, async ({ label, path, html }) => {
    const response = await clients.anonymous.get(path, { failOnStatusCode: false, maxRedirects: 0 });
    const text = await response.text();
    if (html) {
      if (response.status() !== 200) failures.push(`${label}: ${response.status()}`);
      if (text.includes(SCRIPT) || text.includes(IMG)) failures.push(`${label}: markup from the URL is in the HTML unescaped`);
      if (!text.includes("Sign in to the console")) failures.push(`${label}: no sign-in form`);
    } else if (response.status() !== 404) {
      // This console has no single sign-on configured (tests/e2e/sso.spec.ts sends hostile callbacks to one that has).
      failures.push(`${label}: ${response.status()} ${text.slice(0, 150)}`);
    } else {
      const problem = await apiErrorProblem(response);
      if (problem) failures.push(`${label}: ${problem}`);
    }
  });
  expect(failures).toEqual([]);
});

test("the lists in this file cover every route handler, API query parameter and page on disk", async () => {
  // Route handlers: the read list, the id and write tests, the sign-in/SSO test and the unknown-path check.
  const covered = [
    ...readEndpoints.map((e) => e.path),
    ...["/api/v1/runs/[id]", "/api/v1/runs/[id]/retry", "/api/v1/runs/[id]/cancel", "/api/v1/runs/[id]/abandon", "/api/v1/locks/release"],
    ...["/api/auth/oidc/start", "/api/auth/oidc/callback", "/api/[...rest]"],
  ];
  expect(routesOnDisk("route.ts")).toEqual([...new Set(covered)].sort());
  // Each API read's parameters are the ones its route validates (the OpenAPI document is generated from them).
  const doc = (await (await clients.anonymous.get("/api/v1/openapi.json")).json()) as { paths: Record<string, { get?: { parameters?: Array<{ name: string; in: string }> } }> };
  for (const endpoint of readEndpoints.filter((e) => e.path.startsWith("/api/v1/") && e.path !== "/api/v1/openapi.json")) {
    const documented = (doc.paths[endpoint.path]?.get?.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name);
    expect(endpoint.params.filter((p) => p !== "unknown"), endpoint.path).toEqual(documented);
  }
  // Pages: the parameter list, the run detail (ids above) and the sign-in page (just above).
  expect(routesOnDisk("page.tsx")).toEqual([...new Set([...pageParams.map((p) => p.path), "/runs/[id]", "/login"])].sort());
});

// ---------------------------------------------------------------------------------------------------
// Rendering: hostile text is shown as text

test("markup, onerror attributes and RTL overrides in keys, payloads, errors, duplicates, locks, audit rows and token names are shown as text", async ({ browser }, testInfo) => {
  const task = uniqueTask("xss");
  const key = `${SCRIPT}${IMG}${RTL}`;
  const hostileWorker = createLedger({ sql, workerId: `worker-${IMG}`, redis: null });
  const payload = { [IMG]: SCRIPT, note: RTL, [`"'><svg onload=alert(1)>`]: [SCRIPT] };
  let runId = 0;
  await hostileWorker
    .runOnce({ task, key, payload }, (ctx) => {
      runId = ctx.runId;
      const error = new Error(`card declined ${IMG}`);
      error.stack = `Error: card declined ${IMG}\n    at charge (${SCRIPT}:1:1)`;
      throw error;
    })
    .catch(() => undefined);
  expect(runId).toBeGreaterThan(0);
  await hostileWorker.runOnce({ task, key, payload, source: `src-${SCRIPT}` }, () => null).catch(() => undefined);
  await hostileWorker.runOnce({ task, key, payload: { ...payload, note: `${IMG} changed` } }, () => null).catch((error: unknown) => {
    if (!(error instanceof PayloadMismatchError)) throw error;
  });
  const lockKey = `lock:${IMG}:${SCRIPT}`;
  await redis.set(lockKey, `${IMG}${RTL}`, "PX", 600_000);
  // Audit rows whose target and reason are markup: a release of a lock that is not there, refused.
  const since = new Date(Date.now() - 1000).toISOString();
  const audit = await clients.anonymous.post("/api/v1/locks/release", {
    headers: bearer(),
    data: { key: `lock:gone-${SCRIPT}`, value: IMG, class: "orphaned", reason: `because ${SCRIPT} ${IMG}` },
  });
  expect(audit.status()).toBe(409);
  const { hostile: token } = await issueTokens(browser, state.baseURL, clients.admin, { hostile: "viewer" });
  const tokenName = `${token.name} ${IMG}`;
  await sql`UPDATE idem.api_tokens SET name = ${tokenName} WHERE name = ${token.name}`;

  const dialogs: string[] = [];
  const violations: string[] = [];
  const visit = async (page: Page, path: string, shows: string[], screenshot: string) => {
    await page.goto(path);
    await page.waitForFunction(() => document.querySelectorAll('[aria-busy="true"]').length === 0);
    for (const text of shows) await expect(page.getByText(text, { exact: false }).filter({ visible: true }).first(), `${path} shows ${text}`).toBeVisible();
    const injected = await page.evaluate(() => ({
      handlers: [...document.querySelectorAll("*")].filter((el) => [...el.attributes].some((a) => /^on/i.test(a.name))).map((el) => el.outerHTML.slice(0, 120)),
      images: [...document.querySelectorAll('img[src="x"], svg[onload]')].length,
      scripts: [...document.querySelectorAll("script")].filter((s) => (s.textContent ?? "").includes("alert(1)") && !(s.textContent ?? "").includes("self.__next_f")).length,
    }));
    expect(injected, path).toEqual({ handlers: [], images: 0, scripts: 0 });
    await attachScreenshot(page, testInfo, screenshot);
  };

  for (const role of ["operator", "admin"] as const) {
    const context = await browser.newContext({ baseURL: state.baseURL, storageState: (await clients[role].storageState()) });
    const page = await context.newPage();
    page.on("dialog", (dialog) => {
      dialogs.push(`${role}: ${dialog.message()}`);
      void dialog.dismiss();
    });
    page.on("console", (message) => {
      if (/Content Security Policy|Refused to (execute|load)/i.test(message.text())) violations.push(`${role}: ${message.text().slice(0, 200)}`);
    });
    if (role === "operator") {
      await visit(page, `/runs?task=${encodeURIComponent(task)}`, [SCRIPT], "runs-list");
      // Header, payload, error and stack, the duplicate's payload diff and the timeline's worker lane.
      await visit(page, `/runs/${runId}`, [SCRIPT, `card declined ${IMG}`, `${IMG} changed`, `at charge (${SCRIPT}:1:1)`], "run-detail");
      // Shown as it is, with the reordering character made visible rather than obeyed.
      await expect(page.getByTestId("run-key")).toHaveText(escapeInvisible(key));
      await expect(page.getByTestId("run-key")).toContainText("⟨RLO⟩fdp.exe");
      await visit(page, `/duplicates?task=${encodeURIComponent(task)}`, [`src-${SCRIPT}`], "duplicates");
      await visit(page, `/duplicates?task=${encodeURIComponent(task)}&view=keys`, [SCRIPT], "duplicates-keys");
      await visit(page, `/locks?q=${encodeURIComponent(lockKey)}`, [lockKey], "locks");
      await visit(page, `/audit?action=lock.release&from=${encodeURIComponent(since)}`, [`because ${SCRIPT} ${IMG}`], "audit");
      // The overview lists tasks, stuck runs and duplicates from the same rows: nothing injected there either.
      await visit(page, "/?window=1h", [], "overview");
    } else {
      await visit(page, "/settings/tokens", [tokenName], "tokens");
    }
    await context.close();
  }
  expect(dialogs).toEqual([]);
  expect(violations).toEqual([]);
});
