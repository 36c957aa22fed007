import Link from "next/link";
import type { Route } from "next";
import type { ReactNode } from "react";
import { CopyButton } from "@/components/ui/copy-button";
import { RelativeTime, formatDuration } from "@/components/ui/time";
import type { RunDetail } from "@/lib/ledger/queries";
import { RunStatusBadge } from "./status-badge";
import { Literal } from "@/components/ui/literal";

/**
 * The run detail's header: what ran (task and key), its status, and when. `actions` is the slot for
 * run operations (components/runs/run-actions.tsx), kept at the right of the title row.
 */
export function RunHeader({ run, actions }: { run: RunDetail; actions: ReactNode }) {
  const end = run.finishedAt ?? (run.status === "running" ? run.dbNow : null);
  const duration = run.startedAt && end ? end.getTime() - run.startedAt.getTime() : null;
  return (
    <header className="mb-6 flex flex-col gap-3 border-b border-zinc-200 pb-5">
      <nav aria-label="Breadcrumb" className="text-xs text-zinc-500">
        <Link href="/runs" className="hover:underline">
          Runs
        </Link>
        <span aria-hidden> / </span>
        <Link href={`/runs?task=${encodeURIComponent(run.taskName)}` as Route} className="hover:underline">
          {run.taskName}
        </Link>
      </nav>
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div className="flex min-w-0 flex-col gap-2">
          <div className="flex flex-wrap items-center gap-3">
            <h1 className="text-xl font-semibold tracking-tight text-zinc-900">Run #{run.id}</h1>
            <span data-testid="run-status">
              <RunStatusBadge status={run.status} leaseExpired={run.leaseExpired} />
            </span>
          </div>
          <p className="flex min-w-0 flex-wrap items-center gap-x-2 gap-y-1 text-sm text-zinc-600">
            <span className="font-medium text-zinc-800">{run.taskName}</span>
            <span aria-hidden className="text-zinc-300">
              ·
            </span>
            <span className="text-zinc-500">key</span>
            <code className="max-w-[48rem] truncate rounded bg-zinc-100 px-1.5 py-0.5 font-mono text-xs text-zinc-900" title={run.idempotencyKey} data-testid="run-key">
              <Literal text={run.idempotencyKey} />
            </code>
            <CopyButton value={run.idempotencyKey} label="Copy key" />
          </p>
        </div>
        {/* RUN ACTIONS AREA: retry / cancel / abandon render here (components/runs/run-actions.tsx). */}
        <div className="flex shrink-0 flex-wrap items-center gap-2" data-testid="run-actions">
          {actions}
        </div>
      </div>
      <dl className="flex flex-wrap gap-x-8 gap-y-2 text-sm">
        <Fact label="Attempt">
          {run.attempt} of {run.maxAttempts}
        </Fact>
        <Fact label="Fencing token">#{run.fencingToken}</Fact>
        <Fact label="Worker">
          <span className="font-mono text-xs">{run.leaseOwner ?? "–"}</span>
        </Fact>
        <Fact label="Created">
          <RelativeTime date={run.createdAt} now={run.dbNow} />
        </Fact>
        <Fact label="Started">
          <RelativeTime date={run.startedAt} now={run.dbNow} />
        </Fact>
        <Fact label="Finished">
          <RelativeTime date={run.finishedAt} now={run.dbNow} />
        </Fact>
        <Fact label={run.finishedAt ? "Duration" : "Running for"}>{formatDuration(duration)}</Fact>
        {run.status === "running" && run.leaseExpiresAt && (
          <Fact label={run.leaseExpired ? "Lease expired" : "Lease expires"}>
            <span className={run.leaseExpired ? "font-medium text-amber-700" : undefined}>
              <RelativeTime date={run.leaseExpiresAt} now={run.dbNow} />
            </span>
          </Fact>
        )}
        <Fact label="Duplicates">{run.duplicateCount}</Fact>
      </dl>
    </header>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="flex flex-col">
      <dt className="text-xs text-zinc-500">{label}</dt>
      <dd className="text-zinc-800">{children}</dd>
    </div>
  );
}
