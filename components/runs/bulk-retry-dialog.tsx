"use client";

import Link from "next/link";
import type { Route } from "next";
import { useEffect, useId, useRef, useState } from "react";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { formatAbsolute } from "@/components/ui/time";
import type { ServerAction } from "@/lib/action-state";
import { Literal } from "@/components/ui/literal";

export interface BulkRetryRow {
  id: number;
  taskName: string;
  idempotencyKey: string;
  status: string;
  updatedAt: string;
  lineageRetries: number;
  errorMessage: string | null;
}

interface BulkResult {
  runId: number;
  outcome: string;
  message: string;
  childRunId: number | null;
}

/**
 * Retry a frozen selection: the failed runs listed here, each with the state it was seen in, of which
 * the operator ticks the ones to retry (all, to start with), and nothing else; a run that changed
 * since is refused on its own and the others go ahead. Count and list are shown before confirming.
 */
export function BulkRetryDialog({ action, runs, omitted, max }: { action: ServerAction; runs: BulkRetryRow[]; omitted: number; max: number }) {
  const label = `${runs.length} failed ${runs.length === 1 ? "run" : "runs"}`;
  return (
    <ConfirmDialog
      action={action}
      trigger={`Retry ${label}…`}
      triggerVariant="secondary"
      title={`Retry failed runs under new keys`}
      confirmLabel="Retry the selected runs"
      confirmVariant="primary"
      requireReason
      wide
      hidden={{}}
      renderDone={(state) => <BulkResults results={(state.data as { results?: BulkResult[] } | undefined)?.results ?? []} />}
    >
      <div className="flex flex-col gap-2">
        <p>
          Each selected run gets a new <strong>pending</strong> retry under <code className="font-mono text-xs">&lt;root key&gt;#retry-&lt;n&gt;</code>,
          with its own payload. Only runs listed here: runs that failed after this page loaded are not included.
          {omitted > 0 && ` The list is capped at ${max}; ${omitted} more failed ${omitted === 1 ? "run" : "runs"} on this page are left out.`}
        </p>
        <p className="text-xs text-zinc-500">Each is refused on its own if it changed since this page loaded, or if a retry of it already succeeded or is under way.</p>
        <SelectableRuns runs={runs} />
      </div>
    </ConfirmDialog>
  );
}

/** The list with a checkbox per run: a ticked box submits the run with the state it was seen in. */
function SelectableRuns({ runs }: { runs: BulkRetryRow[] }) {
  const [selected, setSelected] = useState<ReadonlySet<number>>(() => new Set(runs.map((run) => run.id)));
  const allId = useId();
  // React resets the form after every action, which puts the boxes back to their first state behind
  // React's back; re-mounting them on the reset shows (and submits) the selection as it still is.
  const [generation, setGeneration] = useState(0);
  const listRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const form = listRef.current?.closest("form");
    if (!form) return;
    const onReset = () => setGeneration((n) => n + 1);
    form.addEventListener("reset", onReset);
    return () => form.removeEventListener("reset", onReset);
  }, []);
  const toggle = (id: number, on: boolean) =>
    setSelected((current) => {
      const next = new Set(current);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const all = selected.size === runs.length;
  return (
    <>
      <p className="font-medium text-zinc-900" data-testid="bulk-retry-count" aria-live="polite">
        {selected.size} of {runs.length} selected
        {selected.size === 0 && <span className="ml-2 font-normal text-red-700">select at least one run</span>}
      </p>
      <div ref={listRef} className="max-h-64 overflow-y-auto rounded-md border border-zinc-200">
        <table key={generation} className="w-full border-collapse text-left text-xs" data-testid="bulk-retry-list">
          <thead className="sticky top-0 bg-zinc-50 text-zinc-500">
            <tr>
              <th scope="col" className="w-8 px-2 py-1">
                <input
                  id={allId}
                  type="checkbox"
                  aria-label="Select all"
                  checked={all}
                  onChange={(event) => setSelected(event.target.checked ? new Set(runs.map((run) => run.id)) : new Set())}
                />
              </th>
              <th scope="col" className="px-2 py-1 font-medium">Run</th>
              <th scope="col" className="px-2 py-1 font-medium">Task · key</th>
              <th scope="col" className="px-2 py-1 font-medium">Error</th>
              <th scope="col" className="px-2 py-1 font-medium">Failed</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((run) => (
              <tr key={run.id} className="border-t border-zinc-100 align-top" data-testid="bulk-retry-row" data-run-id={run.id}>
                <td className="px-2 py-1">
                  <input
                    type="checkbox"
                    name="run"
                    aria-label={`Retry run #${run.id}`}
                    value={JSON.stringify({ id: run.id, status: run.status, updatedAt: run.updatedAt, retries: run.lineageRetries })}
                    checked={selected.has(run.id)}
                    onChange={(event) => toggle(run.id, event.target.checked)}
                  />
                </td>
                <td className="px-2 py-1 font-mono">#{run.id}</td>
                <td className="max-w-56 px-2 py-1">
                  <span className="text-zinc-800">{run.taskName}</span>
                  <span className="block truncate font-mono text-zinc-500" title={run.idempotencyKey}>
                    {<Literal text={run.idempotencyKey} />}
                  </span>
                </td>
                <td className="max-w-48 truncate px-2 py-1 text-red-800" title={run.errorMessage ?? undefined}>
                  {run.errorMessage ?? "–"}
                </td>
                <td className="whitespace-nowrap px-2 py-1 text-zinc-600">{formatAbsolute(new Date(run.updatedAt))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function BulkResults({ results }: { results: BulkResult[] }) {
  if (results.length === 0) return null;
  return (
    <ul className="max-h-48 overflow-y-auto text-xs" data-testid="bulk-retry-results">
      {results.map((result) => (
        <li key={result.runId} className="flex gap-2 border-t border-zinc-100 py-1">
          <span className={result.outcome === "created" ? "text-emerald-700" : "text-red-700"}>{result.outcome === "created" ? "retried" : "refused"}</span>
          <span className="font-mono">#{result.runId}</span>
          {result.childRunId ? (
            <Link href={`/runs/${result.childRunId}` as Route} className="text-sky-700 hover:underline">
              → run #{result.childRunId}
            </Link>
          ) : (
            <span className="text-zinc-600">{result.message}</span>
          )}
        </li>
      ))}
    </ul>
  );
}
