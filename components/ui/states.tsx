import type { ReactNode } from "react";
import { cx } from "./cx";

export function EmptyState({ title, children, action, className }: { title: string; children?: ReactNode; action?: ReactNode; className?: string }) {
  return (
    <div role="status" className={cx("flex flex-col items-center justify-center gap-2 rounded-md border border-dashed border-zinc-300 px-6 py-10 text-center", className)}>
      <p className="text-sm font-medium text-zinc-800">{title}</p>
      {children && <div className="max-w-md text-sm text-zinc-500">{children}</div>}
      {action && <div className="mt-2">{action}</div>}
    </div>
  );
}

export function ErrorState({ title, children, className }: { title: string; children?: ReactNode; className?: string }) {
  return (
    <div role="alert" className={cx("rounded-md border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800", className)}>
      <p className="font-medium">{title}</p>
      {children && <div className="mt-1 text-red-700">{children}</div>}
    </div>
  );
}

export function Banner({ tone, children }: { tone: "red" | "amber"; children: ReactNode }) {
  return (
    <div
      role="alert"
      className={cx(
        "flex items-center gap-2 border-b px-6 py-2 text-sm",
        tone === "red" ? "border-red-200 bg-red-50 text-red-800" : "border-amber-200 bg-amber-50 text-amber-900",
      )}
    >
      {children}
    </div>
  );
}
