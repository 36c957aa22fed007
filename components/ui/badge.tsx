import type { ReactNode } from "react";
import { cx } from "./cx";

export type Tone = "gray" | "blue" | "green" | "red" | "amber" | "violet" | "sky" | "zinc";

const tones: Record<Tone, string> = {
  gray: "bg-slate-100 text-slate-700 ring-slate-300",
  blue: "bg-blue-50 text-blue-700 ring-blue-300",
  green: "bg-emerald-50 text-emerald-700 ring-emerald-300",
  red: "bg-red-50 text-red-700 ring-red-300",
  amber: "bg-amber-50 text-amber-800 ring-amber-300",
  violet: "bg-violet-50 text-violet-700 ring-violet-300",
  sky: "bg-sky-50 text-sky-700 ring-sky-300",
  zinc: "bg-zinc-100 text-zinc-600 ring-zinc-300",
};

export function Badge({ tone = "gray", children, title, className }: { tone?: Tone; children: ReactNode; title?: string; className?: string }) {
  return (
    <span title={title} className={cx("inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset whitespace-nowrap", tones[tone], className)}>
      {children}
    </span>
  );
}
