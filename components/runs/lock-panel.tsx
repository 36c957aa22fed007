import { Badge } from "@/components/ui/badge";
import { CopyButton } from "@/components/ui/copy-button";
import { ErrorState } from "@/components/ui/states";
import { formatDuration } from "@/components/ui/time";
import type { LockState } from "@/lib/locks/inspect";

export type LockRead = { ok: true; lock: LockState | null } | { ok: false; error: string };

/**
 * The SDK's Redis lock for this run's key, as Redis has it now. A lock whose value is not the run's
 * lease token belongs to some other submission (or to a worker that lost its lease).
 */
export function LockPanelBody({ lockKey, read, leaseToken }: { lockKey: string; read: LockRead; leaseToken: string | null }) {
  if (!read.ok) {
    return (
      <ErrorState title="Redis is unreachable: the lock cannot be read.">
        <p>{read.error}. The ledger in Postgres is unaffected; workers carry on without the lock.</p>
      </ErrorState>
    );
  }
  return (
    <dl className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-2 text-sm" data-testid="lock-panel">
      <dt className="text-zinc-500">Key</dt>
      <dd className="flex min-w-0 items-center gap-1 font-mono text-xs text-zinc-800">
        <span className="truncate" title={lockKey}>
          {lockKey}
        </span>
        <CopyButton value={lockKey} label="Copy lock key" />
      </dd>
      {read.lock === null ? (
        <>
          <dt className="text-zinc-500">State</dt>
          <dd className="text-zinc-700" data-testid="lock-state">
            Not held. The SDK takes it only while a worker runs the task, or the worker ran without Redis.
          </dd>
        </>
      ) : (
        <>
          <dt className="text-zinc-500">Value</dt>
          <dd className="flex min-w-0 flex-wrap items-center gap-2 font-mono text-xs text-zinc-800">
            <span className="break-all" data-testid="lock-value">
              {read.lock.value}
            </span>
            {leaseToken !== null && read.lock.value === leaseToken ? (
              <Badge tone="green" title="The lock's value is this run's lease token: it is held by the run's current lease holder">
                matches the run&apos;s lease token
              </Badge>
            ) : (
              <Badge tone="amber" title="Held by another submission, or by a worker that no longer holds the run's lease">
                not this run&apos;s lease token
              </Badge>
            )}
          </dd>
          <dt className="text-zinc-500">TTL</dt>
          <dd className="text-zinc-700" data-testid="lock-ttl">
            {read.lock.pttlMs === null ? <Badge tone="red">no TTL: it never expires by itself</Badge> : `${formatDuration(read.lock.pttlMs)} left`}
          </dd>
        </>
      )}
    </dl>
  );
}
