import type { Route } from "next";
import Link from "next/link";
import { DuplicateOutcomeBadge, RunStatusBadge } from "@/components/runs/status-badge";
import { CopyButton } from "@/components/ui/copy-button";
import { Skeleton } from "@/components/ui/skeleton";
import { Table, Td, Th, Tr } from "@/components/ui/table";
import { RelativeTime } from "@/components/ui/time";
import type { DuplicateAttempt } from "@/lib/ledger/rows";
import { Literal } from "@/components/ui/literal";

const filterLink = "text-zinc-700 hover:text-sky-800 hover:underline";

/**
 * Duplicate attempts, newest first. Each row links to its run (where a payload mismatch shows the
 * diff), and its task, source and worker narrow the list to that value.
 */
export function DuplicatesTable({
  attempts,
  now,
  filterHref,
}: {
  attempts: DuplicateAttempt[];
  now: Date;
  filterHref: (filter: { task?: string; source?: string; worker?: string }) => string;
}) {
  return (
    <Table data-testid="duplicates-table">
      <thead>
        <tr>
          <Th>Attempted</Th>
          <Th>Outcome</Th>
          <Th>Task</Th>
          <Th>Key</Th>
          <Th>Run</Th>
          <Th>Run was</Th>
          <Th>Source</Th>
          <Th>Worker</Th>
        </tr>
      </thead>
      <tbody>
        {attempts.map((attempt) => (
          <Tr key={attempt.id} data-testid="duplicate-row" data-outcome={attempt.outcome}>
            <Td className="text-xs text-zinc-600">
              <RelativeTime date={attempt.attemptedAt} now={now} />
            </Td>
            <Td>
              <DuplicateOutcomeBadge outcome={attempt.outcome} />
            </Td>
            <Td className="font-mono text-xs">
              <Link href={filterHref({ task: attempt.taskName }) as Route} className={`${filterLink} block max-w-32 truncate 2xl:max-w-48`} title={attempt.taskName}>
                {attempt.taskName}
              </Link>
            </Td>
            <Td>
              <span className="flex max-w-52 items-center gap-1 2xl:max-w-80">
                <span className="truncate font-mono text-xs text-zinc-800" title={attempt.idempotencyKey}>
                  <Literal text={attempt.idempotencyKey} />
                </span>
                <CopyButton value={attempt.idempotencyKey} label="Copy key" />
              </span>
            </Td>
            <Td className="whitespace-nowrap text-xs">
              {attempt.runId === null ? (
                <span className="text-zinc-400" title="Turned away by the Redis lock before the run existed">
                  no run yet
                </span>
              ) : (
                <Link href={`/runs/${attempt.runId}` as Route} className="font-medium text-sky-800 hover:underline" data-testid="run-link">
                  #{attempt.runId}
                  {attempt.outcome === "payload_mismatch" && <span className="ml-1 font-normal text-red-700">· see diff</span>}
                </Link>
              )}
            </Td>
            <Td>{attempt.runStatus ? <RunStatusBadge status={attempt.runStatus} /> : <span className="text-zinc-400">–</span>}</Td>
            <Td className="text-xs">
              <Link href={filterHref({ source: attempt.source }) as Route} className={`${filterLink} block max-w-24 truncate 2xl:max-w-40`} title={attempt.source}>
                {attempt.source}
              </Link>
            </Td>
            <Td className="font-mono text-xs">
              <Link href={filterHref({ worker: attempt.workerId }) as Route} className={`${filterLink} block max-w-32 truncate 2xl:max-w-56`} title={attempt.workerId}>
                <Literal text={attempt.workerId} />
              </Link>
            </Td>
          </Tr>
        ))}
      </tbody>
    </Table>
  );
}

export function DuplicatesTableSkeleton({ rows = 10 }: { rows?: number }) {
  return (
    <div aria-busy="true" aria-label="Duplicate attempts (loading)" className="rounded-lg border border-zinc-200 bg-white p-4">
      <div className="space-y-3">
        {Array.from({ length: rows }, (_, i) => (
          <div key={i} className="flex gap-4">
            <Skeleton className="h-4 w-16" />
            <Skeleton className="h-4 w-24" />
            <Skeleton className="h-4 w-28" />
            <Skeleton className="h-4 flex-1" />
            <Skeleton className="h-4 w-16" />
            <Skeleton className="h-4 w-20" />
          </div>
        ))}
      </div>
    </div>
  );
}
