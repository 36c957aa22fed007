import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { env } from "@/lib/env";
import { getLineage, listRunDuplicates, listRunEvents, listRuns, listTaskNames, streamRuns } from "@/lib/ledger/queries";
import type { RunListQuery } from "@/lib/ledger/run-filters";
import { migrateDatabase } from "@/lib/migrate";

/**
 * `tsx --conditions=react-server scripts/explain-runs.ts [--rows 300000] [--keep]` with DATABASE_URL
 * pointing at a server where it may create a database: loads a scratch ledger, then prints the plan
 * of every console query (the runs list under each filter, a deep page, the export, the run detail
 * reads), as a custom plan and as the generic plan a prepared statement falls back to, and flags any
 * plan with a sequential scan of task_runs or a sort above an index-less scan. The timings are for
 * orientation only; the benchmark (bench/console.ts) is where speed is measured.
 */
const args = process.argv.slice(2);
const rows = Number(args[args.indexOf("--rows") + 1] ?? 0) || 300_000;
const keep = args.includes("--keep");
if (!env.DATABASE_URL) {
  console.error("set DATABASE_URL to a server where this script may create a scratch database");
  process.exit(2);
}

const name = `idem_explain_${randomBytes(4).toString("hex")}`;
const admin = postgres(env.DATABASE_URL, { max: 1, onnotice: () => undefined });
await admin.unsafe(`CREATE DATABASE "${name}"`);
const url = new URL(env.DATABASE_URL);
url.pathname = `/${name}`;
await migrateDatabase(url.toString());

const captured: Array<{ query: string; params: unknown[] }> = [];
const sql = postgres(url.toString(), {
  max: 1,
  onnotice: () => undefined,
  debug: (_connection, query, params) => {
    captured.push({ query, params: [...params] });
  },
});

try {
  console.log(`loading ${rows} runs into ${name} ...`);
  await sql`SELECT setseed(0.42)`;
  await sql`
    INSERT INTO idem.task_runs (id, root_run_id, task_name, idempotency_key, fingerprint, payload, status, attempt, max_attempts,
                                lease_owner, lease_token, lease_expires_at, fencing_token, duplicate_count, last_duplicate_at,
                                created_at, started_at, finished_at, error)
    SELECT g, g, t.task, t.prefix || '-' || g, md5(g::text), jsonb_build_object('n', g), s.status, 1, 3,
           CASE WHEN s.status <> 'pending' THEN 'worker-' || (g % 24) END,
           CASE WHEN s.status <> 'pending' THEN md5(g::text)::uuid END,
           CASE WHEN s.status = 'running' THEN c.created_at + CASE WHEN g % 3 = 0 THEN interval '100 days' ELSE interval '30 seconds' END END,
           1, CASE WHEN g % 31 = 0 THEN 1 + g % 4 ELSE 0 END, CASE WHEN g % 31 = 0 THEN c.created_at END,
           c.created_at, c.created_at,
           CASE WHEN s.status IN ('succeeded', 'failed', 'cancelled') THEN c.created_at + (random() * 5000) * interval '1 millisecond' END,
           CASE WHEN s.status = 'failed' THEN jsonb_build_object('message', 'boom', 'class', 'Error', 'stack', 'Error: boom') END
    FROM generate_series(1, ${rows}) g
    CROSS JOIN LATERAL (SELECT now() - (${rows} - g) * interval '6 seconds' - random() * interval '3 seconds' AS created_at) c
    CROSS JOIN LATERAL (SELECT (ARRAY['send_email', 'charge_invoice', 'sync_crm', 'resize_image', 'nightly_report', 'webhook_deliver',
                                      'refund', 'export_csv', 'index_search', 'push_notify', 'ledger_close', 'audit_rollup'])[1 + (g::bigint * 7919) % 12] AS task,
                               (ARRAY['invoice', 'order', 'user', 'msg', 'job'])[1 + g % 5] AS prefix) t
    CROSS JOIN LATERAL (SELECT (CASE WHEN r < 0.85 THEN 'succeeded' WHEN r < 0.90 THEN 'failed' WHEN r < 0.93 THEN 'running'
                                     WHEN r < 0.98 THEN 'pending' ELSE 'cancelled' END)::idem.run_status AS status
                        FROM (SELECT random() AS r, g) x) s`;
  // Two percent of runs are retries of an earlier one, in chains under a shared root.
  await sql`
    UPDATE idem.task_runs r SET retry_of = r.id - 1000, root_run_id = p.root_run_id
    FROM idem.task_runs p WHERE p.id = r.id - 1000 AND r.id % 50 = 7`;
  await sql`SELECT setval('idem.task_runs_id_seq', ${rows})`;
  await sql`
    INSERT INTO idem.run_events (run_id, kind, from_status, to_status, actor, fencing_token, detail, at)
    SELECT r.id, k.kind, NULL, NULL, 'worker-1', 1, '{}', r.created_at + k.n * interval '1 second'
    FROM idem.task_runs r CROSS JOIN LATERAL (VALUES ('claimed', 0), ('heartbeat', 1), ('succeeded', 2)) k(kind, n)
    WHERE r.id % 10 = 0`;
  await sql`
    INSERT INTO idem.run_events (run_id, kind, actor, fencing_token, detail, at)
    SELECT 1000, 'heartbeat', 'worker-1', 1, '{}', now() + g * interval '10 seconds' FROM generate_series(1, 3000) g`;
  await sql`
    INSERT INTO idem.duplicate_attempts (run_id, task_name, idempotency_key, fingerprint, outcome, run_status, worker_id, source, attempted_at)
    SELECT r.id, r.task_name, r.idempotency_key, r.fingerprint, 'replayed', r.status, 'worker-2', 'sdk', r.created_at + interval '1 second'
    FROM idem.task_runs r WHERE r.duplicate_count > 0`;
  await sql`ANALYZE`;

  const base: RunListQuery = { keyMatch: "exact", hasDuplicates: false, isRetry: false, sort: "created", order: "desc", pageSize: 50 };
  const deep = await (async () => {
    let page = await listRuns(sql, { ...base, pageSize: 200 });
    for (let i = 0; i < 20 && page.nextCursor; i++) page = await listRuns(sql, { ...base, pageSize: 200, cursor: page.nextCursor });
    return page.nextCursor!;
  })();
  const finishedCursor = (await listRuns(sql, { ...base, sort: "finished", pageSize: 200 })).nextCursor!;
  const day = 86_400_000;
  const cases: Array<[string, () => Promise<unknown>]> = [
    ["newest first", () => listRuns(sql, base)],
    ["oldest first", () => listRuns(sql, { ...base, order: "asc" })],
    ["page 22 (cursor)", () => listRuns(sql, { ...base, cursor: deep })],
    ["previous page (cursor)", () => listRuns(sql, { ...base, cursor: { ...deep, direction: "prev" } })],
    ["status=failed", () => listRuns(sql, { ...base, status: "failed" })],
    ["status=failed, page 2", () => listRuns(sql, { ...base, status: "failed", cursor: deep })],
    ["status=stuck", () => listRuns(sql, { ...base, status: "stuck" })],
    ["status=cancelled", () => listRuns(sql, { ...base, status: "cancelled" })],
    ["task", () => listRuns(sql, { ...base, task: "refund" })],
    ["task + status", () => listRuns(sql, { ...base, task: "refund", status: "failed" })],
    ["key exact (any task)", () => listRuns(sql, { ...base, key: "order-12346" })],
    ["key exact + task", () => listRuns(sql, { ...base, key: "order-12346", task: "charge_invoice" })],
    ["key prefix (narrow)", () => listRuns(sql, { ...base, key: "order-1234", keyMatch: "prefix" })],
    ["key prefix (broad)", () => listRuns(sql, { ...base, key: "order-", keyMatch: "prefix" })],
    ["worker", () => listRuns(sql, { ...base, worker: "worker-7" })],
    ["last 24h", () => listRuns(sql, { ...base, from: new Date(Date.now() - day) })],
    ["a day a week ago", () => listRuns(sql, { ...base, from: new Date(Date.now() - 8 * day), to: new Date(Date.now() - 7 * day) })],
    ["has duplicates", () => listRuns(sql, { ...base, hasDuplicates: true })],
    ["is retry", () => listRuns(sql, { ...base, isRetry: true })],
    ["search: numeric", () => listRuns(sql, { ...base, q: "12345" })],
    ["search: key", () => listRuns(sql, { ...base, q: "user-12345" })],
    ["sort finished", () => listRuns(sql, { ...base, sort: "finished" })],
    ["sort finished, page 5", () => listRuns(sql, { ...base, sort: "finished", cursor: finishedCursor })],
    ["sort finished + status=failed", () => listRuns(sql, { ...base, sort: "finished", status: "failed" })],
    ["task names", () => listTaskNames(sql)],
    ["run events (3000 heartbeats)", () => listRunEvents(sql, 1000)],
    ["run duplicates", () => listRunDuplicates(sql, 31)],
    ["lineage", () => getLineage(sql, { id: 2007, retryOf: 1007, rootRunId: 7 })],
    [
      "export (first batch)",
      async () => {
        for await (const batch of streamRuns(sql, { ...base, status: "failed" }, 10_000, 500)) return batch;
      },
    ],
  ];

  const explain = async (query: string, params: unknown[], generic: boolean): Promise<string[]> => {
    const text = query.trim();
    if (!/^(SELECT|WITH)\b/i.test(text)) return [];
    return sql.begin(async (tx) => {
      if (generic) await tx`SET LOCAL plan_cache_mode = force_generic_plan`;
      const plan = await tx.unsafe(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${text}`, params as postgres.ParameterOrJSON<never>[]);
      return plan.map((row) => String(row["QUERY PLAN"]));
    });
  };

  let problems = 0;
  for (const [label, run] of cases) {
    captured.length = 0;
    await run();
    const statements = captured.filter((entry) => /^\s*(SELECT|WITH)\b/i.test(entry.query) && !/plan_cache_mode/.test(entry.query));
    for (const generic of [false, true]) {
      for (const statement of statements) {
        captured.length = 0;
        const plan = await explain(statement.query, statement.params, generic);
        const seq = plan.some((line) => /Seq Scan on task_runs/.test(line));
        const sortAll = plan.some((line) => /Sort Method: (external|top-N heapsort).*Memory: \d{4,}kB/.test(line));
        const time = plan.find((line) => line.startsWith("Execution Time"))?.replace("Execution Time: ", "") ?? "";
        const nodes = plan
          .filter((line) => /(Scan|Sort|Limit|Append|Aggregate|Recursive|Nested Loop|Hash Join|Merge)/.test(line) && !/Sort (Key|Method)/.test(line))
          .map((line) => line.replace(/\s*\(actual.*$/, "").trim())
          .join(" | ");
        if (seq || sortAll) problems++;
        console.log(`${seq || sortAll ? "!!" : "ok"} ${label}${generic ? " [generic]" : ""}: ${time}\n     ${nodes}`);
        if (args.includes("--verbose") || seq || sortAll) console.log(plan.map((line) => `       ${line}`).join("\n"));
      }
    }
  }
  console.log(problems ? `\n${problems} plan(s) need a look` : "\nevery plan uses an index; no sequential scan of task_runs, no large sort");
} finally {
  await sql.end({ timeout: 5 });
  if (!keep) await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  else console.log(`kept ${name}`);
  await admin.end({ timeout: 5 });
}
