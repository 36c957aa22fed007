import { cx } from "./cx";

export function Skeleton({ className }: { className?: string }) {
  return <div aria-hidden className={cx("animate-pulse rounded bg-zinc-200/70", className)} />;
}

/** A placeholder with the shape of the panel it stands in for, so the page does not jump when data arrives. */
export function PanelSkeleton({ title, rows = 6, className }: { title?: string; rows?: number; className?: string }) {
  return (
    <section aria-busy="true" aria-label={title ? `${title} (loading)` : "loading"} className={cx("rounded-lg border border-zinc-200 bg-white", className)}>
      <div className="border-b border-zinc-100 px-4 py-3">
        {title ? <h2 className="text-sm font-semibold text-zinc-400">{title}</h2> : <Skeleton className="h-4 w-32" />}
      </div>
      <div className="space-y-3 p-4">
        {Array.from({ length: rows }, (_, i) => (
          <Skeleton key={i} className={cx("h-4", i % 3 === 0 ? "w-11/12" : i % 3 === 1 ? "w-9/12" : "w-10/12")} />
        ))}
      </div>
    </section>
  );
}
