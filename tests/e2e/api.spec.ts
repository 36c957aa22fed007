import { randomBytes, randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { APIResponse } from "@playwright/test";
import postgres from "postgres";
import { PayloadMismatchError } from "@/lib/ledger";
import { createRedis } from "@/lib/redis";
import { actionCases, captureCase, issueTokens, type Seeds } from "./action-cases";
import { clientsForAll, replayAction } from "./action-replay";
import { expect, state, test } from "./fixtures";
import { childrenOf, e2eLedger, failedRun, pendingRun, uniqueTask } from "./ops-seed";

/**
 * The JSON API under /api/v1 and the metrics endpoint, with a viewer and an operator token: reads with
 * their filters and cursors, writes with their compare-and-set refusals, double submissions, and one
 * error shape, `{ error: { code, message, field?, requestId } }`, for every failure.
 */
const sql = postgres(state.databaseUrl, { max: 4, onnotice: () => undefined });
const redis = createRedis(state.redisUrl, { name: "idem-e2e-api" });
const ledger = e2eLedger(sql, "e2e-api-worker");
const task = uniqueTask("api");
const seeds: Seeds = { sql, redis, ledger, task };

let clients: Awaited<ReturnType<typeof clientsForAll>>;
let tokens: Record<"viewer" | "operator" | "doomed", { token: string; name: string }>;

const as = (who: "viewer" | "operator" | "doomed") => ({ authorization: `Bearer ${tokens[who].token}` });

test.beforeAll(async ({ browser }) => {
  clients = await clientsForAll();
  tokens = await issueTokens(browser, state.baseURL, clients.admin, { viewer: "viewer", operator: "operator", doomed: "viewer" });
});

test.afterAll(async () => {
  await clients.dispose();
  redis.disconnect();
  await sql.end({ timeout: 5 });
});

interface ErrorBody {
  error: { code: string; message: string; field?: string; requestId: string };
}

/** A failure in the API's one shape; returns the error for further checks. */
async function expectError(response: APIResponse, status: number, code: string, field?: string) {
  const text = await response.text();
  expect(response.status(), text.slice(0, 300)).toBe(status);
  const body = JSON.parse(text) as ErrorBody;
  expect(body.error).toMatchObject({ code, message: expect.any(String), requestId: expect.stringMatching(/^[A-Za-z0-9_-]{8,100}$/) });
  expect(body.error.message.length).toBeGreaterThan(3);
  if (field === undefined) expect(body.error.field).toBeUndefined();
  else expect(body.error.field).toBe(field);
  expect(response.headers()["x-request-id"]).toBe(body.error.requestId);
  return body.error;
}

const api = () => clients.anonymous;

test("runs: filtered list with keyset pagination; a bad parameter is 400 naming it", async () => {
  const ids: number[] = [];
  for (let i = 0; i < 5; i++) {
    const done = await ledger.runOnce({ task, key: `page-${i}`, payload: { i } }, () => ({ i }));
    if (done.outcome !== "executed") throw new Error("seed: expected the run to execute");
    ids.push(done.run.id);
  }
  const failed = await failedRun(ledger, task, "page-failed", { i: "failed" });

  const seen: number[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query: string = `/api/v1/runs?task=${encodeURIComponent(task)}&pageSize=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const response = await api().get(query, { headers: as("viewer") });
    expect(response.status()).toBe(200);
    const body = (await response.json()) as { runs: Array<{ id: number; taskName: string }>; nextCursor: string | null };
    expect(body.runs.length).toBeLessThanOrEqual(2);
    expect(body.runs.every((run) => run.taskName === task)).toBe(true);
    seen.push(...body.runs.map((run) => run.id));
    cursor = body.nextCursor;
    pages++;
  } while (cursor && pages < 10);
  // Newest first, every run once.
  expect(seen).toEqual([failed, ...[...ids].reverse()]);
  expect(pages).toBe(3);

  const onlyFailed = (await (await api().get(`/api/v1/runs?task=${task}&status=failed`, { headers: as("operator") })).json()) as { runs: Array<{ id: number }> };
  expect(onlyFailed.runs.map((run) => run.id)).toEqual([failed]);
  const byKey = (await (await api().get(`/api/v1/runs?task=${task}&key=page-3`, { headers: as("viewer") })).json()) as { runs: Array<{ id: number }> };
  expect(byKey.runs.map((run) => run.id)).toEqual([ids[3]]);

  const bad: Array<[string, string]> = [
    ["pageSize=0", "query.pageSize"],
    ["pageSize=201", "query.pageSize"],
    ["pageSize=ten", "query.pageSize"],
    ["status=exploded", "query.status"],
    ["cursor=not-a-cursor", "query.cursor"],
    ["from=yesterday", "query.from"],
    ["from=2026-02-01&to=2026-01-01", "query.from"],
    ["task=has%20spaces", "query.task"],
    ["sort=sideways", "query.sort"],
    ["status=failed&status=pending", "query.status"],
  ];
  for (const [query, field] of bad) {
    const error = await expectError(await api().get(`/api/v1/runs?${query}`, { headers: as("viewer") }), 400, "VALIDATION", field);
    expect(error.message).toContain(field.replace("query.", ""));
  }
});

test("run detail: the run with its timeline, duplicates and lineage; unknown or garbage ids are 404", async () => {
  const id = await failedRun(ledger, task, "detail-1", { detail: 1 });
  const response = await api().get(`/api/v1/runs/${id}`, { headers: as("viewer") });
  expect(response.status()).toBe(200);
  const body = (await response.json()) as {
    run: { id: number; status: string; taskName: string };
    events: { events: Array<{ kind: string }> };
    duplicates: { recent: unknown[]; mismatches: unknown[] };
    lineage: unknown;
  };
  expect(body.run).toMatchObject({ id, status: "failed", taskName: task });
  expect(body.events.events.map((event) => event.kind)).toContain("failed");
  expect(body.duplicates).toMatchObject({ recent: [], mismatches: [] });
  expect(body.lineage).toBeTruthy();

  for (const garbage of ["999999999999", "0", "-1", "abc", "1.5", "1e3", "9007199254740993", "%20" + id, "..%2F..%2Fetc%2Fpasswd", "1%3B%20DROP%20TABLE%20idem.task_runs"]) {
    await expectError(await api().get(`/api/v1/runs/${garbage}`, { headers: as("viewer") }), 404, "NOT_FOUND");
  }
});

test("retry: 403 for a viewer token (audited as refused), 409 for a stale view, one child on success, and the same X-Request-Id twice is repeated", async () => {
  const id = await failedRun(ledger, task, `retry-${randomUUID()}`, { to: "ana@example.com" });
  const detail = (await (await api().get(`/api/v1/runs/${id}`, { headers: as("operator") })).json()) as { run: { status: string; updatedAt: string; lineageRetries: number } };
  const seen = { seenStatus: detail.run.status, seenUpdatedAt: detail.run.updatedAt, seenRetries: detail.run.lineageRetries, reason: "api test" };
  const retry = (headers: Record<string, string>, data: object) => api().post(`/api/v1/runs/${id}/retry`, { headers, data });

  await expectError(await retry(as("viewer"), seen), 403, "FORBIDDEN");
  const stale = await expectError(await retry(as("operator"), { ...seen, seenUpdatedAt: "2001-01-01T00:00:00.000Z" }), 409, "CONFLICT");
  expect(stale.message).toMatch(/changed/i);
  expect(await childrenOf(sql, id)).toEqual([]);

  const requestId = `api-retry-${randomBytes(6).toString("hex")}`;
  const first = await retry({ ...as("operator"), "x-request-id": requestId }, seen);
  expect(first.status()).toBe(200);
  expect(first.headers()["x-request-id"]).toBe(requestId);
  const created = (await first.json()) as { ok: boolean; repeated: boolean; data: { childRunId: number; childKey: string } };
  expect(created).toMatchObject({ ok: true, repeated: false });
  const children = await childrenOf(sql, id);
  expect(children.map((c) => c.id)).toEqual([created.data.childRunId]);
  expect(children[0]).toMatchObject({ status: "pending", key: created.data.childKey });

  const again = await retry({ ...as("operator"), "x-request-id": requestId }, seen);
  expect(again.status()).toBe(200);
  expect(await again.json()).toMatchObject({ ok: true, repeated: true });
  // A new request on the same view: the retry exists, so it is refused.
  await expectError(await retry(as("operator"), seen), 409, "CONFLICT");
  expect(await childrenOf(sql, id)).toHaveLength(1);
  const audit = await sql<{ actor: string; outcome: string; why: string | null }[]>`
    SELECT actor, outcome, outcome_detail->>'why' AS why FROM idem.operator_actions WHERE action = 'run.retry' AND target_id = ${String(id)} ORDER BY id`;
  expect(audit.map(({ actor, outcome }) => ({ actor, outcome }))).toEqual([
    // The viewer token's attempt is audited as refused, as a viewer's click in the console is.
    { actor: `token:${tokens.viewer.name}`, outcome: "refused" },
    { actor: `token:${tokens.operator.name}`, outcome: "refused" },
    { actor: `token:${tokens.operator.name}`, outcome: "done" },
    { actor: `token:${tokens.operator.name}`, outcome: "refused" },
  ]);
  expect(audit[0]?.why).toBe("forbidden");
});

test("cancel and abandon: done in the state they act on, 409 otherwise, 403 for a viewer token", async () => {
  const pending = await pendingRun(ledger, task, `cancel-${randomUUID()}`);
  const failed = await failedRun(ledger, task, `cancel-failed-${randomUUID()}`, {});
  const status = async (id: number) => (await sql<{ status: string }[]>`SELECT status::text FROM idem.task_runs WHERE id = ${id}`)[0]?.status;

  await expectError(await api().post(`/api/v1/runs/${pending}/cancel`, { headers: as("viewer"), data: { reason: "no" } }), 403, "FORBIDDEN");
  await expectError(await api().post(`/api/v1/runs/${failed}/cancel`, { headers: as("operator"), data: { reason: "not pending" } }), 409, "CONFLICT");
  // The attempt read is the compare-and-set: one the run is not at (claimed again since) is refused.
  await expectError(await api().post(`/api/v1/runs/${pending}/cancel`, { headers: as("operator"), data: { seenAttempt: 99, reason: "stale view" } }), 409, "CONFLICT");
  expect(await status(pending)).toBe("pending");
  const seen = (await (await api().get(`/api/v1/runs/${pending}`, { headers: as("viewer") })).json()) as { run: { attempt: number } };
  const cancelled = await api().post(`/api/v1/runs/${pending}/cancel`, { headers: as("operator"), data: { seenAttempt: seen.run.attempt, reason: "customer withdrew" } });
  expect(cancelled.status()).toBe(200);
  expect(await cancelled.json()).toMatchObject({ ok: true, repeated: false });
  expect(await status(pending)).toBe("cancelled");
  await expectError(await api().post(`/api/v1/runs/${pending}/cancel`, { headers: as("operator"), data: { reason: "again" } }), 409, "CONFLICT");
  await expectError(await api().post(`/api/v1/runs/999999999999/cancel`, { headers: as("operator"), data: { reason: "nothing" } }), 404, "NOT_FOUND");

  const claim = await ledger.claimRun({ task, key: `abandon-${randomUUID()}`, payload: {}, leaseMs: 600_000 });
  if (claim.outcome !== "claimed") throw new Error("seed: expected a claim");
  const abandon = (token: string) => api().post(`/api/v1/runs/${claim.run.id}/abandon`, { headers: as("operator"), data: { seenLeaseToken: token, reason: "worker gone" } });
  // The lease is live: not abandoned, whatever the token.
  await expectError(await abandon(claim.lease.token), 409, "CONFLICT");
  await sql`UPDATE idem.task_runs SET lease_expires_at = now() - interval '1 minute' WHERE id = ${claim.run.id}`;
  await expectError(await abandon(randomUUID()), 409, "CONFLICT");
  expect(await status(claim.run.id)).toBe("running");
  const abandoned = await abandon(claim.lease.token);
  expect(abandoned.status()).toBe(200);
  expect(await status(claim.run.id)).toBe("failed");
});

test("write bodies: the documented examples are accepted, and a bad field is a 400 naming it as body.<field>", async () => {
  const doc = (await (await api().get("/api/v1/openapi.json")).json()) as {
    paths: Record<string, { post?: { requestBody: { content: { "application/json": { examples: Record<string, { value: Record<string, unknown> }> } } } } }>;
  };
  const examples = (route: string) => Object.values(doc.paths[route]!.post!.requestBody.content["application/json"].examples).map((e) => e.value);
  const failed = await failedRun(ledger, task, `bodies-${randomUUID()}`, {});
  const pending = await pendingRun(ledger, task, `bodies-pending-${randomUUID()}`);
  // A documented example gets past validation: what remains is the precondition (409) or success.
  for (const [route, path] of [
    ["/api/v1/runs/{id}/retry", `/api/v1/runs/${failed}/retry`],
    ["/api/v1/runs/{id}/cancel", `/api/v1/runs/${failed}/cancel`],
    ["/api/v1/runs/{id}/abandon", `/api/v1/runs/${failed}/abandon`],
    ["/api/v1/locks/release", "/api/v1/locks/release"],
  ] as const) {
    for (const example of examples(route)) {
      const response = await api().post(path, { headers: as("operator"), data: example });
      expect([200, 409], `${route} ${JSON.stringify(example)}: ${await response.text()}`).toContain(response.status());
    }
  }
  const bad: Array<[string, object, string]> = [
    [`/api/v1/runs/${failed}/retry`, { seenStatus: "bogus", seenUpdatedAt: new Date().toISOString(), seenRetries: 0 }, "body.seenStatus"],
    [`/api/v1/runs/${failed}/retry`, { seenStatus: "failed", seenUpdatedAt: "yesterday", seenRetries: 0 }, "body.seenUpdatedAt"],
    [`/api/v1/runs/${pending}/cancel`, { reason: "" }, "body.reason"],
    [`/api/v1/runs/${pending}/cancel`, { reason: "   " }, "body.reason"],
    [`/api/v1/runs/${failed}/abandon`, { seenLeaseToken: "nope", reason: "x" }, "body.seenLeaseToken"],
    ["/api/v1/locks/release", { key: "k", value: "v", class: "sticky" }, "body.class"],
  ];
  for (const [path, data, field] of bad) {
    const error = await expectError(await api().post(path, { headers: as("operator"), data }), 400, "VALIDATION", field);
    expect(error.message).not.toMatch(/reload the page/);
  }
  expect((await sql<{ status: string }[]>`SELECT status::text FROM idem.task_runs WHERE id = ${pending}`)[0]?.status).toBe("pending");
});

test("duplicates: the list pages with nextCursor; keys and sources group them; bad parameters are 400", async () => {
  const key = `dup-${randomUUID()}`;
  const payload = { invoice: 1 };
  await ledger.runOnce({ task, key, payload }, () => ({ ok: true }));
  for (let i = 0; i < 52; i++) await ledger.runOnce({ task, key, payload, source: i % 2 ? "celery" : "cron" }, () => ({ ok: false }));
  await ledger.runOnce({ task, key, payload: { invoice: 2 } }, () => null).catch((error: unknown) => {
    if (!(error instanceof PayloadMismatchError)) throw error;
  });

  type Attempt = { id: number; outcome: string };
  const list = async (cursor?: string) =>
    (await (await api().get(`/api/v1/duplicates?task=${task}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { headers: as("viewer") })).json()) as {
      view: string;
      attempts: Attempt[];
      nextCursor: string | null;
    };
  const first = await list();
  expect(first.view).toBe("list");
  expect(first.attempts).toHaveLength(50);
  expect(first.attempts[0]?.outcome).toBe("payload_mismatch");
  expect(first.nextCursor).toBeTruthy();
  const second = await list(first.nextCursor!);
  expect(second.attempts).toHaveLength(3);
  expect(second.nextCursor).toBeNull();
  const all = [...first.attempts, ...second.attempts].map((a) => a.id);
  expect(new Set(all).size).toBe(53);

  const keys = (await (await api().get(`/api/v1/duplicates?task=${task}&view=keys`, { headers: as("operator") })).json()) as { view: string; groups: Array<{ key: string; attempts: number }> };
  expect(keys.view).toBe("keys");
  expect(keys.groups.find((g) => g.key === key)?.attempts).toBe(53);
  const sources = (await (await api().get(`/api/v1/duplicates?task=${task}&view=sources`, { headers: as("viewer") })).json()) as { view: string; sources: Array<{ name: string; attempts: number }> };
  expect(sources.view).toBe("sources");
  expect(sources.sources.find((s) => s.name === "celery")?.attempts).toBe(26);

  for (const [query, field] of [
    ["view=bogus", "query.view"],
    ["run=abc", "query.run"],
    ["outcome=maybe", "query.outcome"],
    ["cursor=%E2%80%AE", "query.cursor"],
  ] as const) {
    await expectError(await api().get(`/api/v1/duplicates?${query}`, { headers: as("viewer") }), 400, "VALIDATION", field);
  }
});

test("locks: listed with their value; a release with the wrong value is 409 and leaves the key; the right value releases it", async () => {
  const key = `lock:e2e-api:${randomBytes(5).toString("hex")}`;
  const value = `owner-${randomUUID()}`;
  await redis.set(key, value, "PX", 600_000);

  const listed = (await (await api().get(`/api/v1/locks?q=${encodeURIComponent(key)}`, { headers: as("viewer") })).json()) as {
    locks: Array<{ key: string; value: string | null; class: string }>;
    counts: Record<string, number>;
  };
  expect(listed.locks).toEqual([expect.objectContaining({ key, value, class: "orphaned" })]);
  expect(listed.counts.orphaned).toBe(1);
  // Counts are per class before the class filter, as on the screen.
  const heldOnly = (await (await api().get(`/api/v1/locks?q=${encodeURIComponent(key)}&class=held`, { headers: as("viewer") })).json()) as typeof listed;
  expect(heldOnly).toMatchObject({ locks: [], counts: { orphaned: 1, held: 0 } });
  await expectError(await api().get("/api/v1/locks?class=sticky", { headers: as("viewer") }), 400, "VALIDATION", "query.class");

  const release = (headers: Record<string, string>, body: object) => api().post("/api/v1/locks/release", { headers, data: { key, class: "orphaned", ...body } });
  await expectError(await release(as("viewer"), { value }), 403, "FORBIDDEN");
  const changed = await expectError(await release(as("operator"), { value: "someone-else" }), 409, "CONFLICT");
  expect(changed.message).toContain(key);
  expect(await redis.get(key)).toBe(value);

  const released = await release(as("operator"), { value, reason: "api test" });
  expect(released.status()).toBe(200);
  expect(await released.json()).toMatchObject({ ok: true, repeated: false });
  expect(await redis.exists(key)).toBe(0);
  await expectError(await release(as("operator"), { value }), 409, "CONFLICT");
});

test("a revoked token is 401; a signed-in browser's cookie cannot write (401); reads take it", async ({ browser }) => {
  expect(await (await api().get("/api/v1/me", { headers: as("doomed") })).json()).toEqual({ name: tokens.doomed.name, role: "viewer", via: "api" });
  const revoke = actionCases.find((c) => c.name === "token.revoke")!;
  const captured = await captureCase(browser, state.baseURL, revoke, seeds);
  const [row] = await sql<{ id: string }[]>`SELECT id FROM idem.api_tokens WHERE name = ${tokens.doomed.name}`;
  // The form's name is only the dialog's label: a crafted one does not label the audit row.
  const revokeRequest = randomUUID();
  const revoked = await replayAction(clients.admin, captured, { fields: { requestId: revokeRequest, id: row!.id, name: "forged-label", reason: "api test" } });
  expect(revoked.state).toMatchObject({ ok: true });
  const [audit] = await sql<{ target_id: string; name: string }[]>`
    SELECT target_id, outcome_detail->>'name' AS name FROM idem.operator_actions WHERE action = 'token.revoke' AND request_id = ${revokeRequest}`;
  expect(audit).toEqual({ target_id: String(row!.id), name: tokens.doomed.name });
  await expectError(await api().get("/api/v1/me", { headers: as("doomed") }), 401, "UNAUTHENTICATED");
  await expectError(await api().get("/api/metrics", { headers: as("doomed") }), 401, "UNAUTHENTICATED");

  const id = await failedRun(ledger, task, `cookie-${randomUUID()}`, {});
  const body = { seenStatus: "failed", seenUpdatedAt: new Date().toISOString(), seenRetries: 0 };
  await expectError(await clients.operator.post(`/api/v1/runs/${id}/retry`, { data: body }), 401, "UNAUTHENTICATED");
  await expectError(await clients.admin.post("/api/v1/locks/release", { data: { key: "lock:x", value: "x", class: "orphaned" } }), 401, "UNAUTHENTICATED");
  expect(await childrenOf(sql, id)).toEqual([]);
  expect(await (await clients.operator.get("/api/v1/me")).json()).toEqual({ name: "operator", role: "operator", via: "console" });
  for (const header of ["Bearer", "Bearer idem_", "Basic b3BlcmF0b3I6aWRlbS1vcGVyYXRvcg==", `Bearer ${tokens.viewer.token}x`, `Bearer ${"idem_".padEnd(300, "a")}`]) {
    await expectError(await api().get("/api/v1/me", { headers: { authorization: header } }), 401, "UNAUTHENTICATED");
  }
});

test("metrics: Prometheus text with any token; 401 without one, even for a signed-in browser", async () => {
  const response = await api().get("/api/metrics", { headers: as("viewer") });
  expect(response.status()).toBe(200);
  expect(response.headers()["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  for (const metric of ["idem_runs", "idem_runs_stuck", "idem_duplicate_attempts", "idem_locks", "idem_dependency_up"]) {
    expect(text).toContain(`# TYPE ${metric} gauge`);
  }
  // The audit log only grows: a counter, named as Prometheus expects one.
  expect(text).toContain("# TYPE idem_operator_actions_total counter");
  expect(text).toMatch(/^idem_runs\{status="failed"\} \d+$/m);
  expect(text).toMatch(/^idem_operator_actions_total\{action="run\.retry",outcome="done"\} \d+$/m);
  await expectError(await api().get("/api/metrics"), 401, "UNAUTHENTICATED");
  await expectError(await clients.admin.get("/api/metrics"), 401, "UNAUTHENTICATED");
});

test("openapi.json is public JSON that describes every route under app/api/v1 with its methods", async () => {
  const response = await api().get("/api/v1/openapi.json");
  expect(response.status()).toBe(200);
  const doc = JSON.parse(await response.text()) as { openapi: string; paths: Record<string, Record<string, unknown>>; servers: Array<{ url: string }> };
  expect(doc.openapi).toBe("3.1.0");
  // Relative: the API is where the document was fetched from, whatever Host the request carried.
  expect(doc.servers).toEqual([{ url: "/" }]);

  const root = path.resolve(import.meta.dirname, "../../app/api/v1");
  const onDisk: Record<string, string[]> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name === "route.ts") {
        const route = `/api/v1/${path.relative(root, dir).split(path.sep).join("/")}`.replace(/\[(\w+)\]/g, "{$1}");
        const source = readFileSync(full, "utf8");
        onDisk[route] = ["GET", "POST", "PUT", "PATCH", "DELETE"].filter((m) => new RegExp(`export (const|async function|function) ${m}\\b`).test(source)).map((m) => m.toLowerCase());
      }
    }
  };
  walk(root);
  // The document does not describe itself.
  delete onDisk["/api/v1/openapi.json"];
  const described = Object.fromEntries(Object.entries(doc.paths).filter(([p]) => p.startsWith("/api/v1/")).map(([p, ops]) => [p, Object.keys(ops).sort()]));
  expect(described).toEqual(onDisk);
});

test("read responses carry what openapi.json documents for them", async () => {
  type Schema = { required?: string[]; properties?: Record<string, Schema>; items?: Schema; allOf?: Schema[]; oneOf?: Schema[] };
  const doc = (await (await api().get("/api/v1/openapi.json")).json()) as {
    paths: Record<string, { get?: { responses: Record<string, { content?: Record<string, { schema: Schema }> }> } }>;
  };
  const run = await failedRun(ledger, task, `documented-${randomUUID()}`, { documented: true });
  /** Every required key the schema names, checked on the value (and into arrays' first items, objects' properties). */
  const missing = (schema: Schema | undefined, value: unknown, where: string): string[] => {
    if (!schema || value === null || value === undefined) return [];
    const all = [...(schema.allOf ?? []).flatMap((s) => missing(s, value, where))];
    if (Array.isArray(value)) return [...all, ...(schema.items && value.length ? missing(schema.items, value[0], `${where}[0]`) : [])];
    if (typeof value !== "object") return all;
    const record = value as Record<string, unknown>;
    return [
      ...all,
      ...(schema.required ?? []).filter((key) => !(key in record)).map((key) => `${where}.${key}`),
      ...Object.entries(schema.properties ?? {}).flatMap(([key, sub]) => missing(sub, record[key], `${where}.${key}`)),
    ];
  };
  for (const [documented, path] of [
    ["/api/v1/me", "/api/v1/me"],
    ["/api/v1/runs", `/api/v1/runs?task=${encodeURIComponent(task)}`],
    ["/api/v1/runs/{id}", `/api/v1/runs/${run}`],
    ["/api/v1/duplicates", "/api/v1/duplicates"],
    ["/api/v1/locks", "/api/v1/locks"],
  ] as const) {
    const response = await api().get(path, { headers: as("viewer") });
    expect(response.status(), path).toBe(200);
    expect(response.headers()["x-request-id"], path).toMatch(/^[A-Za-z0-9_-]{8,100}$/);
    const schema = doc.paths[documented]?.get?.responses["200"]?.content?.["application/json"]?.schema;
    expect(schema, documented).toBeDefined();
    const body: unknown = await response.json();
    // For oneOf (duplicates: list or groups), the variant that matches is enough.
    const variants = schema!.oneOf ?? [schema!];
    expect(variants.some((variant) => missing(variant, body, documented).length === 0), `${documented}: ${variants.map((v) => missing(v, body, documented).join(", ")).join(" | ")}`).toBe(true);
  }
});
