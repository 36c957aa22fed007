import type { Metadata, Route } from "next";
import Link from "next/link";
import { Suspense } from "react";
import { DuplicatesFilterBar } from "@/components/duplicates/duplicates-filter-bar";
import { KeysetPagination } from "@/components/ui/keyset-pagination";
import { DuplicatesTable, DuplicatesTableSkeleton } from "@/components/duplicates/duplicates-table";
import { KeyGroupsTable, NamedGroupsTable, ScanSummary } from "@/components/duplicates/group-tables";
import { OutcomeLegend } from "@/components/duplicates/outcome-breakdown";
import { ViewTabs } from "@/components/duplicates/view-tabs";
import { PageHeader } from "@/components/shell/page-header";
import { Badge } from "@/components/ui/badge";
import { Panel } from "@/components/ui/panel";
import { PanelSkeleton } from "@/components/ui/skeleton";
import { EmptyState, ErrorState } from "@/components/ui/states";
import { requireUser } from "@/lib/auth/current";
import { getSql } from "@/lib/db";
import { duplicateFilterChoices, listDuplicateAttempts, topDuplicateKeys, topDuplicateSources } from "@/lib/ledger/duplicates";
import {
  DUPLICATES_PAGE_SIZE,
  duplicatesSchema,
  duplicatesSearch,
  toDuplicateFilters,
  type DuplicatesParams,
  type DuplicateView,
} from "@/lib/params/duplicates";
import { describeIssue } from "@/lib/params/registry";
import { hrefWith } from "@/lib/url";

export const metadata: Metadata = { title: "Duplicates" };

type SearchParams = Record<string, string | string[] | undefined>;

const views: Array<{ key: DuplicateView; label: string }> = [
  { key: "list", label: "All attempts" },
  { key: "keys", label: "By key" },
  { key: "sources", label: "By source and worker" },
];

/**
 * Every submission the ledger turned away because its key was already claimed, across all runs: as a
 * list, or grouped to show which keys and which sources redeliver most.
 */
export default async function DuplicatesPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  await requireUser("viewer");
  const parsed = duplicatesSchema.safeParse(await searchParams);
  if (!parsed.success) {
    // proxy.ts answers these with a 400 before the page renders; this is the fallback.
    return (
      <>
        <PageHeader title="Duplicates" />
        <ErrorState title="Bad request">{describeIssue(parsed.error)}</ErrorState>
      </>
    );
  }
  const params = parsed.data;
  const choices = await duplicateFilterChoices(getSql()).catch(() => ({ tasks: [], sources: [] }));
  const key = JSON.stringify(duplicatesSearch(params));

  return (
    <>
      <PageHeader
        title="Duplicates"
        description="Submissions of a key that was already claimed: replayed from a finished run, refused while another worker held it, refused for carrying a different payload, or turned away by the Redis lock."
      />
      <DuplicatesFilterBar
        values={{
          view: params.view,
          outcome: params.outcome,
          task: params.task,
          source: params.source,
          worker: params.worker,
          run: params.run === undefined ? undefined : String(params.run),
          from: params.from?.text,
          to: params.to?.text,
        }}
        tasks={choices.tasks}
        sources={choices.sources}
      />
      {params.run !== undefined && (
        <p className="mb-3 flex items-center gap-2 text-sm text-zinc-600">
          <Badge tone="sky">run #{params.run}</Badge> only these attempts.
          <Link href={hrefWith("/duplicates", duplicatesSearch(params, { run: undefined, cursor: null })) as Route} className="text-sky-700 hover:underline">
            Show every run
          </Link>
        </p>
      )}
      <ViewTabs
        current={params.view}
        tabs={views.map((view) => ({ key: view.key, label: view.label, href: hrefWith("/duplicates", duplicatesSearch(params, { view: view.key, cursor: null })) }))}
      />
      {params.view === "list" && (
        <Suspense key={key} fallback={<DuplicatesTableSkeleton />}>
          <AttemptsList params={params} />
        </Suspense>
      )}
      {params.view === "keys" && (
        <Suspense key={key} fallback={<PanelSkeleton title="Keys with the most attempts" rows={10} />}>
          <KeysView params={params} />
        </Suspense>
      )}
      {params.view === "sources" && (
        <Suspense key={key} fallback={<PanelSkeleton title="Sources and workers" rows={10} />}>
          <SourcesView params={params} />
        </Suspense>
      )}
    </>
  );
}

function hasFilters(params: DuplicatesParams): boolean {
  return Boolean(params.outcome || params.task || params.source || params.worker || params.run !== undefined || params.from || params.to);
}

function NoAttempts({ params }: { params: DuplicatesParams }) {
  return hasFilters(params) ? (
    <EmptyState
      title="No duplicate attempts match these filters."
      action={
        <Link href={hrefWith("/duplicates", { view: params.view === "list" ? undefined : params.view }) as Route} className="text-sm font-medium text-sky-700 hover:underline">
          Clear all filters
        </Link>
      }
    >
      Widen the time range, or remove a filter above.
    </EmptyState>
  ) : (
    <EmptyState title="No duplicate attempts yet.">
      Every key has been submitted once so far. When a queue redelivers a task, a cron fires on two instances or a client retries, the ledger
      turns the second submission away and it is listed here.
    </EmptyState>
  );
}

function ReadError() {
  return <ErrorState title="Could not read the duplicate attempts.">If the banner above says Postgres is unreachable, this comes back when it does.</ErrorState>;
}

async function AttemptsList({ params }: { params: DuplicatesParams }) {
  let page;
  try {
    page = await listDuplicateAttempts(getSql(), { ...toDuplicateFilters(params), cursor: params.cursor, pageSize: DUPLICATES_PAGE_SIZE });
  } catch (error) {
    console.error("[idem] duplicates: listing attempts failed", error);
    return <ReadError />;
  }
  if (page.attempts.length === 0) {
    if (params.cursor) {
      return (
        <EmptyState
          title="No more attempts on this page."
          action={
            <Link href={hrefWith("/duplicates", duplicatesSearch(params, { cursor: null })) as Route} className="text-sm font-medium text-sky-700 hover:underline">
              Back to the newest
            </Link>
          }
        />
      );
    }
    return <NoAttempts params={params} />;
  }
  const filterHref = (filter: { task?: string; source?: string; worker?: string }) => hrefWith("/duplicates", duplicatesSearch(params, { ...filter, cursor: null }));
  return (
    <div className="rounded-lg border border-zinc-200 bg-white shadow-xs">
      <DuplicatesTable attempts={page.attempts} now={new Date()} filterHref={filterHref} />
      <KeysetPagination
        count={page.attempts.length}
        noun="attempt"
        firstHref={params.cursor ? hrefWith("/duplicates", duplicatesSearch(params, { cursor: null })) : null}
        prevHref={page.newerCursor ? hrefWith("/duplicates", duplicatesSearch(params, { cursor: page.newerCursor })) : null}
        nextHref={page.olderCursor ? hrefWith("/duplicates", duplicatesSearch(params, { cursor: page.olderCursor })) : null}
      />
    </div>
  );
}

async function KeysView({ params }: { params: DuplicatesParams }) {
  let result;
  try {
    result = await topDuplicateKeys(getSql(), toDuplicateFilters(params));
  } catch (error) {
    console.error("[idem] duplicates: grouping by key failed", error);
    return <ReadError />;
  }
  if (result.groups.length === 0) return <NoAttempts params={params} />;
  return (
    <Panel
      title="Keys with the most attempts"
      description={<ScanSummary scan={result.scan} />}
      actions={<OutcomeLegend />}
      bodyClassName="p-0"
    >
      <KeyGroupsTable
        groups={result.groups}
        now={new Date()}
        attemptsHref={(group) =>
          group.runId === null ? null : hrefWith("/duplicates", duplicatesSearch(params, { view: "list", run: String(group.runId), cursor: null }))
        }
      />
    </Panel>
  );
}

async function SourcesView({ params }: { params: DuplicatesParams }) {
  let result;
  try {
    result = await topDuplicateSources(getSql(), toDuplicateFilters(params));
  } catch (error) {
    console.error("[idem] duplicates: grouping by source failed", error);
    return <ReadError />;
  }
  if (result.sources.length === 0) return <NoAttempts params={params} />;
  const now = new Date();
  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <ScanSummary scan={result.scan} />
        <OutcomeLegend />
      </div>
      <div className="grid items-start gap-4 xl:grid-cols-2">
        <Panel title="Sources" description="Where the duplicate submissions came from (the submission's source)." bodyClassName="p-0">
          <NamedGroupsTable
            label="Source"
            testId="source-groups"
            groups={result.sources}
            now={now}
            href={(name) => hrefWith("/duplicates", duplicatesSearch(params, { view: "list", source: name, cursor: null }))}
          />
        </Panel>
        <Panel title="Workers" description="Which workers submitted them." bodyClassName="p-0">
          <NamedGroupsTable
            label="Worker"
            testId="worker-groups"
            groups={result.workers}
            now={now}
            href={(name) => hrefWith("/duplicates", duplicatesSearch(params, { view: "list", worker: name, cursor: null }))}
          />
        </Panel>
      </div>
    </div>
  );
}
