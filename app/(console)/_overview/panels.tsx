import type { ReactNode } from "react";
import { DuplicateOutcomes } from "@/components/overview/duplicate-outcomes";
import { HealthPanel } from "@/components/overview/health-panel";
import { RunsChart } from "@/components/overview/runs-chart";
import { StatusCards, type StatusCardKey } from "@/components/overview/status-cards";
import { TopDuplicatedTasks, TopFailingTasks } from "@/components/overview/top-tasks";
import { Panel } from "@/components/ui/panel";
import { EmptyState, ErrorState } from "@/components/ui/states";
import { getSql } from "@/lib/db";
import { checkHealth } from "@/lib/health";
import type { DuplicateOutcome } from "@/lib/ledger/schema";
import {
  countDuplicatesByOutcome,
  countRunsByStatus,
  countStuckRuns,
  runSeries,
  topTasksByDuplicates,
  topTasksByFailures,
} from "@/lib/ledger/stats";
import { windowSpecs, type StatsRange } from "@/lib/ledger/stats-window";
import { hrefWith } from "@/lib/url";

/**
 * The overview's panels: each reads its own numbers inside its own Suspense boundary, and a failed
 * read becomes an error inside that panel while the others still show.
 */

type Loaded<T> = { ok: true; value: T } | { ok: false };

async function load<T>(what: string, read: () => Promise<T>): Promise<Loaded<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (error) {
    console.error(`[idem] overview: reading ${what} failed`, error);
    return { ok: false };
  }
}

function PanelError({ title, what }: { title: string; what: string }) {
  return (
    <Panel title={title}>
      <ErrorState title={`Could not read ${what}.`}>If the banner above says Postgres is unreachable, this comes back when it does.</ErrorState>
    </Panel>
  );
}

const runsHref = (range: StatsRange, filters: { status?: string; task?: string }) =>
  hrefWith("/runs", { ...filters, from: range.start.toISOString() });

const duplicatesHref = (range: StatsRange, filters: { outcome?: string; task?: string }) =>
  hrefWith("/duplicates", { ...filters, from: range.start.toISOString() });

export async function StatusCardsPanel({ range }: { range: StatsRange }) {
  const sql = getSql();
  const result = await load("the run counts", () => Promise.all([countRunsByStatus(sql, range), countStuckRuns(sql)]));
  if (!result.ok) return <ErrorState title="Could not read the run counts.">If the banner above says Postgres is unreachable, this comes back when it does.</ErrorState>;
  const [counts, stuck] = result.value;
  const hrefFor = (key: StatusCardKey) =>
    key === "stuck" ? hrefWith("/runs", { status: "stuck" }) : runsHref(range, { status: key === "all" ? undefined : key });
  return <StatusCards counts={counts} stuck={stuck} hrefFor={hrefFor} />;
}

export async function ChartPanel({ range }: { range: StatsRange }) {
  const spec = windowSpecs[range.window];
  const title = `Runs created ${spec.stepLabel}, by status`;
  const result = await load("the runs chart", () => runSeries(getSql(), range));
  if (!result.ok) return <PanelError title={title} what="the runs chart" />;
  const points = result.value;
  const empty = points.every((p) => p.pending + p.running + p.succeeded + p.failed + p.cancelled === 0);
  return (
    <Panel title={title} description="Bars stack each bucket's runs by their status now. Click a segment to list those runs.">
      {empty ? (
        <EmptyState title={`No runs were created in ${spec.label}.`}>Pick a longer window above, or check that workers are running.</EmptyState>
      ) : (
        <RunsChart points={points} stepMs={range.stepMs} title={title} />
      )}
    </Panel>
  );
}

export async function DuplicatesPanel({ range }: { range: StatsRange }) {
  const title = "Duplicate attempts";
  const result = await load("the duplicate attempts", () => countDuplicatesByOutcome(getSql(), range));
  if (!result.ok) return <PanelError title={title} what="the duplicate attempts" />;
  const hrefFor = (outcome: DuplicateOutcome | null) => duplicatesHref(range, { outcome: outcome ?? undefined });
  return (
    <Panel title={title} description="Submissions of a key that was already claimed, by what the ledger told them.">
      <DuplicateOutcomes counts={result.value} hrefFor={hrefFor} />
    </Panel>
  );
}

export async function TopFailuresPanel({ range }: { range: StatsRange }) {
  const title = "Top tasks by failures";
  const result = await load("the failing tasks", () => topTasksByFailures(getSql(), range));
  if (!result.ok) return <PanelError title={title} what="the failing tasks" />;
  return (
    <Panel title={title} description="Runs created in this window that ended failed." bodyClassName="p-0 pb-1">
      <TopFailingTasks
        rows={result.value}
        taskHref={(task) => runsHref(range, { task })}
        failedHref={(task) => runsHref(range, { status: "failed", task })}
      />
    </Panel>
  );
}

export async function TopDuplicatesPanel({ range }: { range: StatsRange }) {
  const title = "Top tasks by duplicates";
  const result = await load("the duplicated tasks", () => topTasksByDuplicates(getSql(), range));
  if (!result.ok) return <PanelError title={title} what="the duplicated tasks" />;
  return (
    <Panel title={title} description="Which tasks are delivered more than once." bodyClassName="p-0 pb-1">
      <TopDuplicatedTasks
        rows={result.value}
        attemptsHref={(task) => duplicatesHref(range, { task })}
        mismatchHref={(task) => duplicatesHref(range, { task, outcome: "payload_mismatch" })}
      />
    </Panel>
  );
}

export async function HealthStatusPanel() {
  const health = await checkHealth();
  return (
    <Panel title="Servers" description="Round trip from the console, just now.">
      <HealthPanel postgres={health.postgres} redis={health.redis} />
    </Panel>
  );
}

export function PanelGrid({ children }: { children: ReactNode }) {
  return <div className="grid items-start gap-4 lg:grid-cols-3">{children}</div>;
}
