import { AppError } from "@/lib/errors";

/** The key was already used for an operation with a different fingerprint. The stored run is untouched. */
export class PayloadMismatchError extends AppError {
  constructor(
    readonly runId: number,
    readonly storedFingerprint: string,
    readonly givenFingerprint: string,
  ) {
    super(
      "PAYLOAD_MISMATCH",
      `run ${runId} already holds this key for a different operation (stored fingerprint ${storedFingerprint.slice(0, 12)}…, given ${givenFingerprint.slice(0, 12)}…)`,
      { runId, storedFingerprint, givenFingerprint },
    );
    this.name = "PayloadMismatchError";
  }
}

/**
 * The caller no longer holds the run's lease: another worker took it over (its fencing token is higher)
 * or an operator ended it. The caller's write changed nothing.
 */
export class LeaseLostError extends AppError {
  constructor(
    readonly runId: number,
    readonly fencingToken: number,
    readonly current: { status: string; fencingToken: number; leaseOwner: string | null } | null,
  ) {
    super(
      "LEASE_LOST",
      current
        ? `lease on run ${runId} lost: this worker held fencing token ${fencingToken}, the run is now ${current.status} with token ${current.fencingToken} (owner ${current.leaseOwner ?? "none"})`
        : `lease on run ${runId} lost: the run no longer exists`,
      { runId, fencingToken, current },
    );
    this.name = "LeaseLostError";
  }
}
