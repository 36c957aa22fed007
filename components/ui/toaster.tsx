"use client";

import { useEffect, useState } from "react";
import type { ActionState } from "@/lib/action-state";
import { cx } from "./cx";

const EVENT = "idem:action-result";

/**
 * Announces an action's result outside the form that sent it: after an action the page re-renders,
 * and the row or dialog that held the form may be gone (a released lock, a revoked token).
 */
export function announceResult(state: ActionState) {
  if (state) window.dispatchEvent(new CustomEvent<ActionState>(EVENT, { detail: state }));
}

export function Toaster() {
  const [toasts, setToasts] = useState<Array<{ id: number; state: NonNullable<ActionState> }>>([]);
  useEffect(() => {
    let next = 0;
    const onResult = (event: Event) => {
      const state = (event as CustomEvent<ActionState>).detail;
      if (!state) return;
      const id = ++next;
      setToasts((current) => [...current.slice(-3), { id, state }]);
      setTimeout(() => setToasts((current) => current.filter((toast) => toast.id !== id)), 8000);
    };
    window.addEventListener(EVENT, onResult);
    return () => window.removeEventListener(EVENT, onResult);
  }, []);
  return (
    <div aria-live="polite" className="pointer-events-none fixed right-4 bottom-4 z-50 flex w-96 max-w-[calc(100vw-2rem)] flex-col gap-2" data-testid="toaster">
      {toasts.map(({ id, state }) => (
        <div
          key={id}
          role={state.ok ? "status" : "alert"}
          className={cx(
            "pointer-events-auto rounded-md px-4 py-3 text-sm shadow-lg ring-1",
            state.ok ? "bg-emerald-50 text-emerald-900 ring-emerald-200" : "bg-red-50 text-red-900 ring-red-200",
          )}
        >
          {state.ok ? state.message : state.error}
        </div>
      ))}
    </div>
  );
}
