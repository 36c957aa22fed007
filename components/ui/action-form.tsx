"use client";

import type { ReactNode } from "react";
import { useAction } from "./use-action";
import { ActionMessage } from "./action-message";
import type { ActionState, ServerAction } from "@/lib/action-state";

/**
 * A form bound to a server action with useActionState, carrying the request id from useAction so a
 * resubmission of the same form is recognised by the server as the same request.
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
  const { state, formAction, requestId } = useAction(action);
  return (
    <form action={formAction} className={className}>
      <input type="hidden" name="requestId" value={requestId} />
      {typeof children === "function" ? children(state) : children}
      <ActionMessage state={state} className={messageClassName} />
    </form>
  );
}
