import type { ActionState } from "@/lib/action-state";
import { cx } from "./cx";

export function ActionMessage({ state, className }: { state: ActionState; className?: string }) {
  if (!state) return null;
  return (
    <p
      role={state.ok ? "status" : "alert"}
      className={cx(
        "rounded-md px-3 py-2 text-sm",
        state.ok ? "bg-emerald-50 text-emerald-800 ring-1 ring-emerald-200" : "bg-red-50 text-red-800 ring-1 ring-red-200",
        className,
      )}
    >
      {state.ok ? state.message : state.error}
    </p>
  );
}
