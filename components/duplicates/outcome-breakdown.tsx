import { outcomeColors, outcomeLabels, outcomeOrder } from "@/components/overview/palette";
import type { DuplicateOutcome } from "@/lib/ledger/schema";

/** A group's attempts split by outcome: a thin stacked bar, with the counts on hover and for screen readers. */
export function OutcomeBreakdown({ counts }: { counts: Record<DuplicateOutcome, number> }) {
  const total = outcomeOrder.reduce((sum, outcome) => sum + counts[outcome], 0);
  const description = outcomeOrder
    .filter((outcome) => counts[outcome] > 0)
    .map((outcome) => `${counts[outcome]} ${outcomeLabels[outcome]}`)
    .join(", ");
  return (
    <span className="flex min-w-32 items-center gap-2" title={description}>
      <span aria-hidden className="flex h-2 flex-1 overflow-hidden rounded-full bg-zinc-100">
        {total > 0 &&
          outcomeOrder.map((outcome) => (
            <span key={outcome} style={{ width: `${(counts[outcome] / total) * 100}%`, backgroundColor: outcomeColors[outcome] }} />
          ))}
      </span>
      <span className="sr-only">{description}</span>
    </span>
  );
}

export function OutcomeLegend() {
  return (
    <ul aria-label="Outcome colours" className="flex flex-wrap gap-3 text-xs text-zinc-600">
      {outcomeOrder.map((outcome) => (
        <li key={outcome} className="flex items-center gap-1.5">
          <span aria-hidden className="h-2 w-2 rounded-full" style={{ backgroundColor: outcomeColors[outcome] }} />
          {outcomeLabels[outcome]}
        </li>
      ))}
    </ul>
  );
}
