import { BulkRetryDialog } from "@/components/runs/bulk-retry-dialog";
import { requireUser } from "@/lib/auth/current";
import { hasRole } from "@/lib/auth/roles";
import { getSql } from "@/lib/db";
import { BULK_RETRY_MAX, listRetryCandidates } from "@/lib/ops/retry";
import { bulkRetryAction } from "./actions";

/**
 * The runs list's bulk retry, offered to operators when the page shows failed runs: the failed runs
 * on this page (at most BULK_RETRY_MAX), read with the state each will be retried on, to pick from.
 */
export async function BulkRetry({ runIds }: { runIds: number[] }) {
  const user = await requireUser("viewer");
  if (!hasRole(user.role, "operator") || runIds.length === 0) return null;
  const candidates = (await listRetryCandidates(getSql(), runIds.slice(0, BULK_RETRY_MAX))).filter((run) => run.status === "failed");
  if (candidates.length === 0) return null;
  return (
    <div className="mb-3 flex items-center justify-end gap-3 text-sm text-zinc-600">
      <span>
        {candidates.length === 1 ? "1 run" : `${candidates.length} runs`} on this page failed; retry some or all of them:
      </span>
      <BulkRetryDialog
      action={bulkRetryAction}
      max={BULK_RETRY_MAX}
      omitted={Math.max(0, runIds.length - BULK_RETRY_MAX)}
      runs={candidates.map((run) => ({
        id: run.id,
        taskName: run.taskName,
        idempotencyKey: run.idempotencyKey,
        status: run.status,
        updatedAt: run.updatedAt.toISOString(),
        lineageRetries: run.lineageRetries,
        errorMessage: run.errorMessage,
      }))}
      />
    </div>
  );
}
