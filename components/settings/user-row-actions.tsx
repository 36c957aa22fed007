"use client";

import type { ServerAction } from "@/lib/action-state";
import { ActionMessage } from "@/components/ui/action-message";
import { Select } from "@/components/ui/form";
import { SubmitButton } from "@/components/ui/submit-button";
import { useAction } from "@/components/ui/use-action";
import type { Role } from "@/lib/auth/roles";

/** Role and enabled state of one user; what the admin saw travels with the form as the precondition. */
export function UserAccessForm({ action, user }: { action: ServerAction; user: { id: number; username: string; role: Role; disabled: boolean } }) {
  const { state, formAction, requestId } = useAction(action);
  return (
    <form action={formAction} className="flex flex-wrap items-center gap-2">
      <input type="hidden" name="requestId" value={requestId} />
      <input type="hidden" name="id" value={user.id} />
      <input type="hidden" name="username" value={user.username} />
      <input type="hidden" name="seenRole" value={user.role} />
      <input type="hidden" name="seenDisabled" value={String(user.disabled)} />
      <Select name="role" defaultValue={user.role} aria-label={`Role of ${user.username}`} className="w-28 py-1 text-xs">
        <option value="viewer">viewer</option>
        <option value="operator">operator</option>
        <option value="admin">admin</option>
      </Select>
      <Select name="disabled" defaultValue={String(user.disabled)} aria-label={`Access of ${user.username}`} className="w-28 py-1 text-xs">
        <option value="false">active</option>
        <option value="true">disabled</option>
      </Select>
      <SubmitButton size="sm" pendingLabel="Saving…">
        Save
      </SubmitButton>
      <ActionMessage state={state} className="basis-full py-1 text-xs" />
    </form>
  );
}
