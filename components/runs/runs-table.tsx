import Link from "next/link";
import type { Route } from "next";
import { Badge } from "@/components/ui/badge";
import { CopyButton } from "@/components/ui/copy-button";
import { Skeleton } from "@/components/ui/skeleton";
import { Table, Td, Th, Tr } from "@/components/ui/table";
import { RelativeTime, formatDuration } from "@/components/ui/time";
import type { RunListItem } from "@/lib/ledger/queries";
import { RunStatusBadge } from "./status-badge";
import { Literal } from "@/components/ui/literal";

/** One row per run. Every cell is plain text rendered by React: keys and worker ids come from workers. */
export function RunsTable({ runs, sort, now, taskHref }: { runs: RunListItem[]; sort: "created" | "finished"; now: Date; taskHref: (task: string) => string }) {
  return (
    <Table aria-label="Runs" data-testid="runs-table">
      <thead>
        <tr>
          <Th>Status</Th>
          <Th>Run</Th>
          <Th>Task</Th>
          <Th>Key</Th>
          <Th className="text-right">Attempt</Th>
          <Th className="text-right">Duration</Th>
          <Th className="text-right" title="Duplicate submissions of the key">Dups</Th>
          <Th>Worker</Th>
          <Th>{sort === "finished" ? "Finished" : "Created"}</Th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <Tr key={run.id} data-testid="run-row" data-run-id={run.id}>
            <Td>
              <span title={run.errorMessage ? `Error: ${run.errorMessage}` : undefined}>
                <RunStatusBadge status={run.status} leaseExpired={run.leaseExpired} />
              </span>
            </Td>
            <Td className="font-mono text-xs">
              <Link href={`/runs/${run.id}` as Route} prefetch={false} className="font-medium text-sky-700 hover:underline">
                #{run.id}
              </Link>
              {run.retryOf !== null && (
                <span className="ml-1.5 text-zinc-400" title={`Retry of run #${run.retryOf}`}>
                  ↻
                </span>
              )}
            </Td>
            <Td className="max-w-44 truncate text-sm">
              <Link href={taskHref(run.taskName) as Route} prefetch={false} className="text-zinc-800 hover:underline" title={`Only ${run.taskName} runs`}>
                {run.taskName}
              </Link>
            </Td>
            <Td className="max-w-64">
              <div className="flex items-center gap-1">
                <Link href={`/runs/${run.id}` as Route} prefetch={false} className="truncate font-mono text-xs text-zinc-800 hover:underline" title={run.idempotencyKey}>
                  <Literal text={run.idempotencyKey} />
                </Link>
                <CopyButton value={run.idempotencyKey} label="Copy key" className="shrink-0" />
              </div>
            </Td>
            <Td className="text-right tabular-nums text-zinc-700">
              {run.attempt}
              <span className="text-zinc-400">/{run.maxAttempts}</span>
            </Td>
            <Td className="whitespace-nowrap text-right tabular-nums text-zinc-700">
              {run.durationMs === null ? (
                <span className="text-zinc-400">–</span>
              ) : run.finishedAt ? (
                formatDuration(run.durationMs)
              ) : (
                <span className="italic text-zinc-500" title="Still running: time since it started">
                  {formatDuration(run.durationMs)}…
                </span>
              )}
            </Td>
            <Td className="text-right">
              {run.duplicateCount > 0 ? (
                <Badge tone="amber" title={`${run.duplicateCount} duplicate submission${run.duplicateCount === 1 ? "" : "s"} of this key`}>
                  {run.duplicateCount}
                </Badge>
              ) : (
                <span className="text-zinc-400">0</span>
              )}
            </Td>
            <Td className="max-w-36 truncate font-mono text-xs text-zinc-600" title={run.leaseOwner ?? undefined}>
              {run.leaseOwner ?? <span className="text-zinc-400">–</span>}
            </Td>
            <Td className="text-sm text-zinc-600">
              <RelativeTime date={sort === "finished" ? run.finishedAt : run.createdAt} now={now} />
            </Td>
          </Tr>
        ))}
      </tbody>
    </Table>
  );
}

export function RunsTableSkeleton({ rows = 10 }: { rows?: number }) {
  return (
    <div aria-busy="true" aria-label="Loading runs" className="rounded-lg border border-zinc-200 bg-white p-4">
      <div className="mb-4 flex gap-4">
        {Array.from({ length: 7 }, (_, i) => (
          <Skeleton key={i} className="h-3 flex-1" />
        ))}
      </div>
      <div className="space-y-3">
        {Array.from({ length: rows }, (_, i) => (
          <div key={i} className="flex items-center gap-4">
            <Skeleton className="h-5 w-20 rounded-full" />
            <Skeleton className="h-4 w-14" />
            <Skeleton className="h-4 w-28" />
            <Skeleton className="h-4 flex-1" />
            <Skeleton className="h-4 w-10" />
            <Skeleton className="h-4 w-16" />
            <Skeleton className="h-4 w-24" />
          </div>
        ))}
      </div>
    </div>
  );
}
