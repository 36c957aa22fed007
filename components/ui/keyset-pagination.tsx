import type { Route } from "next";
import Link from "next/link";
import { buttonClass } from "./button";
import { cx } from "./cx";

/**
 * Keyset pagination: back to the start, previous and next, from the page's first and last rows. No
 * page numbers and no totals: counting a large ledger costs more than the page. A missing href is a
 * disabled button (a list that only pages one way passes no prevHref).
 */
export function KeysetPagination({
  count,
  noun,
  order = "desc",
  firstHref,
  prevHref,
  nextHref,
}: {
  count: number;
  /** Singular; "run" gives "1 run" / "3 runs on this page". */
  noun: string;
  order?: "desc" | "asc";
  firstHref: string | null;
  prevHref?: string | null;
  nextHref: string | null;
}) {
  const [earlier, later] = order === "desc" ? ["Newer", "Older"] : ["Older", "Newer"];
  return (
    <nav aria-label="Pages" className="flex flex-wrap items-center justify-between gap-3 border-t border-zinc-100 px-4 py-3">
      <p className="text-xs text-zinc-500" data-testid="page-count">
        {count} {noun}
        {count === 1 ? "" : "s"} on this page
      </p>
      <div className="flex items-center gap-2">
        <PageLink href={firstHref} label={order === "desc" ? "Newest" : "Oldest"} />
        {prevHref !== undefined && <PageLink href={prevHref} label={`← ${earlier}`} rel="prev" name="Previous page" />}
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
