"use client";

import Link from "next/link";
import type { Route } from "next";
import { useId, useMemo, useRef, useState } from "react";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { Textarea } from "@/components/ui/form";
import { escapeInvisible } from "@/components/ui/invisible";
import { formatAbsolute } from "@/components/ui/time";
import type { ServerAction } from "@/lib/action-state";
import { diffPayloads, formatPath, type DiffEntry } from "@/lib/ledger/payload-diff";

export interface RetryTarget {
  id: number;
  taskName: string;
  payload: unknown;
  /** The state the page showed: sent back as the compare half of the compare-and-set. */
  status: string;
  updatedAt: string;
  lineageRetries: number;
  /** `<root key>#retry-<n>`, as the server derives it from the same seen state (lib/ops/retry.ts); null if none is free. */
  nextKey: string | null;
  errorClass: string | null;
}

/**
 * Retry under a new key: states what will be created, optionally lets the operator edit the payload
 * (validated as JSON, with the difference shown before confirming), and carries the state seen.
 */
export function RetryDialog({ action, run }: { action: ServerAction; run: RetryTarget }) {
  return (
    <ConfirmDialog
      action={action}
      trigger="Retry…"
      triggerVariant="primary"
      title={`Retry run #${run.id} under a new key`}
      confirmLabel="Retry under a new key"
      confirmVariant="primary"
      wide
      hidden={{
        runId: String(run.id),
        seenStatus: run.status,
        seenUpdatedAt: run.updatedAt,
        seenRetries: String(run.lineageRetries),
      }}
      extraFields={<PayloadEditor original={run.payload} />}
      renderDone={(state) => <CreatedLink data={state.data} />}
    >
      <div className="flex flex-col gap-3">
        <dl className="grid grid-cols-[5.5rem_1fr] gap-x-3 gap-y-1.5">
          <dt className="text-zinc-500">New run</dt>
          <dd>
            <strong>pending</strong>, task <code className="font-mono text-xs">{run.taskName}</code>
          </dd>
          <dt className="text-zinc-500">Key</dt>
          <dd>
            <code className="break-all rounded bg-zinc-100 px-1.5 py-0.5 font-mono text-xs text-zinc-900" data-testid="retry-key">
              {run.nextKey ?? "none free: the retry will be refused"}
            </code>
          </dd>
          <dt className="text-zinc-500">Payload</dt>
          <dd>the same as run #{run.id}&apos;s, unless you edit it below</dd>
        </dl>
        <p>
          A worker that handles <code className="font-mono text-xs">{run.taskName}</code> picks it up. Run #{run.id} keeps its{" "}
          {run.errorClass === "Abandoned" ? "abandonment" : "failure"}; the lineage links the two.
        </p>
        <p className="text-xs text-zinc-500" data-testid="retry-precondition">
          Refused if anything changed since this page loaded: you see it {run.status}, last updated {formatAbsolute(new Date(run.updatedAt))}, with{" "}
          {run.lineageRetries === 0 ? "no retries" : run.lineageRetries === 1 ? "1 retry" : `${run.lineageRetries} retries`} in its lineage. Also refused
          if a retry of it already succeeded or is still under way, or the same operation already succeeded in its lineage.
        </p>
      </div>
    </ConfirmDialog>
  );
}

function CreatedLink({ data }: { data: unknown }) {
  const child = data as { childRunId?: number; childKey?: string } | undefined;
  if (!child?.childRunId) return null;
  return (
    <Link href={`/runs/${child.childRunId}` as Route} className="text-sm font-medium text-sky-700 hover:underline" data-testid="retry-child-link">
      Open run #{child.childRunId} →
    </Link>
  );
}

function PayloadEditor({ original }: { original: unknown }) {
  const originalText = useMemo(() => JSON.stringify(original, null, 2), [original]);
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(originalText);
  const textareaRef = useRef<HTMLTextAreaElement>(null);
  const checkboxId = useId();
  const textareaId = useId();

  const parsed = useMemo((): { ok: true; value: unknown } | { ok: false; error: string } => {
    try {
      return { ok: true, value: JSON.parse(text) as unknown };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : "not valid JSON" };
    }
  }, [text]);
  const diff = useMemo(() => (parsed.ok ? diffPayloads(original, parsed.value) : null), [original, parsed]);

  const onChange = (next: string) => {
    setText(next);
    // The browser then refuses to submit the form, and says why, while the JSON does not parse.
    try {
      JSON.parse(next);
      textareaRef.current?.setCustomValidity("");
    } catch {
      textareaRef.current?.setCustomValidity("The payload is not valid JSON.");
    }
  };

  return (
    <div className="flex flex-col gap-2">
      <label htmlFor={checkboxId} className="flex items-center gap-2 text-sm text-zinc-700">
        <input id={checkboxId} type="checkbox" name="editPayload" checked={editing} onChange={(event) => setEditing(event.target.checked)} />
        Edit the payload before retrying
      </label>
      {editing && (
        <>
          <label htmlFor={textareaId} className="text-xs font-medium text-zinc-600">
            Payload (JSON)
          </label>
          <Textarea
            ref={textareaRef}
            id={textareaId}
            name="payload"
            rows={Math.min(14, Math.max(4, text.split("\n").length))}
            value={text}
            onChange={(event) => onChange(event.target.value)}
            spellCheck={false}
            aria-invalid={!parsed.ok}
            aria-describedby={`${textareaId}-diff`}
          />
          <div id={`${textareaId}-diff`} className="text-xs" data-testid="retry-payload-diff">
            {!parsed.ok ? (
              <p role="alert" className="text-red-700">
                Not valid JSON: {parsed.error}
              </p>
            ) : diff?.identical ? (
              <p className="text-zinc-500">No changes: the retry uses the same payload (and the same fingerprint).</p>
            ) : (
              <EditDiff entries={diff?.entries ?? []} truncated={diff?.truncated ?? false} />
            )}
          </div>
        </>
      )}
    </div>
  );
}

const kindLabel: Record<DiffEntry["kind"], string> = { added: "added", removed: "removed", changed: "changed", moved: "moved" };

/** A value as the diff shows it: invisible and bidi characters escaped, as in the run's own payload diff. */
function show(value: unknown): string {
  const text = value === undefined ? "undefined" : escapeInvisible(JSON.stringify(value));
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function EditDiff({ entries, truncated }: { entries: DiffEntry[]; truncated: boolean }) {
  return (
    <div className="rounded-md border border-amber-200 bg-amber-50/50 p-2">
      <p className="mb-1 font-medium text-amber-900">
        {entries.length} {entries.length === 1 ? "change" : "changes"} from the failed run&apos;s payload: a different operation, with its own fingerprint.
      </p>
      <table className="w-full border-collapse text-left">
        <tbody className="font-mono">
          {entries.map((entry, i) => (
            <tr key={i} className="border-t border-amber-100 align-top" data-testid="retry-diff-entry" data-kind={entry.kind}>
              <td className="py-1 pr-2 text-zinc-800">{escapeInvisible(formatPath(entry.path))}</td>
              <td className="py-1 pr-2 font-sans text-zinc-600">{kindLabel[entry.kind]}</td>
              <td className="max-w-48 break-all py-1 pr-2 text-red-800">
                {entry.kind === "removed" || entry.kind === "changed" ? <del>{show(entry.before)}</del> : null}
              </td>
              <td className="max-w-48 break-all py-1 text-emerald-800">
                {entry.kind === "added" || entry.kind === "changed" ? show(entry.after) : entry.kind === "moved" ? `to [${entry.to}]` : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {truncated && <p className="mt-1 text-zinc-500">More changes than shown.</p>}
    </div>
  );
}
