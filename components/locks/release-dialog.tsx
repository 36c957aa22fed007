"use client";

import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { formatDuration } from "@/components/ui/time";
import type { ServerAction } from "@/lib/action-state";
import { lockClassDescriptions } from "@/lib/locks/classify";
import { lockRefOf, typableKey, type LockRow } from "@/lib/locks/view";
import { LockClassBadge } from "./lock-badges";
import { KeyLiteral } from "./key-literal";
import { Literal } from "@/components/ui/literal";

/**
 * Release of one lock: compare-and-delete with the value shown here. A held lock asks for the key to be
 * typed back and a reason, and may also end its run's lease (the worker is gone).
 */
export function ReleaseDialog({ lock, action }: { lock: LockRow & { valueBase64: string }; action: ServerAction }) {
  const held = lock.class === "held";
  // Only an SDK lock IS its run's lease (its value is the lease token): ending a lease through any other
  // lock could end a live worker's lease that this lock has nothing to do with. The server checks again.
  const canExpireLease =
    held && lock.mappedBy === "SDK" && lock.run !== null && lock.run.status === "running" && lock.run.leaseLive && lock.run.leaseToken !== null && lock.run.leaseToken === lock.value;
  return (
    <ConfirmDialog
      action={action}
      trigger="Release"
      triggerVariant="secondary"
      title={held ? "Release a held lock" : "Release lock"}
      confirmLabel={held ? "Release held lock" : "Release lock"}
      hidden={{ lock: lockRefOf(lock), ...(canExpireLease && lock.run?.leaseToken ? { leaseToken: lock.run.leaseToken } : {}) }}
      requireReason={held}
      typeToConfirm={held ? typableKey(lock.key) : undefined}
      typedName="confirmKey"
      extraFields={
        canExpireLease ? (
          <label className="flex items-start gap-2 text-sm text-zinc-700">
            <input type="checkbox" name="expireLease" className="mt-0.5" />
            <span>
              Also end run #{lock.run!.id}&apos;s lease now, so another worker can take it over. Only if its worker
              {lock.run!.leaseOwner ? <> (<span className="font-mono text-xs">{lock.run!.leaseOwner}</span>)</> : null} is gone.
            </span>
          </label>
        ) : undefined
      }
    >
      <div className="flex flex-col gap-3">
        <p>
          Deletes <code className="font-mono text-xs break-all text-zinc-900"><KeyLiteral text={lock.key} /></code> only if it still holds exactly the
          value below ({lock.valueBytes === 1 ? "1 byte" : `${lock.valueBytes} bytes`}{lock.value === null ? ", binary: shown escaped" : ""}) and its TTL has
          only run down since this page loaded. If it changed or was set again, nothing is deleted and you are shown what it holds now.
        </p>
        <pre aria-label="Value to compare" className="max-h-40 overflow-auto rounded-md border border-zinc-200 bg-zinc-50 p-2 font-mono text-xs break-all whitespace-pre-wrap text-zinc-900">
          <Literal text={lock.preview} />
        </pre>
        <dl className="grid grid-cols-[6rem_1fr] gap-x-3 gap-y-1 text-xs">
          <dt className="text-zinc-500">Class</dt>
          <dd className="flex items-center gap-2">
            <LockClassBadge lockClass={lock.class} />
            <span className="text-zinc-600">{lockClassDescriptions[lock.class]}</span>
          </dd>
          <dt className="text-zinc-500">TTL</dt>
          <dd>{lock.pttlMs === -1 ? "none: it never expires" : formatDuration(lock.pttlMs)}</dd>
          <dt className="text-zinc-500">Run</dt>
          <dd>
            {lock.run ? `#${lock.run.id} ${lock.run.taskName}, ${lock.run.status}${lock.run.status === "running" ? (lock.run.leaseLive ? ", lease live" : ", lease expired") : ""}` : "none"}
          </dd>
        </dl>
        {lock.warnings.length > 0 && (
          <ul className="list-disc space-y-1 pl-5 text-xs text-amber-800">
            {lock.warnings.map((warning) => (
              <li key={warning.code}>{warning.message}</li>
            ))}
          </ul>
        )}
        {held && (
          <p className="rounded-md bg-red-50 px-3 py-2 text-xs text-red-800 ring-1 ring-red-200">
            This lock is held: its run is running with a live lease. Releasing it lets a second worker start the same work while the first may still be
            running. Do it only if you know that worker is gone.
          </p>
        )}
      </div>
    </ConfirmDialog>
  );
}
