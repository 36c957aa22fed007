"use client";

import type { ActionState, ServerAction } from "@/lib/action-state";
import { ActionMessage } from "@/components/ui/action-message";
import { CopyButton } from "@/components/ui/copy-button";
import { Field, Input, Select } from "@/components/ui/form";
import { SubmitButton } from "@/components/ui/submit-button";
import { useAction } from "@/components/ui/use-action";

const roleOptions = [
  { value: "viewer", label: "viewer" },
  { value: "operator", label: "operator" },
  { value: "admin", label: "admin" },
];

const roleHint = "viewer reads everything; operator also releases locks and retries or cancels runs; admin also manages users and tokens.";

function secretOf(state: ActionState, key: "token" | "password"): string | null {
  if (!state?.ok || !state.data || typeof state.data !== "object" || Array.isArray(state.data)) return null;
  const value = state.data[key];
  return typeof value === "string" ? value : null;
}

function ShownOnce({ label, secret }: { label: string; secret: string }) {
  return (
    <div className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm" data-testid="shown-once-secret">
      <p className="font-medium text-amber-900">{label} (shown once)</p>
      <div className="mt-2 flex items-center gap-2">
        <code className="break-all rounded bg-white px-2 py-1 font-mono text-xs text-zinc-900 ring-1 ring-amber-200">{secret}</code>
        <CopyButton value={secret} label={`Copy ${label.toLowerCase()}`} />
      </div>
    </div>
  );
}

export function AddUserForm({ action }: { action: ServerAction }) {
  const { state, formAction, requestId } = useAction(action);
  const password = secretOf(state, "password");
  return (
    <form action={formAction} className="grid gap-3 sm:grid-cols-2">
      <input type="hidden" name="requestId" value={requestId} />
      <Field label="Username" htmlFor="new-username">
        <Input id="new-username" name="username" required maxLength={64} autoComplete="off" />
      </Field>
      <Field label="Role" htmlFor="new-role" hint={roleHint}>
        <Select id="new-role" name="role" defaultValue="viewer">
          {roleOptions.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </Select>
      </Field>
      <Field label="Password" htmlFor="new-password" hint="Leave empty to generate a strong one, shown once." className="sm:col-span-2">
        <Input id="new-password" name="password" type="password" minLength={10} maxLength={200} autoComplete="new-password" />
      </Field>
      <div className="flex flex-col gap-2 sm:col-span-2">
        <ActionMessage state={state} />
        {password && <ShownOnce label="Password" secret={password} />}
        <div>
          <SubmitButton variant="primary" pendingLabel="Creating…">
            Add user
          </SubmitButton>
        </div>
      </div>
    </form>
  );
}

export function CreateTokenForm({ action, origin }: { action: ServerAction; origin: string }) {
  const { state, formAction, requestId } = useAction(action);
  const token = secretOf(state, "token");
  return (
    <form action={formAction} className="grid gap-3 sm:grid-cols-2">
      <input type="hidden" name="requestId" value={requestId} />
      <Field label="Name" htmlFor="token-name" hint="What uses it, e.g. “grafana” or “deploy-bot”.">
        <Input id="token-name" name="name" required maxLength={100} autoComplete="off" />
      </Field>
      <Field label="Role" htmlFor="token-role" hint={roleHint}>
        <Select id="token-role" name="role" defaultValue="viewer">
          {roleOptions.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </Select>
      </Field>
      <div className="flex flex-col gap-2 sm:col-span-2">
        <ActionMessage state={state} />
        {token && (
          <>
            <ShownOnce label="Token" secret={token} />
            <pre className="overflow-x-auto rounded-md bg-zinc-950 p-3 font-mono text-xs text-zinc-100">
              {`curl -H "Authorization: Bearer ${token}" ${origin}/api/v1/runs`}
            </pre>
          </>
        )}
        <div>
          <SubmitButton variant="primary" pendingLabel="Creating…">
            Create token
          </SubmitButton>
        </div>
      </div>
    </form>
  );
}
