import { Badge, type Tone } from "@/components/ui/badge";
import type { DuplicateOutcome, RunStatus } from "@/lib/ledger/schema";

const statusTone: Record<RunStatus, Tone> = {
  pending: "gray",
  running: "blue",
  succeeded: "green",
  failed: "red",
  cancelled: "zinc",
};

/** A run's status; a running run whose lease has expired is flagged as stuck, since nobody is working on it. */
export function RunStatusBadge({ status, leaseExpired = false }: { status: RunStatus; leaseExpired?: boolean }) {
  if (status === "running" && leaseExpired) {
    return (
      <Badge tone="amber" title="Running, but its lease expired: the worker is gone or paused">
        running · lease expired
      </Badge>
    );
  }
  return <Badge tone={statusTone[status]}>{status}</Badge>;
}

const outcomeTone: Record<DuplicateOutcome, Tone> = {
  replayed: "sky",
  in_progress: "amber",
  payload_mismatch: "red",
  lock_contended: "violet",
};

const outcomeLabel: Record<DuplicateOutcome, string> = {
  replayed: "replayed",
  in_progress: "in progress",
  payload_mismatch: "payload mismatch",
  lock_contended: "lock contended",
};

export function DuplicateOutcomeBadge({ outcome }: { outcome: DuplicateOutcome }) {
  return <Badge tone={outcomeTone[outcome]}>{outcomeLabel[outcome]}</Badge>;
}
