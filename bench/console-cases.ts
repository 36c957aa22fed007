import type postgres from "postgres";
import { encodeCursor, type RunCursor } from "@/lib/ledger/cursor";
import { encodeDuplicateCursor, type DuplicateCursor } from "@/lib/ledger/duplicate-cursor";
import { duplicateFilterChoices, listDuplicateAttempts, topDuplicateKeys, topDuplicateSources } from "@/lib/ledger/duplicates";
import { getLineage, getRun, listRunDuplicates, listRunEvents, listRuns, listTaskNames } from "@/lib/ledger/queries";
import {
  countDuplicatesByOutcome,
  countRunsByStatus,
  countStuckRuns,
  hasAnyRuns,
  runSeries,
  topTasksByDuplicates,
  topTasksByFailures,
} from "@/lib/ledger/stats";
import { statsRange, type OverviewWindow } from "@/lib/ledger/stats-window";
import { auditFacets, listOperatorActions } from "@/lib/ops/audit";
import { auditSchema, encodeAuditCursor, type AuditCursor } from "@/lib/params/audit";
import { DUPLICATES_PAGE_SIZE, duplicatesSchema, toDuplicateFilters } from "@/lib/params/duplicates";
import { runsListSchema, toRunListQuery } from "@/lib/params/runs";
import { COMMON_TASK, COMMON_WORKER, DAYS, MID_TASK, RARE_ACTION, RARE_ACTOR, RARE_DUP_SOURCE, RARE_TASK, RARE_WORKER, OPERATORS, type LoadPlan } from "./console-data";

/**
 * What the console benchmark times: the console's own query functions, called the way its pages call
 * them. List pages go through their zod parameter schemas (lib/params/*) exactly as the page does, so
 * each case is a URL the console serves; the label is that URL's query string.
 */

type Sql = postgres.Sql;
type Params = Record<string, string>;

export type CaseGroup = "Runs list" | "Run detail" | "Overview" | "Duplicates" | "Audit log";

export interface QueryCase {
  id: string;
  group: CaseGroup;
  /** The URL's query string, or the function called. */
  label: string;
  /** What the parameters select (how many runs match), for the table. */
  detail?: string;
  /**
   * Why this query costs what it does, from reading its plans at 10M runs; the findings quote it only
   * when the query misses the target, next to the plan measured in that run.
   */
  whenSlow?: string;
  /** One call; returns how many rows the function returned (page rows, events, buckets). */
  run(rep: number): Promise<number>;
}

export interface Picks {
  end: Date;
  taskRuns: Map<string, number>;
  workerRuns: Map<string, number>;
  exactKeys: string[];
  searchIds: number[];
  narrowPrefixes: string[];
  narrowMatches: number;
  mediumPrefixes: string[];
  mediumMatches: number;
  broadPrefixes: Array<{ prefix: string; matches: number }>;
  page501: RunCursor | null;
  page501Ms: number;
  createdBack: RunCursor | null;
  failedBack: RunCursor | null;
  finishedBack: RunCursor | null;
  duplicateBack: DuplicateCursor | null;
  auditBack: AuditCursor | null;
  detailRuns: Array<{ role: string; id: number; retryOf: number | null; rootRunId: number; note: string }>;
  hotRun: number | null;
  counts: { failed: number; stuck: number; pending: number; running: number; dups: number; retries: number; last24h: number };
}

const n = (value: number) => value.toLocaleString("en-US");
const runsText = (count: number) => `${n(count)} run${count === 1 ? "" : "s"}`;
const PREFIX_REPS = 64;

function spread(count: number, total: number): number[] {
  return Array.from({ length: count }, (_, k) => Math.max(1, Math.floor((total * (k + 0.5)) / count)));
}

async function cursorBefore(sql: Sql, at: Date, filter: "none" | "failed" | "finished"): Promise<RunCursor | null> {
  const where =
    filter === "failed"
      ? sql`status = 'failed' AND created_at < ${at.toISOString()}::timestamptz`
      : filter === "finished"
        ? sql`finished_at IS NOT NULL AND finished_at < ${at.toISOString()}::timestamptz`
        : sql`created_at < ${at.toISOString()}::timestamptz`;
  const column = filter === "finished" ? sql`finished_at` : sql`created_at`;
  const [row] = await sql<Array<{ at: string; id: string }>>`
    SELECT to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, id::text AS id
    FROM idem.task_runs WHERE ${where}
    ORDER BY ${column} DESC, id DESC LIMIT 1`;
  return row ? { sort: filter === "finished" ? "finished" : "created", direction: "next", at: row.at, id: Number(row.id) } : null;
}

/** Chooses the parameters (keys, ids, cursors, runs to open) from the loaded data. Not timed. */
export async function pickParameters(sql: Sql, plan: LoadPlan): Promise<Picks> {
  const back = new Date(plan.end.getTime() - DAYS * 0.8 * 86_400_000);
  const taskRows = await sql<Array<{ task_name: string; runs: string }>>`
    SELECT task_name, sum(runs)::text AS runs FROM idem.run_stats_hour GROUP BY task_name`;
  const taskRuns = new Map(taskRows.map((row) => [row.task_name, Number(row.runs)]));
  const workerRuns = new Map<string, number>();
  for (const worker of [COMMON_WORKER, RARE_WORKER]) {
    const [row] = await sql<Array<{ n: string }>>`SELECT count(*)::text AS n FROM idem.task_runs WHERE lease_owner = ${worker}`;
    workerRuns.set(worker, Number(row?.n ?? 0));
  }
  const ids = spread(40, plan.runs);
  const keyRows = await sql<Array<{ id: string; key: string }>>`
    SELECT id::text AS id, idempotency_key AS key FROM idem.task_runs WHERE id = ANY(${ids}::bigint[]) ORDER BY id`;
  const exactKeys = keyRows.map((row) => row.key);
  // `invoice-<id without its last two digits>`: about 111 ids share it, 12% of them are charge_invoice runs.
  const narrowPrefixes = spread(PREFIX_REPS, plan.runs).map((id) => `invoice-${String(id).slice(0, Math.max(1, String(id).length - 2))}`);
  const mediumPrefixes = Array.from({ length: PREFIX_REPS }, (_, k) => `evt_${((k * 37 + 11) % 256).toString(16).padStart(2, "0")}`);
  const countPrefix = async (prefix: string) => {
    const upper = prefix.slice(0, -1) + String.fromCodePoint(prefix.codePointAt(prefix.length - 1)! + 1);
    const [row] = await sql<Array<{ n: string }>>`
      SELECT count(*)::text AS n FROM idem.task_runs WHERE idempotency_key >= ${prefix} AND idempotency_key < ${upper}`;
    return Number(row?.n ?? 0);
  };
  const broadPrefixes = [];
  for (const prefix of ["user:", "evt_", "invoice-"]) broadPrefixes.push({ prefix, matches: await countPrefix(prefix) });

  // Page 501 as a user reaches it: by following the next-page link 500 times.
  let page = await listRuns(sql, toRunListQuery(runsListSchema.parse({})));
  let cursor: RunCursor | null = null;
  const walkStarted = performance.now();
  let pages = 1;
  while (pages < 501 && page.nextCursor) {
    cursor = page.nextCursor;
    page = await listRuns(sql, toRunListQuery(runsListSchema.parse({ cursor: encodeCursor(cursor) })));
    pages++;
  }
  const page501Ms = (performance.now() - walkStarted) / Math.max(1, pages - 1);
  const page501 = pages === 501 ? cursor : null;

  const [dupRow] = await sql<Array<{ at: string; id: string }>>`
    SELECT to_char(attempted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, id::text AS id
    FROM idem.duplicate_attempts WHERE attempted_at < ${back.toISOString()}::timestamptz ORDER BY attempted_at DESC, id DESC LIMIT 1`;
  const [auditRow] = await sql<Array<{ at: string; id: string }>>`
    SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, id::text AS id
    FROM idem.operator_actions WHERE at < ${back.toISOString()}::timestamptz ORDER BY at DESC, id DESC LIMIT 1`;

  const [typical] = await sql<Array<{ id: string }>>`
    SELECT e.run_id::text AS id FROM idem.run_events e
    WHERE e.run_id > ${Math.floor(plan.runs / 2)}::bigint AND e.kind = 'heartbeat'
      AND e.run_id <> ALL(${[plan.bigTimelineRun, plan.hugeTimelineRun]}::bigint[])
    ORDER BY e.run_id LIMIT 1`;
  const [hot] = await sql<Array<{ id: string; n: number }>>`
    SELECT id::text AS id, duplicate_count AS n FROM idem.task_runs WHERE duplicate_count > 0 ORDER BY duplicate_count DESC, id LIMIT 1`;
  const [chain] = await sql<Array<{ id: string; key: string }>>`
    SELECT id::text AS id, idempotency_key AS key FROM idem.task_runs WHERE retry_of IS NOT NULL
    ORDER BY substring(idempotency_key FROM '#retry-([0-9]+)$')::int DESC, id LIMIT 1`;
  const roles: Array<{ role: string; id: number; note: string }> = [];
  if (typical) roles.push({ role: "typical", id: Number(typical.id), note: "a run with a few heartbeats" });
  roles.push({ role: "long timeline", id: plan.bigTimelineRun, note: `${n(10_000)} heartbeats over 3 leases` });
  roles.push({ role: "longest timeline", id: plan.hugeTimelineRun, note: `${n(100_000)} heartbeats in one lease (counted up to 10,000)` });
  if (hot) roles.push({ role: "hot key", id: Number(hot.id), note: `${n(hot.n)} duplicate attempts` });
  if (chain) roles.push({ role: "retry chain", id: Number(chain.id), note: `\`${chain.key.replace(/^.*(#retry-\d+)$/, "…$1")}\`` });
  const detailRuns = [];
  for (const role of roles) {
    const run = await getRun(sql, role.id);
    if (run) detailRuns.push({ ...role, retryOf: run.retryOf, rootRunId: run.rootRunId });
  }

  const [counts] = await sql<Array<Record<string, string>>>`
    SELECT (SELECT count(*) FROM idem.task_runs WHERE status = 'failed')::text AS failed,
           (SELECT count(*) FROM idem.task_runs WHERE status = 'running' AND lease_expires_at < now())::text AS stuck,
           (SELECT count(*) FROM idem.task_runs WHERE status = 'pending')::text AS pending,
           (SELECT count(*) FROM idem.task_runs WHERE status = 'running')::text AS running,
           (SELECT count(*) FROM idem.task_runs WHERE duplicate_count > 0)::text AS dups,
           (SELECT count(*) FROM idem.task_runs WHERE retry_of IS NOT NULL)::text AS retries,
           (SELECT count(*) FROM idem.task_runs WHERE created_at >= now() - interval '24 hours')::text AS last24h`;
  const count = (key: string) => Number(counts?.[key] ?? 0);
  return {
    end: plan.end,
    taskRuns,
    workerRuns,
    exactKeys,
    searchIds: ids,
    narrowPrefixes,
    narrowMatches: await countPrefix(narrowPrefixes[Math.floor(PREFIX_REPS / 2)]!),
    mediumPrefixes,
    mediumMatches: await countPrefix(mediumPrefixes[0]!),
    broadPrefixes,
    page501,
    page501Ms,
    createdBack: await cursorBefore(sql, back, "none"),
    failedBack: await cursorBefore(sql, back, "failed"),
    finishedBack: await cursorBefore(sql, back, "finished"),
    duplicateBack: dupRow ? { direction: "older", at: dupRow.at, id: Number(dupRow.id) } : null,
    auditBack: auditRow ? { at: auditRow.at, id: Number(auditRow.id) } : null,
    detailRuns,
    hotRun: hot ? Number(hot.id) : null,
    counts: {
      failed: count("failed"),
      stuck: count("stuck"),
      pending: count("pending"),
      running: count("running"),
      dups: count("dups"),
      retries: count("retries"),
      last24h: count("last24h"),
    },
  };
}

const LONG_TIMELINE_WHEN_SLOW =
  "Why: the transitions and the latest 500 heartbeats are short walks of run_events_timeline_idx (run_id, kind, " +
  "fencing_token, id), but the per-lease summary counts every heartbeat of the run, up to the 10,000 cap per lease " +
  "(HEARTBEAT_COUNT_LIMIT in lib/ledger/queries.ts), from the index: the cost grows with the run's heartbeats, not with " +
  "the ledger. Options (not made): a lower cap, or a per-lease heartbeat count kept on the run (one more column written " +
  "by every heartbeat).";

const KEYS_GROUPING_WHEN_SLOW =
  "Why: the grouped view groups the newest 10,000 attempts that match the filters. Mismatches are 2% of attempts, so " +
  "their newest 10,000 reach back weeks and lie on about 7,000 heap pages, each read to learn the attempt's key and " +
  "source. Options (not made): a smaller window for the grouped view, or (key, task, source) carried in " +
  "duplicate_attempts_outcome_at_idx so the grouping reads the index alone (a wider index on every duplicate's write).";

const at = <T>(list: readonly T[], rep: number): T => list[((rep % list.length) + list.length) % list.length]!;

/** Every case, in the order the table lists them. */
export function buildCases(sql: Sql, picks: Picks): QueryCase[] {
  const cases: QueryCase[] = [];
  const tasks = (name: string) => runsText(picks.taskRuns.get(name) ?? 0);
  const workers = (name: string) => runsText(picks.workerRuns.get(name) ?? 0);
  const day = 86_400_000;
  const weekAgo = new Date(picks.end.getTime() - 7 * day).toISOString();
  const weekAgoMinusDay = new Date(picks.end.getTime() - 8 * day).toISOString();

  const runs = (id: string, label: string, params: (rep: number) => Params, detail?: string, whenSlow?: string) => {
    cases.push({
      id,
      group: "Runs list",
      label,
      ...(detail ? { detail } : {}),
      ...(whenSlow ? { whenSlow } : {}),
      async run(rep) {
        const parsed = runsListSchema.safeParse(params(rep));
        if (!parsed.success) throw new Error(`${label}: ${parsed.error.issues[0]?.message ?? "invalid parameters"}`);
        const page = await listRuns(sql, toRunListQuery(parsed.data));
        return page.runs.length;
      },
    });
  };
  const fixed = (params: Params) => () => params;
  const cursorParam = (cursor: RunCursor | null): Params => (cursor ? { cursor: encodeCursor(cursor) } : {});

  runs("page1", "(no filter), page 1", fixed({}), "newest first");
  runs("asc", "order=asc", fixed({ order: "asc" }), "oldest first");
  runs("pageSize200", "pageSize=200", fixed({ pageSize: "200" }));
  if (picks.page501) runs("page501", "cursor=… (page 501)", fixed(cursorParam(picks.page501)), `reached by following 500 next cursors (${picks.page501Ms.toFixed(1)} ms per page on the walk)`);
  if (picks.createdBack) {
    runs("back80", "cursor=… (80% back in time)", fixed(cursorParam(picks.createdBack)), `a run created ${Math.round(DAYS * 0.8)} days ago`);
    runs("prev80", "cursor=… (previous page, 80% back)", fixed(cursorParam({ ...picks.createdBack, direction: "prev" })));
  }
  runs("succeeded", "status=succeeded", fixed({ status: "succeeded" }), "~95% of runs");
  runs("failed", "status=failed", fixed({ status: "failed" }), runsText(picks.counts.failed));
  runs("cancelled", "status=cancelled", fixed({ status: "cancelled" }), "~1% of runs");
  runs("pending", "status=pending", fixed({ status: "pending" }), runsText(picks.counts.pending));
  runs("running", "status=running", fixed({ status: "running" }), `${n(picks.counts.running)} runs (stuck included)`);
  runs("stuck", "status=stuck", fixed({ status: "stuck" }), runsText(picks.counts.stuck));
  if (picks.failedBack) runs("failedBack", "status=failed&cursor=… (80% back)", fixed({ status: "failed", ...cursorParam(picks.failedBack) }));
  runs("taskCommon", `task=${COMMON_TASK}`, fixed({ task: COMMON_TASK }), tasks(COMMON_TASK));
  runs("taskMid", `task=${MID_TASK}`, fixed({ task: MID_TASK }), tasks(MID_TASK));
  runs("taskRare", `task=${RARE_TASK}`, fixed({ task: RARE_TASK }), tasks(RARE_TASK));
  runs("keyExact", "key=<an existing key>", (rep) => ({ key: at(picks.exactKeys, rep) }), `${picks.exactKeys.length} different keys in turn`);
  runs("keyAbsent", "key=<no such key>", (rep) => ({ key: `invoice-none-${rep}` }));
  runs("prefixNarrow", "key=invoice-1234…&keyMatch=prefix (narrow)", (rep) => ({ key: at(picks.narrowPrefixes, rep), keyMatch: "prefix" }),
    `${PREFIX_REPS} prefixes in turn, ~${n(picks.narrowMatches)} runs each`);
  runs("prefixMedium", "key=evt_3f&keyMatch=prefix (medium)", (rep) => ({ key: at(picks.mediumPrefixes, rep), keyMatch: "prefix" }),
    `${PREFIX_REPS} prefixes in turn, ~${n(picks.mediumMatches)} runs each`,
    "Why: the list is ordered by created_at and the keys matching a prefix are scattered over the whole heap. The page's " +
      "ids are chosen in a subquery from task_runs_key_task_uq, which carries (created_at, id) (drizzle/0008), so only " +
      "the page's rows are read from the heap; what is left is the index range of the prefix, which grows with its matches.");
  runs("prefixBroad", "key=user:&keyMatch=prefix (broad)", (rep) => ({ key: at(picks.broadPrefixes, rep).prefix, keyMatch: "prefix" }),
    picks.broadPrefixes.map((p) => `\`${p.prefix}\` ${n(p.matches)}`).join(", ") + " runs, in turn");
  runs("workerCommon", `worker=${COMMON_WORKER}`, fixed({ worker: COMMON_WORKER }), workers(COMMON_WORKER));
  runs("workerRare", `worker=${RARE_WORKER}`, fixed({ worker: RARE_WORKER }), workers(RARE_WORKER));
  runs("from24h", "from=24h", fixed({ from: "24h" }), runsText(picks.counts.last24h));
  runs("dayWeekAgo", "from=<8 days ago>&to=<7 days ago>", fixed({ from: weekAgoMinusDay, to: weekAgo }), "one day a week back");
  runs("dups", "dups=1", fixed({ dups: "1" }), runsText(picks.counts.dups));
  runs("retry", "retry=1", fixed({ retry: "1" }), runsText(picks.counts.retries));
  runs("finished", "sort=finished", fixed({ sort: "finished" }));
  if (picks.finishedBack) runs("finishedBack", "sort=finished&cursor=… (80% back)", fixed({ sort: "finished", ...cursorParam(picks.finishedBack) }));
  runs("qId", "q=<run id>", (rep) => ({ q: String(at(picks.searchIds, rep)) }), "matches the id (or a key equal to it)");
  runs("qKey", "q=<key>", (rep) => ({ q: at(picks.exactKeys, rep + 7) }));
  // Combinations, among them the links the overview's panels make.
  runs("failedTaskCommon", "status=failed&task=webhook_deliver", fixed({ status: "failed", task: "webhook_deliver" }));
  runs("failedTaskRare", `status=failed&task=${RARE_TASK}`, fixed({ status: "failed", task: RARE_TASK }), "no such run");
  runs("failedTask24h", `status=failed&task=${COMMON_TASK}&from=24h`, fixed({ status: "failed", task: COMMON_TASK, from: "24h" }), "overview link");
  runs("task7d", "task=charge_invoice&from=7d", fixed({ task: "charge_invoice", from: "7d" }), "overview link");
  runs("failedWorker", `status=failed&worker=${COMMON_WORKER}`, fixed({ status: "failed", worker: COMMON_WORKER }));
  runs("cancelledWorkerRare", `status=cancelled&worker=${RARE_WORKER}`, fixed({ status: "cancelled", worker: RARE_WORKER }));
  runs("dupsTask", "dups=1&task=charge_invoice", fixed({ dups: "1", task: "charge_invoice" }));
  runs("dupsTaskRare", `dups=1&task=${RARE_TASK}`, fixed({ dups: "1", task: RARE_TASK }));
  runs("retryFailed", "retry=1&status=failed", fixed({ retry: "1", status: "failed" }));
  runs("failedPrefix", "status=failed&key=evt_&keyMatch=prefix", fixed({ status: "failed", key: "evt_", keyMatch: "prefix" }));
  runs("stuckTask", "status=stuck&task=transcode_file", fixed({ status: "stuck", task: "transcode_file" }));
  runs("finishedFailed", "sort=finished&status=failed", fixed({ sort: "finished", status: "failed" }));
  runs("finishedTaskRare", `sort=finished&task=${RARE_TASK}`, fixed({ sort: "finished", task: RARE_TASK }));
  runs("finishedWorkerRare", `sort=finished&worker=${RARE_WORKER}`, fixed({ sort: "finished", worker: RARE_WORKER }));
  runs("finished24h", "sort=finished&from=24h", fixed({ sort: "finished", from: "24h" }));
  runs("ascFailed", "order=asc&status=failed", fixed({ order: "asc", status: "failed" }), "oldest failures first");
  runs("ascTask", `order=asc&task=${MID_TASK}`, fixed({ order: "asc", task: MID_TASK }));
  cases.push({ id: "taskNames", group: "Runs list", label: "listTaskNames (the task filter's choices)", run: async () => (await listTaskNames(sql)).length });

  for (const detail of picks.detailRuns) {
    const who = `#${detail.id}, ${detail.role}`;
    const note = detail.note;
    cases.push({ id: `getRun:${detail.role}`, group: "Run detail", label: `getRun (${who})`, detail: note, run: async () => ((await getRun(sql, detail.id)) ? 1 : 0) });
    cases.push({
      id: `events:${detail.role}`,
      group: "Run detail",
      label: `listRunEvents (${who})`,
      detail: note,
      ...(detail.role === "longest timeline" ? { whenSlow: LONG_TIMELINE_WHEN_SLOW } : {}),
      run: async () => (await listRunEvents(sql, detail.id)).events.length,
    });
    cases.push({
      id: `duplicates:${detail.role}`,
      group: "Run detail",
      label: `listRunDuplicates (${who})`,
      detail: note,
      run: async () => (await listRunDuplicates(sql, detail.id)).recent.length,
    });
    cases.push({
      id: `lineage:${detail.role}`,
      group: "Run detail",
      label: `getLineage (${who})`,
      detail: note,
      run: async () => (await getLineage(sql, { id: detail.id, retryOf: detail.retryOf, rootRunId: detail.rootRunId })).tree.length,
    });
  }

  cases.push({ id: "hasAnyRuns", group: "Overview", label: "hasAnyRuns", run: async () => ((await hasAnyRuns(sql)) ? 1 : 0) });
  cases.push({ id: "stuckCount", group: "Overview", label: "countStuckRuns", run: async () => ((await countStuckRuns(sql)) >= 0 ? 1 : 0) });
  const windows: OverviewWindow[] = ["1h", "24h", "7d", "30d"];
  for (const window of windows) {
    const range = () => statsRange(window);
    cases.push({ id: `status:${window}`, group: "Overview", label: `countRunsByStatus (${window})`, run: async () => Object.keys(await countRunsByStatus(sql, range())).length });
    cases.push({ id: `series:${window}`, group: "Overview", label: `runSeries (${window})`, run: async () => (await runSeries(sql, range())).length });
    cases.push({ id: `outcomes:${window}`, group: "Overview", label: `countDuplicatesByOutcome (${window})`, run: async () => Object.keys(await countDuplicatesByOutcome(sql, range())).length });
    cases.push({ id: `topFailures:${window}`, group: "Overview", label: `topTasksByFailures (${window})`, run: async () => (await topTasksByFailures(sql, range())).length });
    cases.push({ id: `topDuplicates:${window}`, group: "Overview", label: `topTasksByDuplicates (${window})`, run: async () => (await topTasksByDuplicates(sql, range())).length });
  }

  const duplicates = (id: string, label: string, params: Params, detail?: string, whenSlow?: string) => {
    const parsed = duplicatesSchema.safeParse(params);
    if (!parsed.success) throw new Error(`${label}: ${parsed.error.issues[0]?.message ?? "invalid parameters"}`);
    const view = parsed.data.view;
    cases.push({
      id,
      group: "Duplicates",
      label,
      ...(detail ? { detail } : {}),
      ...(whenSlow ? { whenSlow } : {}),
      async run() {
        const again = duplicatesSchema.parse(params);
        const filters = toDuplicateFilters(again);
        if (view === "keys") return (await topDuplicateKeys(sql, filters)).groups.length;
        if (view === "sources") {
          const result = await topDuplicateSources(sql, filters);
          return result.sources.length + result.workers.length;
        }
        return (await listDuplicateAttempts(sql, { ...filters, ...(again.cursor ? { cursor: again.cursor } : {}), pageSize: DUPLICATES_PAGE_SIZE })).attempts.length;
      },
    });
  };
  duplicates("dupPage1", "(no filter), page 1", {});
  duplicates("dupMismatch", "outcome=payload_mismatch", { outcome: "payload_mismatch" });
  duplicates("dupInProgress", "outcome=in_progress", { outcome: "in_progress" });
  duplicates("dupTask", "task=webhook_deliver", { task: "webhook_deliver" });
  duplicates("dupTaskRare", "task=daily_report", { task: "daily_report" });
  duplicates("dupSource", "source=sqs", { source: "sqs" });
  duplicates("dupSourceRare", `source=${RARE_DUP_SOURCE}`, { source: RARE_DUP_SOURCE });
  duplicates("dupWorkerRare", `worker=${RARE_WORKER}`, { worker: RARE_WORKER });
  if (picks.hotRun !== null) duplicates("dupRun", "run=<the hot key's run>", { run: String(picks.hotRun) });
  duplicates("dup24h", "from=24h", { from: "24h" });
  duplicates("dupMismatchTask", "outcome=payload_mismatch&task=charge_invoice", { outcome: "payload_mismatch", task: "charge_invoice" });
  if (picks.duplicateBack) duplicates("dupBack", "cursor=… (80% back)", { cursor: encodeDuplicateCursor(picks.duplicateBack) });
  duplicates("keys", "view=keys", { view: "keys" }, "groups the newest 10,000 attempts");
  duplicates("keysMismatch", "view=keys&outcome=payload_mismatch", { view: "keys", outcome: "payload_mismatch" }, undefined, KEYS_GROUPING_WHEN_SLOW);
  duplicates("keysTask7d", "view=keys&task=webhook_deliver&from=7d", { view: "keys", task: "webhook_deliver", from: "7d" });
  duplicates("sources", "view=sources", { view: "sources" });
  duplicates("sources24h", "view=sources&from=24h", { view: "sources", from: "24h" });
  cases.push({
    id: "dupChoices",
    group: "Duplicates",
    label: "duplicateFilterChoices (the filter menus)",
    run: async () => {
      const choices = await duplicateFilterChoices(sql);
      return choices.tasks.length + choices.sources.length;
    },
  });

  const audit = (id: string, label: string, params: Params) => {
    cases.push({
      id,
      group: "Audit log",
      label,
      async run() {
        const parsed = auditSchema.parse(params);
        const page = await listOperatorActions(sql, {
          actor: parsed.actor,
          action: parsed.action,
          outcome: parsed.outcome,
          from: parsed.from?.at,
          to: parsed.to?.at,
          cursor: parsed.cursor,
          limit: parsed.pageSize,
        });
        return page.entries.length;
      },
    });
  };
  audit("auditPage1", "(no filter), page 1", {});
  audit("auditActor", `actor=${OPERATORS[0]!}`, { actor: OPERATORS[0]! });
  audit("auditActorRare", `actor=${RARE_ACTOR}`, { actor: RARE_ACTOR });
  audit("auditAction", "action=run.cancel", { action: "run.cancel" });
  audit("auditActionRare", `action=${RARE_ACTION}`, { action: RARE_ACTION });
  audit("auditOutcome", "outcome=error", { outcome: "error" });
  if (picks.auditBack) audit("auditBack", "cursor=… (80% back)", { cursor: encodeAuditCursor(picks.auditBack) });
  cases.push({
    id: "auditFacets",
    group: "Audit log",
    label: "auditFacets (the filter suggestions)",
    run: async () => {
      const facets = await auditFacets(sql);
      return facets.actors.length + facets.actions.length;
    },
  });

  return cases;
}
