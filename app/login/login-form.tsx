"use client";

import { useActionState, useSyncExternalStore } from "react";
import { plainHttpMessage } from "@/lib/auth/transport";
import { ActionMessage } from "@/components/ui/action-message";
import type { ActionState } from "@/lib/action-state";
import { Field, Input } from "@/components/ui/form";
import { SubmitButton } from "@/components/ui/submit-button";

const noSubscription = () => () => undefined;

export function LoginForm({ action, next, warned }: { action: (state: ActionState, formData: FormData) => Promise<ActionState>; next: string; warned: boolean }) {
  const [state, formAction] = useActionState(action, null);
  // The browser knows best whether it will keep a Secure cookie (a proxy may hide plain http from the server).
  const secureContext = useSyncExternalStore(noSubscription, () => window.isSecureContext, () => true);
  const host = useSyncExternalStore(noSubscription, () => window.location.host, () => "");
  return (
    <form action={formAction} className="flex flex-col gap-4">
      {!secureContext && !warned ? <ActionMessage state={{ ok: false, error: plainHttpMessage(host) }} /> : null}
      <input type="hidden" name="next" value={next} />
      <Field label="Username" htmlFor="username">
        <Input id="username" name="username" autoComplete="username" required maxLength={64} autoFocus />
      </Field>
      <Field label="Password" htmlFor="password">
        <Input id="password" name="password" type="password" autoComplete="current-password" required maxLength={200} />
      </Field>
      <ActionMessage state={state} />
      <SubmitButton variant="primary" pendingLabel="Signing in…">
        Sign in
      </SubmitButton>
    </form>
  );
}
