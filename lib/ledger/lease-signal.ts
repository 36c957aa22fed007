/**
 * The "lease lost" signal a task receives as `ctx.signal`, built only when the task reads it. An
 * AbortController is the single most expensive thing the SDK did per run (it led the client-side CPU
 * profile of the exactly-once cycle, docs/BENCHMARKS.md), and most tasks never look at the signal;
 * the SDK itself only needs to know whether the lease was lost, and why.
 */
export class LeaseSignal {
  private controller: AbortController | null = null;
  private lost = false;
  private why: unknown = undefined;

  /** The reason passed to abort(), or undefined while the lease is held. */
  get reason(): unknown {
    return this.why;
  }

  get aborted(): boolean {
    return this.lost;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.lost) this.controller.abort(this.why);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.lost) return;
    this.lost = true;
    this.why = reason;
    this.controller?.abort(reason);
  }
}
