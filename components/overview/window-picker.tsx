import type { Route } from "next";
import Link from "next/link";
import { cx } from "@/components/ui/cx";

/** The window choices as a segmented control of links, so each window is a shareable URL. */
export function WindowPicker<W extends string>({ windows, current, hrefFor }: { windows: readonly W[]; current: W; hrefFor: (window: W) => string }) {
  return (
    <nav aria-label="Time window" className="inline-flex rounded-md border border-zinc-300 bg-white p-0.5 text-xs font-medium">
      {windows.map((window) => (
        <Link
          key={window}
          href={hrefFor(window) as Route}
          aria-current={window === current ? "page" : undefined}
          className={cx("rounded px-2.5 py-1", window === current ? "bg-zinc-900 text-white" : "text-zinc-600 hover:bg-zinc-100")}
        >
          {window}
        </Link>
      ))}
    </nav>
  );
}
