import type { Route } from "next";
import Link from "next/link";
import { buttonClass } from "@/components/ui/button";
import { cx } from "@/components/ui/cx";

/** Keyset pagination, newest first: no page numbers or totals, which would cost more than the page. */
export function DuplicatesPagination({
  count,
  newestHref,
  newerHref,
  olderHref,
}: {
  count: number;
  newestHref: string | null;
  newerHref: string | null;
  olderHref: string | null;
}) {
  return (
    <nav aria-label="Pages" className="flex flex-wrap items-center justify-between gap-3 border-t border-zinc-100 px-4 py-3">
      <p className="text-xs text-zinc-500" data-testid="page-count">
        {count} attempt{count === 1 ? "" : "s"} on this page
      </p>
      <div className="flex items-center gap-2">
        <PageLink href={newestHref} label="Newest" />
        <PageLink href={newerHref} label="← Newer" rel="prev" name="Previous page" />
        <PageLink href={olderHref} label="Older →" rel="next" name="Next page" />
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
