import { describe, expect, it } from "vitest";
import { LeaseSignal } from "./lease-signal";

describe("LeaseSignal", () => {
  it("hands out one live signal that aborts with the reason when the lease is lost", () => {
    const lease = new LeaseSignal();
    const signal = lease.signal;
    const seen: unknown[] = [];
    signal.addEventListener("abort", () => seen.push(signal.reason));
    expect(signal.aborted).toBe(false);
    expect(lease.reason).toBeUndefined();
    const why = new Error("taken over");
    lease.abort(why);
    lease.abort(new Error("second"));
    expect(lease.signal).toBe(signal);
    expect(signal.aborted).toBe(true);
    expect(seen).toEqual([why]);
    expect(lease.reason).toBe(why);
  });

  it("a signal first read after the loss is already aborted, with the same reason", () => {
    const lease = new LeaseSignal();
    const why = new Error("taken over");
    lease.abort(why);
    expect(lease.aborted).toBe(true);
    expect(lease.signal.aborted).toBe(true);
    expect(lease.signal.reason).toBe(why);
  });
});
