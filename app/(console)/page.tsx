import type { Metadata } from "next";
import { Suspense } from "react";
import { EmptyOverview } from "@/components/overview/empty-overview";
import { StatusCardsSkeleton } from "@/components/overview/status-cards";
import { WindowPicker } from "@/components/overview/window-picker";
import { PageHeader } from "@/components/shell/page-header";
import { AutoRefresh } from "@/components/ui/auto-refresh";
import { PanelSkeleton } from "@/components/ui/skeleton";
import { ErrorState } from "@/components/ui/states";
import { formatAbsolute } from "@/components/ui/time";
import { requireUser } from "@/lib/auth/current";
import { getSql } from "@/lib/db";
import { hasAnyRuns } from "@/lib/ledger/stats";
import { overviewWindows, statsRange, windowSpecs } from "@/lib/ledger/stats-window";
import { overviewSchema, refreshChoices, REFRESH_DEFAULT } from "@/lib/params/overview";
import { describeIssue } from "@/lib/params/registry";
import { hrefWith } from "@/lib/url";
import {
  ChartPanel,
  DuplicatesPanel,
  HealthStatusPanel,
  PanelGrid,
  StatusCardsPanel,
  TopDuplicatesPanel,
  TopFailuresPanel,
} from "./_overview/panels";

export const metadata: Metadata = { title: "Overview" };

type SearchParams = Record<string, string | string[] | undefined>;

const refreshSeconds = refreshChoices.filter((choice) => choice !== "off").map(Number);

/** The ledger at a glance: what ran in a window, what failed, what was delivered twice, and the servers. */
export default async function OverviewPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  await requireUser("viewer");
  const parsed = overviewSchema.safeParse(await searchParams);
  if (!parsed.success) {
    // proxy.ts answers these with a 400 before the page renders; this is the fallback.
    return (
      <>
        <PageHeader title="Overview" />
        <ErrorState title="Bad request">{describeIssue(parsed.error)}</ErrorState>
      </>
    );
  }
  const { window, refresh } = parsed.data;
  const range = statsRange(window);
  const spec = windowSpecs[window];
  const refreshParam = refresh === null ? "off" : String(refresh) === REFRESH_DEFAULT ? undefined : String(refresh);
  const anyRuns = await hasAnyRuns(getSql());

  return (
    <>
      <PageHeader
        title="Overview"
        description={
          anyRuns ? (
            <>
              Runs created in {spec.label}, since <span className="whitespace-nowrap">{formatAbsolute(range.start)}</span>.
            </>
          ) : (
            "The ledger at a glance."
          )
        }
        actions={
          <div className="flex flex-wrap items-center justify-end gap-3">
            <Suspense fallback={null}>
              <AutoRefresh seconds={refresh} choices={refreshSeconds} version={new Date().toISOString()} />
            </Suspense>
            {anyRuns && (
              <WindowPicker windows={overviewWindows} current={window} hrefFor={(w) => hrefWith("/", { window: w === "24h" ? undefined : w, refresh: refreshParam })} />
            )}
          </div>
        }
      />
      {anyRuns ? (
        <div className="flex flex-col gap-4">
          <Suspense key={`cards-${window}`} fallback={<StatusCardsSkeleton />}>
            <StatusCardsPanel range={range} />
          </Suspense>
          <Suspense key={`chart-${window}`} fallback={<PanelSkeleton title={`Runs created ${spec.stepLabel}, by status`} rows={9} />}>
            <ChartPanel range={range} />
          </Suspense>
          <PanelGrid>
            <div className="flex flex-col gap-4">
              <Suspense key={`dups-${window}`} fallback={<PanelSkeleton title="Duplicate attempts" rows={5} />}>
                <DuplicatesPanel range={range} />
              </Suspense>
              <Suspense fallback={<PanelSkeleton title="Servers" rows={2} />}>
                <HealthStatusPanel />
              </Suspense>
            </div>
            <Suspense key={`fail-${window}`} fallback={<PanelSkeleton title="Top tasks by failures" rows={5} />}>
              <TopFailuresPanel range={range} />
            </Suspense>
            <Suspense key={`topdups-${window}`} fallback={<PanelSkeleton title="Top tasks by duplicates" rows={5} />}>
              <TopDuplicatesPanel range={range} />
            </Suspense>
          </PanelGrid>
        </div>
      ) : (
        <div className="flex flex-col gap-4">
          <EmptyOverview />
          <div className="grid gap-4 lg:grid-cols-3">
            <Suspense fallback={<PanelSkeleton title="Servers" rows={2} />}>
              <HealthStatusPanel />
            </Suspense>
          </div>
        </div>
      )}
    </>
  );
}
