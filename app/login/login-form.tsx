"use client";

import { useActionState } from "react";
import { ActionMessage } from "@/components/ui/action-message";
import type { ActionState } from "@/lib/action-state";
import { Field, Input } from "@/components/ui/form";
import { SubmitButton } from "@/components/ui/submit-button";

export function LoginForm({ action, next }: { action: (state: ActionState, formData: FormData) => Promise<ActionState>; next: string }) {
  const [state, formAction] = useActionState(action, null);
  return (
    <form action={formAction} className="flex flex-col gap-4">
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
