import type { Route } from "next";
import Link from "next/link";
import { cx } from "@/components/ui/cx";

export interface ViewTab {
  key: string;
  label: string;
  href: string;
}

/** Tabs that are links: each view is its own URL, with the filters kept. */
export function ViewTabs({ tabs, current }: { tabs: ViewTab[]; current: string }) {
  return (
    <nav aria-label="Views" className="mb-4 flex gap-1 border-b border-zinc-200">
      {tabs.map((tab) => (
        <Link
          key={tab.key}
          href={tab.href as Route}
          aria-current={tab.key === current ? "page" : undefined}
          className={cx(
            "-mb-px border-b-2 px-3 py-2 text-sm font-medium",
            tab.key === current ? "border-zinc-900 text-zinc-900" : "border-transparent text-zinc-500 hover:border-zinc-300 hover:text-zinc-800",
          )}
        >
          {tab.label}
        </Link>
      ))}
    </nav>
  );
}
