"use client";

import { useActionState, useState, type ReactNode } from "react";
import { ActionMessage } from "./action-message";
import type { ActionState, ServerAction } from "@/lib/action-state";

/**
 * A form bound to a server action with useActionState. Carries a request id fixed for the life of
 * the form, so a resubmission of the same form is recognised by the server as the same request.
 */
export function ActionForm({
  action,
  children,
  className,
  messageClassName,
}: {
  action: ServerAction;
  children: ReactNode | ((state: ActionState) => ReactNode);
  className?: string;
  messageClassName?: string;
}) {
  const [requestId] = useState(() => crypto.randomUUID());
  const [state, formAction] = useActionState(action, null);
  return (
    <form action={formAction} className={className}>
      <input type="hidden" name="requestId" value={requestId} />
      {typeof children === "function" ? children(state) : children}
      <ActionMessage state={state} className={messageClassName} />
    </form>
  );
}
