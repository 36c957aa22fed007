import type { Route } from "next";
import Link from "next/link";
import { DuplicateOutcomeBadge } from "@/components/runs/status-badge";
import type { DuplicateOutcome } from "@/lib/ledger/schema";
import { formatCount, formatShare } from "./format";
import { outcomeColors, outcomeOrder } from "./palette";

/** Duplicate attempts in the window by outcome, each a link into the duplicates list. */
export function DuplicateOutcomes({
  counts,
  hrefFor,
}: {
  counts: Record<DuplicateOutcome, number>;
  hrefFor: (outcome: DuplicateOutcome | null) => string;
}) {
  const total = outcomeOrder.reduce((sum, outcome) => sum + counts[outcome], 0);
  return (
    <div className="flex flex-col gap-3">
      <Link href={hrefFor(null) as Route} data-testid="duplicates-total" className="group flex items-baseline gap-2">
        <span className="text-2xl font-semibold tabular-nums text-zinc-900 group-hover:text-sky-800">{formatCount(total)}</span>
        <span className="text-sm text-zinc-500 group-hover:underline">duplicate attempts turned away</span>
      </Link>
      <div aria-hidden className="flex h-2 overflow-hidden rounded-full bg-zinc-100">
        {total > 0 &&
          outcomeOrder.map((outcome) => (
            <span key={outcome} style={{ width: `${(counts[outcome] / total) * 100}%`, backgroundColor: outcomeColors[outcome] }} />
          ))}
      </div>
      <ul className="flex flex-col divide-y divide-zinc-100">
        {outcomeOrder.map((outcome) => (
          <li key={outcome}>
            <Link
              href={hrefFor(outcome) as Route}
              data-testid={`outcome-${outcome}`}
              className="flex items-center justify-between gap-3 py-1.5 text-sm hover:bg-zinc-50"
            >
              <DuplicateOutcomeBadge outcome={outcome} />
              <span className="flex items-baseline gap-2">
                <span className="tabular-nums font-medium text-zinc-900">{formatCount(counts[outcome])}</span>
                <span className="w-12 text-right text-xs tabular-nums text-zinc-500">{formatShare(counts[outcome], total)}</span>
              </span>
            </Link>
          </li>
        ))}
      </ul>
    </div>
  );
}
