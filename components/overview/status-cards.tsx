import type { Route } from "next";
import Link from "next/link";
import { cx } from "@/components/ui/cx";
import { Skeleton } from "@/components/ui/skeleton";
import type { RunStatus } from "@/lib/ledger/schema";
import { formatCount, formatShare } from "./format";
import { statusColors } from "./palette";

export type StatusCardKey = RunStatus | "all" | "stuck";

const order: Array<{ key: StatusCardKey; label: string }> = [
  { key: "all", label: "Runs" },
  { key: "succeeded", label: "Succeeded" },
  { key: "failed", label: "Failed" },
  { key: "running", label: "Running" },
  { key: "pending", label: "Pending" },
  { key: "cancelled", label: "Cancelled" },
];

/**
 * Runs created in the window by their status now, and the runs stuck right now (running with an
 * expired lease, whenever created). Each number opens the runs list filtered the same way.
 */
export function StatusCards({
  counts,
  stuck,
  hrefFor,
}: {
  counts: Record<RunStatus, number>;
  stuck: number;
  hrefFor: (key: StatusCardKey) => string;
}) {
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
  return (
    <section aria-label="Runs by status" className="grid grid-cols-2 gap-3 sm:grid-cols-4 xl:grid-cols-7">
      {order.map(({ key, label }) => {
        const value = key === "all" ? total : counts[key as RunStatus];
        return (
          <Card
            key={key}
            testId={`status-card-${key}`}
            href={hrefFor(key)}
            label={label}
            value={value}
            note={key === "all" ? "in this window" : `${formatShare(value, total)} of runs`}
            color={key === "all" ? "#18181b" : statusColors[key as RunStatus]}
          />
        );
      })}
      <Card
        testId="status-card-stuck"
        href={hrefFor("stuck")}
        label="Stuck now"
        value={stuck}
        note={stuck > 0 ? "lease expired" : "no expired leases"}
        color={stuck > 0 ? "#f59e0b" : "#d4d4d8"}
        warn={stuck > 0}
        title="Running runs whose lease has expired, whenever they were created: their worker died or is paused"
      />
    </section>
  );
}

function Card({
  href,
  label,
  value,
  note,
  color,
  warn = false,
  title,
  testId,
}: {
  href: string;
  label: string;
  value: number;
  note: string;
  color: string;
  warn?: boolean;
  title?: string;
  testId: string;
}) {
  return (
    <Link
      href={href as Route}
      title={title}
      data-testid={testId}
      className={cx(
        "group flex flex-col gap-0.5 rounded-lg border bg-white px-3.5 py-3 shadow-xs transition-colors hover:border-zinc-400",
        warn ? "border-amber-300 bg-amber-50/60" : "border-zinc-200",
      )}
    >
      <span className="flex items-center gap-1.5 text-xs font-medium text-zinc-600">
        <span aria-hidden className="h-2 w-2 rounded-full" style={{ backgroundColor: color }} />
        {label}
      </span>
      <span data-testid="count" className="text-2xl font-semibold tabular-nums tracking-tight text-zinc-900 group-hover:text-sky-800">
        {formatCount(value)}
      </span>
      <span className="truncate text-xs text-zinc-500">{note}</span>
    </Link>
  );
}

export function StatusCardsSkeleton() {
  return (
    <section aria-busy="true" aria-label="Runs by status (loading)" className="grid grid-cols-2 gap-3 sm:grid-cols-4 xl:grid-cols-7">
      {Array.from({ length: 7 }, (_, i) => (
        <div key={i} className="flex flex-col gap-2 rounded-lg border border-zinc-200 bg-white px-3.5 py-3">
          <Skeleton className="h-3 w-16" />
          <Skeleton className="h-7 w-20" />
          <Skeleton className="h-3 w-24" />
        </div>
      ))}
    </section>
  );
}
