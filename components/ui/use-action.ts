"use client";

import { useActionState, useState } from "react";
import type { ActionState, ServerAction } from "@/lib/action-state";

/**
 * useActionState plus the request id the server uses to recognise a resubmission: the same id for
 * every submission until one succeeds (so a double click is one request), a new one after.
 */
export function useAction(action: ServerAction) {
  const [requestId, setRequestId] = useState(() => crypto.randomUUID());
  const [state, formAction, pending] = useActionState(async (previous: ActionState, formData: FormData) => {
    const next = await action(previous, formData);
    if (next?.ok) setRequestId(crypto.randomUUID());
    return next;
  }, null);
  return { state, formAction, pending, requestId };
}
