import type { Metadata, Route } from "next";
import Link from "next/link";
import { Suspense } from "react";
import { AuditFilterBar } from "@/components/audit/audit-filter-bar";
import { AuditTable } from "@/components/audit/audit-table";
import { PageHeader } from "@/components/shell/page-header";
import { PanelSkeleton } from "@/components/ui/skeleton";
import { EmptyState, ErrorState } from "@/components/ui/states";
import { requireUser } from "@/lib/auth/current";
import { getSql } from "@/lib/db";
import { auditFacets, listOperatorActions } from "@/lib/ops/audit";
import { auditSchema, auditSearch, type AuditParams } from "@/lib/params/audit";
import { describeIssue } from "@/lib/params/registry";
import { hrefWith } from "@/lib/url";
import { KeysetPagination } from "@/components/ui/keyset-pagination";

export const metadata: Metadata = { title: "Audit log" };

type SearchParams = Record<string, string | string[] | undefined>;

/**
 * Every operator action (retries, cancellations, abandonments, lock releases), done or refused, newest
 * first. Append-only: the database refuses UPDATE and DELETE on the table, and no page or API edits it.
 */
export default async function AuditPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  await requireUser("viewer");
  const parsed = auditSchema.safeParse(await searchParams);
  if (!parsed.success) {
    // proxy.ts answers these with a 400 before the page renders; this is the fallback.
    return (
      <>
        <PageHeader title="Audit log" />
        <ErrorState title="Bad request">{describeIssue(parsed.error)}</ErrorState>
      </>
    );
  }
  const params = parsed.data;
  const facets = await auditFacets(getSql());
  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every operator action, with what the operator saw when acting and what came of it. Append-only: nothing edits or deletes it."
      />
      <AuditFilterBar
        values={{ actor: params.actor, action: params.action, outcome: params.outcome, from: params.from?.text, to: params.to?.text }}
        actors={facets.actors}
        actions={facets.actions}
      />
      <Suspense key={JSON.stringify(auditSearch(params))} fallback={<PanelSkeleton title="Actions" rows={8} />}>
        <AuditResults params={params} />
      </Suspense>
    </>
  );
}

async function AuditResults({ params }: { params: AuditParams }) {
  const page = await listOperatorActions(getSql(), {
    actor: params.actor,
    action: params.action,
    outcome: params.outcome,
    from: params.from?.at,
    to: params.to?.at,
    cursor: params.cursor,
    limit: params.pageSize,
  });
  const filtered = Boolean(params.actor || params.action || params.outcome || params.from || params.to);
  const first = hrefWith("/audit", auditSearch(params, { cursor: null }));
  if (page.entries.length === 0) {
    if (params.cursor) {
      return (
        <EmptyState title="No older actions." action={<Link href={first as Route} className="text-sm font-medium text-sky-700 hover:underline">Back to the newest</Link>} />
      );
    }
    return filtered ? (
      <EmptyState
        title="No actions match these filters."
        action={
          <Link href="/audit" className="text-sm font-medium text-sky-700 hover:underline">
            Clear all filters
          </Link>
        }
      >
        Widen the time range, or remove a filter above.
      </EmptyState>
    ) : (
      <EmptyState title="No operator actions yet.">Retries, cancellations, abandonments and lock releases appear here, whether they were done or refused.</EmptyState>
    );
  }
  return (
    <div className="rounded-lg border border-zinc-200 bg-white shadow-xs">
      <AuditTable entries={page.entries} now={new Date()} />
      <KeysetPagination
        count={page.entries.length}
        noun="action"
        firstHref={params.cursor ? first : null}
        nextHref={page.next ? hrefWith("/audit", auditSearch(params, { cursor: page.next })) : null}
      />
    </div>
  );
}
