import { Table, Td, Th, Tr } from "@/components/ui/table";
import { EmptyState } from "@/components/ui/states";
import { RelativeTime } from "@/components/ui/time";
import type { DuplicateAttempt } from "@/lib/ledger/rows";
import type { PayloadDiff } from "@/lib/ledger/payload-diff";
import type { RunDuplicates } from "@/lib/ledger/queries";
import type { DuplicateOutcome } from "@/lib/ledger/schema";
import { JsonViewer } from "@/components/ui/json-viewer";
import { PayloadDiffView } from "./payload-diff";
import { DuplicateOutcomeBadge } from "./status-badge";
import { Literal } from "@/components/ui/literal";

const outcomeOrder: DuplicateOutcome[] = ["payload_mismatch", "in_progress", "lock_contended", "replayed"];

/**
 * Other submissions of this run's key: each was answered without running the task again. A
 * payload_mismatch means the same key was reused for a different operation, which is a bug in the
 * caller; its payload is diffed against the stored one.
 */
export function RunDuplicatesView({
  duplicates,
  diffs,
  total,
  now,
}: {
  duplicates: RunDuplicates;
  diffs: Array<{ attempt: DuplicateAttempt; diff: PayloadDiff }>;
  total: number;
  now: Date;
}) {
  if (duplicates.recent.length === 0) {
    return <EmptyState title="No duplicate submissions of this key.">Every submission of this key so far was the one that ran.</EmptyState>;
  }
  return (
    <div className="flex flex-col gap-4">
      <ul className="flex flex-wrap gap-2 text-xs" aria-label="Duplicates by outcome">
        {outcomeOrder
          .filter((outcome) => duplicates.byOutcome[outcome])
          .map((outcome) => (
            <li key={outcome} className="inline-flex items-center gap-1.5">
              <DuplicateOutcomeBadge outcome={outcome} />
              <span className="tabular-nums text-zinc-700">{duplicates.byOutcome[outcome]}</span>
            </li>
          ))}
        {total > duplicates.recent.length && <li className="text-zinc-500">latest {duplicates.recent.length} of {total} listed</li>}
      </ul>

      {diffs.map(({ attempt, diff }, i) => (
        <section key={attempt.id} aria-label={`Payload diff of duplicate ${attempt.id}`} className="rounded-md border border-red-200 bg-red-50/40 p-3">
          <h3 className="mb-2 flex flex-wrap items-center gap-2 text-sm font-medium text-zinc-900">
            <DuplicateOutcomeBadge outcome="payload_mismatch" />
            <span>
              from <span className="font-mono text-xs"><Literal text={attempt.workerId} /></span>, <RelativeTime date={attempt.attemptedAt} now={now} />
            </span>
          </h3>
          {i === 0 ? (
            <>
              <PayloadDiffView diff={diff} />
              <details className="mt-2">
                <summary className="cursor-pointer text-xs text-zinc-600">The duplicate&apos;s full payload</summary>
                <JsonViewer value={attempt.payload} className="mt-2 max-h-80" />
              </details>
            </>
          ) : (
            <details>
              <summary className="cursor-pointer text-xs text-zinc-600">{diff.entries.length} difference(s)</summary>
              <div className="mt-2">
                <PayloadDiffView diff={diff} />
              </div>
            </details>
          )}
        </section>
      ))}

      <Table aria-label="Duplicate attempts">
        <thead>
          <tr>
            <Th>When</Th>
            <Th>Outcome</Th>
            <Th>Run status then</Th>
            <Th>Worker</Th>
            <Th>Source</Th>
          </tr>
        </thead>
        <tbody>
          {duplicates.recent.map((attempt) => (
            <Tr key={attempt.id} data-testid="duplicate-row">
              <Td className="text-xs text-zinc-600">
                <RelativeTime date={attempt.attemptedAt} now={now} />
              </Td>
              <Td>
                <DuplicateOutcomeBadge outcome={attempt.outcome} />
              </Td>
              <Td className="text-xs text-zinc-600">{attempt.runStatus ?? "–"}</Td>
              <Td className="max-w-64 truncate font-mono text-xs text-zinc-600" title={attempt.workerId}>
                <Literal text={attempt.workerId} />
              </Td>
              <Td className="text-xs text-zinc-600">{attempt.source}</Td>
            </Tr>
          ))}
        </tbody>
      </Table>
    </div>
  );
}
