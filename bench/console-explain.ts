import postgres from "postgres";
import { buildCases, type Picks } from "./console-cases";

/**
 * EXPLAIN (ANALYZE, BUFFERS) of what one benchmark case sends: the case runs once on a client whose
 * debug hook records every statement with its parameters, then each SELECT is explained as a custom
 * plan and as the generic plan a prepared statement may switch to after five executions.
 */

interface Captured {
  query: string;
  params: unknown[];
}

interface PlanNode {
  name: string;
  rows: number;
  removed: number;
  buffers: number;
}

interface PlanSummary {
  ms: number;
  chain: string;
  key: PlanNode | null;
  jit: boolean;
}

export interface CaseExplain {
  /** One sentence for the findings. */
  summary: string;
  /** The plans in full, for the console output. */
  text: string[];
}

function parsePlan(lines: string[]): PlanSummary {
  const nodes: PlanNode[] = [];
  let current: PlanNode | null = null;
  let ms = Number.NaN;
  let jit = false;
  for (const raw of lines) {
    const line = raw.trimEnd();
    const node = /^\s*(?:->\s+)?(.+?)\s+\((?:cost=[^)]*\)\s+\()?actual time=[\d.]+\.\.[\d.]+ rows=(\d+) loops=(\d+)\)/.exec(line);
    if (node && (nodes.length === 0 || /->/.test(line))) {
      current = { name: node[1]!.trim(), rows: Number(node[2]) * Number(node[3]), removed: 0, buffers: 0 };
      nodes.push(current);
      continue;
    }
    const removed = /Rows Removed by (?:Filter|Index Recheck|Join Filter): (\d+)/.exec(line);
    if (removed && current) current.removed += Number(removed[1]);
    const buffers = /Buffers: shared(?: hit=(\d+))?(?: read=(\d+))?/.exec(line);
    if (buffers && current && current.buffers === 0) current.buffers = Number(buffers[1] ?? 0) + Number(buffers[2] ?? 0);
    const time = /^Execution Time: ([\d.]+) ms/.exec(line.trim());
    if (time) ms = Number(time[1]);
    if (/^JIT:/.test(line.trim())) jit = true;
  }
  const scans = nodes.filter((n) => /Scan|Sort|Aggregate|Join|Loop/.test(n.name));
  const key = scans.reduce<PlanNode | null>((best, n) => (best === null || n.rows + n.removed > best.rows + best.removed ? n : best), null);
  const chain = nodes
    .map((n) => n.name.replace(/ on idem\.\w+| using (\w+)/g, (m, index: string | undefined) => (index ? ` using ${index}` : "")))
    .slice(0, 6)
    .join(" → ");
  return { ms, chain, key, jit };
}

const n = (value: number) => value.toLocaleString("en-US");

function describe(kind: string, plan: PlanSummary): string {
  const key = plan.key
    ? `; key node \`${plan.key.name}\` read ${n(plan.key.rows + plan.key.removed)} rows${plan.key.removed ? ` (${n(plan.key.removed)} removed by the filter)` : ""}, ${n(plan.key.buffers)} buffers`
    : "";
  return `${kind} plan ${plan.ms.toFixed(1)} ms: \`${plan.chain}\`${key}${plan.jit ? ", with JIT" : ""}`;
}

export async function explainCase(url: string, picks: Picks, caseId: string): Promise<CaseExplain> {
  const captured: Captured[] = [];
  let capturing = false;
  const sql = postgres(url, {
    max: 1,
    onnotice: () => undefined,
    connection: { application_name: "idem-bench-console-explain" },
    debug: (_connection, query, parameters) => {
      if (capturing) captured.push({ query, params: [...(parameters as unknown[])] });
    },
  });
  try {
    const found = buildCases(sql, picks).find((c) => c.id === caseId);
    if (!found) throw new Error(`no case ${caseId}`);
    capturing = true;
    await found.run(0);
    capturing = false;
    // postgres.js's own type lookups go through pg_catalog; only the case's statements are explained.
    const statements = captured.filter((c) => /^\s*(SELECT|WITH)\b/i.test(c.query) && !/pg_catalog\./.test(c.query));
    const text: string[] = [];
    let worst: { custom: PlanSummary; generic: PlanSummary } | null = null;
    for (const statement of statements) {
      const plans: PlanSummary[] = [];
      const params = statement.params as postgres.ParameterOrJSON<never>[];
      // The parameter types the server infers for the statement, for PREPARE.
      const described = await sql.unsafe(statement.query).describe();
      const typeNames = await sql<Array<{ name: string }>>`
        SELECT format_type(t.oid, NULL) AS name FROM unnest(${described.types}::oid[]) WITH ORDINALITY AS u(oid, i)
        JOIN pg_type t ON t.oid = u.oid ORDER BY u.i`;
      for (const mode of ["custom", "generic"] as const) {
        // EXPLAIN of a statement with bound parameters always plans with their values (a custom plan);
        // the generic plan is only reachable through a prepared statement and EXPLAIN EXECUTE.
        const lines = await sql.begin(async (tx) => {
          const rows =
            mode === "custom"
              ? await tx.unsafe(`EXPLAIN (ANALYZE, BUFFERS) ${statement.query}`, params)
              : await (async () => {
                  await tx.unsafe("SET LOCAL plan_cache_mode = force_generic_plan");
                  await tx.unsafe(`PREPARE idem_bench_explain (${typeNames.map((t) => t.name).join(", ")}) AS ${statement.query}`);
                  // A utility statement takes no bound parameters, so EXECUTE gets the values as literals,
                  // quoted by the server.
                  const texts = statement.params.map((value) => (value instanceof Date ? value.toISOString() : value === null ? null : String(value)));
                  const quoted = await tx<Array<{ literal: string }>>`
                    SELECT quote_nullable(v) AS literal FROM unnest(${texts}::text[]) WITH ORDINALITY AS u(v, i) ORDER BY u.i`;
                  const args = quoted.map((q, i) => `${q.literal}::${typeNames[i]?.name ?? "text"}`).join(", ");
                  const explained = await tx.unsafe(`EXPLAIN (ANALYZE, BUFFERS) EXECUTE idem_bench_explain${params.length ? `(${args})` : ""}`);
                  await tx.unsafe("DEALLOCATE idem_bench_explain");
                  return explained;
                })();
          return rows.map((row) => String(row["QUERY PLAN"]));
        });
        text.push(`${mode} plan of: ${statement.query.replace(/\s+/g, " ").trim().slice(0, 160)}…`, ...lines.map((l) => `  ${l}`));
        plans.push(parsePlan(lines));
      }
      const [custom, generic] = plans as [PlanSummary, PlanSummary];
      if (!worst || Math.max(custom.ms, generic.ms) > Math.max(worst.custom.ms, worst.generic.ms)) worst = { custom, generic };
    }
    if (!worst) return { summary: "No SELECT was captured.", text };
    const same = worst.custom.chain === worst.generic.chain;
    const summary = same
      ? `${describe("Its slowest statement's", worst.custom)} (the generic plan is the same, ${worst.generic.ms.toFixed(1)} ms).`
      : `Its slowest statement: ${describe("custom", worst.custom)}; ${describe("generic", worst.generic)}.`;
    return { summary, text };
  } finally {
    await sql.end({ timeout: 5 });
  }
}
