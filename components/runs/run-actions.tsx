import type { ReactNode } from "react";
import { abandonRunAction, cancelRunAction, retryRunAction } from "@/app/(console)/runs/actions";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { RelativeTime } from "@/components/ui/time";
import { hasRole, type Role } from "@/lib/auth/roles";
import type { RunDetail } from "@/lib/ledger/queries";
import { RetryDialog } from "./retry-dialog";

/**
 * The run detail header's operations, each behind a confirmation and offered only where it applies:
 * retry a failed run under a new key, mark a running run whose lease expired abandoned, cancel a
 * pending run. Each form carries what the page showed (status, updated_at, lineage size, lease
 * token): the server's compare-and-set refuses if the run has changed since.
 */
export function RunActions({ run, role, nextRetryKey }: { run: RunDetail; role: Role; nextRetryKey: string | null }): ReactNode {
  if (!hasRole(role, "operator")) return null;
  const errorClass = typeof run.error === "object" && run.error !== null && !Array.isArray(run.error) ? (run.error as { class?: unknown }).class : null;

  if (run.status === "failed") {
    return (
      <RetryDialog
        action={retryRunAction}
        run={{
          id: run.id,
          taskName: run.taskName,
          payload: run.payload,
          status: run.status,
          updatedAt: run.updatedAt.toISOString(),
          lineageRetries: run.lineageRetries,
          nextKey: nextRetryKey,
          errorClass: typeof errorClass === "string" ? errorClass : null,
        }}
      />
    );
  }

  if (run.status === "running" && run.leaseExpired && run.leaseToken) {
    return (
      <ConfirmDialog
        action={abandonRunAction}
        trigger="Mark abandoned…"
        triggerVariant="danger"
        title={`Mark run #${run.id} abandoned`}
        confirmLabel="Mark abandoned"
        requireReason
        hidden={{ runId: String(run.id), leaseToken: run.leaseToken, seenLeaseExpiresAt: run.leaseExpiresAt?.toISOString() ?? "" }}
      >
        <div className="flex flex-col gap-2">
          <p>
            Its lease expired <RelativeTime date={run.leaseExpiresAt} now={run.dbNow} /> and{" "}
            <code className="font-mono text-xs">{run.leaseOwner ?? "its worker"}</code> has not renewed it. Marking it abandoned ends it as{" "}
            <strong>failed</strong> (error class Abandoned), so it can be retried under a new key.
          </p>
          <p>If that worker is only paused and comes back, its heartbeat and its result are refused: the run stays failed.</p>
          <p className="text-xs text-zinc-500">
            Refused if the run was taken over (its lease token{" "}
            <code className="font-mono">{run.leaseToken.slice(0, 8)}…</code> changed) or its lease was renewed since this page loaded.
          </p>
        </div>
      </ConfirmDialog>
    );
  }

  if (run.status === "pending") {
    return (
      <ConfirmDialog
        action={cancelRunAction}
        trigger="Cancel run…"
        triggerVariant="danger"
        title={`Cancel run #${run.id}`}
        confirmLabel="Cancel the run"
        requireReason
        hidden={{ runId: String(run.id), seenAttempt: String(run.attempt) }}
      >
        <p>
          The run will not be executed: it becomes <strong>cancelled</strong>, and a later submission of its key replays the cancellation. Refused if
          a worker has picked it up since this page loaded (attempt {run.attempt} as you see it), even if it is pending again.
        </p>
      </ConfirmDialog>
    );
  }
  return null;
}
