import Link from "next/link";
import type { Route } from "next";
import { buttonClass } from "@/components/ui/button";
import { cx } from "@/components/ui/cx";

/**
 * Keyset pagination: previous / next from the page's first and last rows, and back to the start.
 * There is no page number and no total, because counting a large ledger costs more than the page.
 */
export function RunsPagination({
  count,
  order,
  firstHref,
  prevHref,
  nextHref,
}: {
  count: number;
  order: "desc" | "asc";
  firstHref: string | null;
  prevHref: string | null;
  nextHref: string | null;
}) {
  const [earlier, later] = order === "desc" ? ["Newer", "Older"] : ["Older", "Newer"];
  return (
    <nav aria-label="Pages" className="flex flex-wrap items-center justify-between gap-3 border-t border-zinc-100 px-4 py-3">
      <p className="text-xs text-zinc-500" data-testid="page-count">
        {count} run{count === 1 ? "" : "s"} on this page
      </p>
      <div className="flex items-center gap-2">
        <PageLink href={firstHref} label={order === "desc" ? "Newest" : "Oldest"} />
        <PageLink href={prevHref} label={`← ${earlier}`} rel="prev" name="Previous page" />
        <PageLink href={nextHref} label={`${later} →`} rel="next" name="Next page" />
      </div>
    </nav>
  );
}

function PageLink({ href, label, rel, name }: { href: string | null; label: string; rel?: string; name?: string }) {
  if (!href) {
    return (
      <span aria-disabled="true" aria-label={name} className={cx(buttonClass("secondary", "sm"), "pointer-events-none opacity-40")}>
        {label}
      </span>
    );
  }
  return (
    <Link href={href as Route} rel={rel} aria-label={name} className={buttonClass("secondary", "sm")}>
      {label}
    </Link>
  );
}
