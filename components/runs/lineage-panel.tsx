import Link from "next/link";
import type { Route } from "next";
import type { ReactNode } from "react";
import { RelativeTime } from "@/components/ui/time";
import type { Lineage, LineageRun } from "@/lib/ledger/queries";
import { RunStatusBadge } from "./status-badge";
import { Literal } from "@/components/ui/literal";

/**
 * Where this run sits among retries: its parent chain up to the root and every run under that root,
 * as an indented tree with this run marked. `extra` is where later features (a retry's reason, who
 * created it) can add to each node without changing the tree.
 */
export function LineagePanel({
  runId,
  lineage,
  now,
  extra,
}: {
  runId: number;
  lineage: Lineage;
  now: Date;
  extra?: (run: LineageRun) => ReactNode;
}) {
  const { tree, ancestors, children } = lineage;
  if (tree.length <= 1 && ancestors.length === 0 && children.length === 0) {
    return (
      <p className="text-sm text-zinc-600" data-testid="lineage-empty">
        This run is not a retry and has not been retried.
      </p>
    );
  }
  // Runs under the root whose parent is not in the bounded set are shown at the top level.
  const ids = new Set(tree.map((run) => run.id));
  const byParent = new Map<number | null, LineageRun[]>();
  for (const run of tree) {
    const parent = run.retryOf !== null && ids.has(run.retryOf) ? run.retryOf : null;
    byParent.set(parent, [...(byParent.get(parent) ?? []), run]);
  }
  const onPath = new Set([...ancestors.map((run) => run.id), runId]);

  const render = (runs: LineageRun[], depth: number): ReactNode => (
    <ul className={depth === 0 ? "flex flex-col gap-1" : "ml-5 mt-1 flex flex-col gap-1 border-l border-zinc-200 pl-3"}>
      {runs.map((run) => (
        <li key={run.id} data-testid="lineage-node" data-run-id={run.id}>
          <div
            className={`flex flex-wrap items-center gap-2 rounded-md px-2 py-1 text-sm ${run.id === runId ? "bg-sky-50 ring-1 ring-sky-200" : onPath.has(run.id) ? "bg-zinc-50" : ""}`}
            aria-current={run.id === runId ? "true" : undefined}
          >
            {depth > 0 && <span className="text-zinc-400" aria-hidden>↳</span>}
            <RunStatusBadge status={run.status} leaseExpired={run.leaseExpired} />
            {run.id === runId ? (
              <span className="font-mono text-xs font-semibold">#{run.id} (this run)</span>
            ) : (
              <Link href={`/runs/${run.id}` as Route} className="font-mono text-xs font-medium text-sky-700 hover:underline">
                #{run.id}
              </Link>
            )}
            <span className="max-w-80 truncate font-mono text-xs text-zinc-600" title={run.idempotencyKey}>
              <Literal text={run.idempotencyKey} />
            </span>
            <span className="text-xs text-zinc-500">
              <RelativeTime date={run.createdAt} now={now} />
            </span>
            {run.id === lineage.tree[0]?.id && run.retryOf === null && <span className="text-xs text-zinc-400">root</span>}
            {extra?.(run)}
          </div>
          {byParent.get(run.id) && render(byParent.get(run.id)!, depth + 1)}
        </li>
      ))}
    </ul>
  );

  const parent = ancestors.at(-1);
  return (
    <div className="flex flex-col gap-3" data-testid="lineage">
      <p className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-zinc-600">
        {parent ? (
          <span>
            Retry of{" "}
            <Link href={`/runs/${parent.id}` as Route} className="font-mono font-medium text-sky-700 hover:underline" data-testid="lineage-parent">
              #{parent.id}
            </Link>
          </span>
        ) : (
          <span>The first run of its chain.</span>
        )}
        <span>
          {children.length === 0 ? "Not retried." : `Retried by ${children.length} run${children.length === 1 ? "" : "s"}: `}
          {children.map((child, i) => (
            <span key={child.id}>
              {i > 0 && ", "}
              <Link href={`/runs/${child.id}` as Route} className="font-mono font-medium text-sky-700 hover:underline" data-testid="lineage-child">
                #{child.id}
              </Link>
            </span>
          ))}
        </span>
      </p>
      {render(byParent.get(null) ?? [], 0)}
      {(lineage.treeTruncated || lineage.ancestorsTruncated) && (
        <p className="text-xs text-zinc-500">This lineage is larger than shown; only the first {tree.length} runs are listed.</p>
      )}
    </div>
  );
}
