"use client";

import { useActionState, useId, useRef, useState, type ReactNode } from "react";
import { ActionMessage } from "./action-message";
import type { ActionState, ServerAction } from "@/lib/action-state";
import { Button } from "./button";
import { Field, Input, Textarea } from "./form";
import { SubmitButton } from "./submit-button";
import { announceResult } from "./toaster";

/**
 * A destructive action behind a confirmation: the trigger opens a dialog that states what will
 * happen, optionally asks for a reason and for the target to be typed back, and only then submits.
 * Each opening is one request id, so a double click on "confirm" is one request.
 */
export function ConfirmDialog({
  action,
  trigger,
  triggerVariant = "secondary",
  triggerSize = "sm",
  title,
  children,
  confirmLabel,
  hidden,
  requireReason = false,
  typeToConfirm,
  typedName,
  disabled,
  extraFields,
  confirmVariant = "danger",
  renderDone,
  wide = false,
}: {
  action: ServerAction;
  trigger: ReactNode;
  triggerVariant?: "primary" | "secondary" | "danger" | "ghost";
  triggerSize?: "sm" | "md";
  title: string;
  children: ReactNode;
  confirmLabel: string;
  hidden: Record<string, string | string[]>;
  requireReason?: boolean;
  /** The user must type this exact text (e.g. the lock key) before the confirm button works. */
  typeToConfirm?: string;
  /** Posts what was typed under this name, so the server can check the confirmation too. */
  typedName?: string;
  disabled?: boolean;
  extraFields?: ReactNode;
  /** A confirmation that is not destructive (a retry) need not be red. */
  confirmVariant?: "primary" | "danger";
  /** Shown under the success message, e.g. a link to what the action created. */
  renderDone?: (state: Extract<ActionState, { ok: true }>) => ReactNode;
  wide?: boolean;
}) {
  const dialogRef = useRef<HTMLDialogElement>(null);
  const [attempt, setAttempt] = useState(0);
  const open = () => {
    setAttempt((n) => n + 1);
    dialogRef.current?.showModal();
  };
  return (
    <>
      <Button variant={triggerVariant} size={triggerSize} onClick={open} disabled={disabled}>
        {trigger}
      </Button>
      <dialog
        ref={dialogRef}
        aria-label={title}
        className={`m-auto w-full ${wide ? "max-w-2xl" : "max-w-lg"} rounded-lg border border-zinc-200 p-0 shadow-xl backdrop:bg-zinc-900/40`}
      >
        {attempt > 0 && (
          <DialogBody
            key={attempt}
            action={action}
            title={title}
            confirmLabel={confirmLabel}
            hidden={hidden}
            requireReason={requireReason}
            typeToConfirm={typeToConfirm}
            typedName={typedName}
            extraFields={extraFields}
            confirmVariant={confirmVariant}
            renderDone={renderDone}
            onClose={() => dialogRef.current?.close()}
          >
            {children}
          </DialogBody>
        )}
      </dialog>
    </>
  );
}

function DialogBody({
  action,
  title,
  confirmLabel,
  hidden,
  requireReason,
  typeToConfirm,
  typedName,
  extraFields,
  confirmVariant,
  renderDone,
  onClose,
  children,
}: {
  action: ServerAction;
  title: string;
  confirmLabel: string;
  hidden: Record<string, string | string[]>;
  requireReason: boolean;
  typeToConfirm?: string;
  typedName?: string;
  extraFields?: ReactNode;
  confirmVariant: "primary" | "danger";
  renderDone?: (state: Extract<ActionState, { ok: true }>) => ReactNode;
  onClose: () => void;
  children: ReactNode;
}) {
  const [requestId] = useState(() => crypto.randomUUID());
  // What the dialog says and submits is what the page showed when it was opened: a re-render behind it
  // (the action's own revalidation, or a refresh) must not change the text or the state sent as seen.
  const [seen] = useState(() => ({ children, hidden, extraFields }));
  const [state, formAction] = useActionState<ActionState, FormData>(async (previous, formData) => {
    const next = await action(previous, formData);
    announceResult(next);
    return next;
  }, null);
  const [typed, setTyped] = useState("");
  const reasonId = useId();
  const typedId = useId();
  const done = state?.ok === true;
  const confirmBlocked = typeToConfirm !== undefined && typed !== typeToConfirm;

  return (
    <form action={formAction} className="flex flex-col gap-4 p-5">
      <h2 className="text-base font-semibold text-zinc-900">{title}</h2>
      <div className="text-sm text-zinc-700">{seen.children}</div>
      <input type="hidden" name="requestId" value={requestId} />
      {Object.entries(seen.hidden).flatMap(([name, value]) =>
        (Array.isArray(value) ? value : [value]).map((item, i) => <input key={`${name}-${i}`} type="hidden" name={name} value={item} />),
      )}
      {seen.extraFields}
      {!done && (
        <Field label={requireReason ? "Reason (required, kept in the audit log)" : "Reason (optional, kept in the audit log)"} htmlFor={reasonId}>
          <Textarea id={reasonId} name="reason" rows={2} required={requireReason} maxLength={500} />
        </Field>
      )}
      {typeToConfirm !== undefined && !done && (
        <Field label={`Type ${typeToConfirm.length > 80 ? "the key" : `"${typeToConfirm}"`} to confirm`} htmlFor={typedId}>
          <Input id={typedId} name={typedName} value={typed} onChange={(event) => setTyped(event.target.value)} autoComplete="off" spellCheck={false} />
        </Field>
      )}
      <ActionMessage state={state} />
      {state?.ok === true && renderDone?.(state)}
      <div className="flex justify-end gap-2">
        <Button variant="ghost" onClick={onClose}>
          {done ? "Close" : "Cancel"}
        </Button>
        {!done && (
          <SubmitButton variant={confirmVariant} disabled={confirmBlocked} pendingLabel="Working…">
            {confirmLabel}
          </SubmitButton>
        )}
      </div>
    </form>
  );
}
