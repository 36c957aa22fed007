import type { Metadata, Route } from "next";
import Link from "next/link";
import { Suspense } from "react";
import { RunsFilterBar, type RunsFilterValues } from "@/components/runs/runs-filter-bar";
import { KeysetPagination } from "@/components/ui/keyset-pagination";
import { RunsTable, RunsTableSkeleton } from "@/components/runs/runs-table";
import { PageHeader } from "@/components/shell/page-header";
import { buttonClass } from "@/components/ui/button";
import { EmptyState, ErrorState } from "@/components/ui/states";
import { requireUser } from "@/lib/auth/current";
import { getSql } from "@/lib/db";
import { listRuns, listTaskNames } from "@/lib/ledger/queries";
import { describeIssue } from "@/lib/params/registry";
import { runsListSchema, runsSearch, toRunListQuery, type RunsListParams } from "@/lib/params/runs";
import { hrefWith } from "@/lib/url";
import { BulkRetry } from "./bulk-retry";

export const metadata: Metadata = { title: "Runs" };

type SearchParams = Record<string, string | string[] | undefined>;

/** Task history: every run in the ledger, filtered by what is in the URL, a keyset page at a time. */
export default async function RunsPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  await requireUser("viewer");
  const raw = await searchParams;
  const parsed = runsListSchema.safeParse(raw);
  if (!parsed.success) {
    // proxy.ts answers these with a 400 before the page renders; this is the fallback.
    return (
      <>
        <PageHeader title="Runs" />
        <ErrorState title="Bad request">{describeIssue(parsed.error)}</ErrorState>
      </>
    );
  }
  const params = parsed.data;
  const taskNames = await listTaskNames(getSql());
  const search = runsSearch(params, { cursor: null });
  const exportHref = (format: "csv" | "json") => hrefWith("/runs/export", { ...search, pageSize: undefined, format });

  return (
    <>
      <PageHeader
        title="Runs"
        description="Every task run in the ledger. Filters live in the address, so a view can be shared."
        actions={
          <>
            {/* Plain links: a route handler answers with a download, not a page. */}
            <a href={exportHref("csv")} download className={buttonClass("secondary", "sm")} data-testid="export-csv">
              Export CSV
            </a>
            <a href={exportHref("json")} download className={buttonClass("secondary", "sm")} data-testid="export-json">
              Export JSON
            </a>
          </>
        }
      />
      <RunsFilterBar values={filterValues(params)} taskNames={taskNames} />
      <ActiveFilters params={params} />
      <Suspense key={JSON.stringify(runsSearch(params))} fallback={<RunsTableSkeleton rows={Math.min(params.pageSize, 12)} />}>
        <RunsResults params={params} />
      </Suspense>
    </>
  );
}

async function RunsResults({ params }: { params: RunsListParams }) {
  const page = await listRuns(getSql(), toRunListQuery(params));
  const now = new Date();
  const filtered = hasFilters(params);
  if (page.runs.length === 0) {
    if (params.cursor) {
      return (
        <EmptyState
          title="No more runs on this page."
          action={
            <Link href={hrefWith("/runs", runsSearch(params, { cursor: null })) as Route} className="text-sm font-medium text-sky-700 hover:underline">
              Back to the first page
            </Link>
          }
        >
          The runs this page continued from are gone, or there are none past them.
        </EmptyState>
      );
    }
    return filtered ? (
      <EmptyState
        title="No runs match these filters."
        action={
          <Link href="/runs" className="text-sm font-medium text-sky-700 hover:underline">
            Clear all filters
          </Link>
        }
      >
        Widen the time range, or remove a filter above.
      </EmptyState>
    ) : (
      <EmptyState title="No runs yet.">Runs appear here as soon as a worker claims its first key with the SDK (ledger.runOnce or claimRun).</EmptyState>
    );
  }
  const failedIds = page.runs.filter((run) => run.status === "failed").map((run) => run.id);
  return (
    <>
      {failedIds.length > 0 && <BulkRetry runIds={failedIds} />}
      <div className="rounded-lg border border-zinc-200 bg-white shadow-xs">
        <RunsTable runs={page.runs} sort={params.sort} now={now} taskHref={(task) => hrefWith("/runs", { ...runsSearch(params, { cursor: null }), task })} />
        <KeysetPagination
          count={page.runs.length}
          noun="run"
          order={params.order}
          firstHref={params.cursor ? hrefWith("/runs", runsSearch(params, { cursor: null })) : null}
          prevHref={page.prevCursor ? hrefWith("/runs", runsSearch(params, { cursor: page.prevCursor })) : null}
          nextHref={page.nextCursor ? hrefWith("/runs", runsSearch(params, { cursor: page.nextCursor })) : null}
        />
      </div>
    </>
  );
}

function hasFilters(params: RunsListParams): boolean {
  return Boolean(params.q || params.status || params.task || params.key || params.worker || params.from || params.to || params.dups || params.retry || params.sort === "finished");
}

function filterValues(params: RunsListParams): RunsFilterValues {
  return {
    q: params.q,
    status: params.status,
    task: params.task,
    key: params.key,
    keyMatch: params.keyMatch,
    worker: params.worker,
    from: params.from?.text,
    to: params.to?.text,
    dups: params.dups ? "1" : undefined,
    retry: params.retry ? "1" : undefined,
    sort: params.sort,
    order: params.order,
    pageSize: String(params.pageSize),
  };
}

/** The filters in force, each with a link that removes it. */
function ActiveFilters({ params }: { params: RunsListParams }) {
  const search = runsSearch(params, { cursor: null });
  const chips: Array<{ label: string; remove: Record<string, string | undefined> }> = [];
  if (params.q) chips.push({ label: `search: ${params.q}`, remove: { q: undefined } });
  if (params.status) chips.push({ label: `status: ${params.status === "stuck" ? "running · lease expired" : params.status}`, remove: { status: undefined } });
  if (params.task) chips.push({ label: `task: ${params.task}`, remove: { task: undefined } });
  if (params.key) chips.push({ label: `key ${params.keyMatch === "prefix" ? "starts with" : "is"}: ${params.key}`, remove: { key: undefined, keyMatch: undefined } });
  if (params.worker) chips.push({ label: `worker: ${params.worker}`, remove: { worker: undefined } });
  if (params.from) chips.push({ label: `from: ${params.from.text}`, remove: { from: undefined } });
  if (params.to) chips.push({ label: `before: ${params.to.text}`, remove: { to: undefined } });
  if (params.dups) chips.push({ label: "has duplicates", remove: { dups: undefined } });
  if (params.retry) chips.push({ label: "is a retry", remove: { retry: undefined } });
  if (params.sort === "finished") chips.push({ label: "finished runs only", remove: { sort: undefined } });
  if (chips.length === 0) return null;
  return (
    <ul aria-label="Active filters" className="mb-4 flex flex-wrap gap-2">
      {chips.map((chip) => (
        <li key={chip.label}>
          <Link
            href={hrefWith("/runs", { ...search, ...chip.remove }) as Route}
            className="inline-flex max-w-md items-center gap-1.5 rounded-full bg-sky-50 px-2.5 py-1 text-xs font-medium text-sky-800 ring-1 ring-sky-200 ring-inset hover:bg-sky-100"
            aria-label={`Remove filter ${chip.label}`}
          >
            <span className="truncate">{chip.label}</span>
            <span aria-hidden>×</span>
          </Link>
        </li>
      ))}
    </ul>
  );
}
