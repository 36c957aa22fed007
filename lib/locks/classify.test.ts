import { describe, expect, it } from "vitest";
import type { RunStatus } from "@/lib/ledger/schema";
import { classifyLock, isSharedValue, tokensMatch, type ClassifyInput, type LockClass, type LockRunState } from "./classify";

const TOKEN = "6f1c1f3e-2b7d-4e39-9a51-0c1d2e3f4a5b";
const OTHER = "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d";

const base: ClassifyInput = {
  value: TOKEN,
  pttlMs: 30_000,
  compareToken: true,
  mapped: true,
  run: { status: "running", leaseToken: TOKEN, leaseLive: true },
  ttlEstimateMs: null,
  taskP99Ms: null,
  extendedByHeartbeat: true,
};

const classify = (over: Partial<ClassifyInput>) => classifyLock({ ...base, ...over });
const run = (status: RunStatus, leaseLive: boolean, leaseToken: string | null = TOKEN): LockRunState => ({ status, leaseLive, leaseToken });

describe("classifyLock: one example per class", () => {
  it("held: running, live lease, the lock is the lease's token", () => {
    expect(classify({})).toEqual({ class: "held", flags: [], warnings: [] });
  });
  it("stale: the run finished (the crashed worker's lock after its run completed)", () => {
    expect(classify({ run: run("succeeded", false) })).toMatchObject({ class: "stale", flags: [] });
  });
  it("stale: running but the lease expired (the worker is gone)", () => {
    expect(classify({ run: run("running", false) })).toMatchObject({ class: "stale", flags: [] });
  });
  it("orphaned: no run", () => {
    expect(classify({ run: null })).toMatchObject({ class: "orphaned", flags: [] });
  });
  it("no_ttl: never expires, run failed; stale is a flag", () => {
    expect(classify({ pttlMs: -1, run: run("failed", false) })).toMatchObject({ class: "no_ttl", flags: ["stale"] });
  });
  it("token_mismatch: someone else holds the run's live lease", () => {
    expect(classify({ run: run("running", true, OTHER) })).toMatchObject({ class: "token_mismatch", flags: [] });
  });
});

describe("classifyLock: precedence", () => {
  it("held wins over a missing TTL, which becomes a flag", () => {
    expect(classify({ pttlMs: -1 })).toMatchObject({ class: "held", flags: ["no_ttl"] });
  });
  it("no_ttl wins over token_mismatch", () => {
    expect(classify({ pttlMs: -1, run: run("running", true, OTHER) })).toMatchObject({ class: "no_ttl", flags: ["token_mismatch"] });
  });
  it("no_ttl wins over orphaned", () => {
    expect(classify({ pttlMs: -1, run: null })).toMatchObject({ class: "no_ttl", flags: ["orphaned"] });
  });
  it("a mismatched token on a finished run is stale, with the mismatch as a flag", () => {
    expect(classify({ run: run("succeeded", false, OTHER) })).toMatchObject({ class: "stale", flags: ["token_mismatch"] });
  });
  it("a run with no lease token at all (pending, never claimed) is stale with a mismatch flag", () => {
    expect(classify({ run: run("pending", false, null) })).toMatchObject({ class: "stale", flags: ["token_mismatch"] });
  });
  it("a non-string key on a live run's SDK key is not the holder's", () => {
    expect(classify({ value: null, run: run("running", true) })).toMatchObject({ class: "token_mismatch" });
  });
});

describe("classifyLock: other code's locks are never compared with the lease token", () => {
  it("a foreign lock on a running run with a live lease is held whatever its value", () => {
    expect(classify({ compareToken: false, value: "processing", run: run("running", true) })).toMatchObject({ class: "held", flags: [] });
  });
  it("a foreign lock on a finished run is stale, without a mismatch flag", () => {
    expect(classify({ compareToken: false, value: "processing", run: run("succeeded", false) })).toMatchObject({ class: "stale", flags: [] });
  });
});

/**
 * Every combination, against the rule written out independently: the class is the first that applies
 * in the order held, no_ttl, token_mismatch (live lease only), stale, orphaned.
 */
describe("classifyLock: exhaustive", () => {
  const statuses: Array<RunStatus | null> = [null, "pending", "running", "succeeded", "failed", "cancelled"];
  const combos: Array<[RunStatus | null, boolean, boolean, number, boolean]> = [];
  for (const status of statuses)
    for (const leaseLive of [false, true])
      for (const tokenMatches of [false, true])
        for (const pttlMs of [-1, 5_000])
          for (const compareToken of [false, true]) {
            if (status === null && (leaseLive || tokenMatches)) continue;
            if (status !== "running" && leaseLive) continue; // the query only calls a running run's lease live
            combos.push([status, leaseLive, tokenMatches, pttlMs, compareToken]);
          }

  it.each(combos)("status %s, lease live %s, token matches %s, pttl %s, compare %s", (status, leaseLive, tokenMatches, pttlMs, compareToken) => {
    const result = classify({
      compareToken,
      pttlMs,
      run: status === null ? null : run(status, leaseLive, tokenMatches ? TOKEN : OTHER),
    });
    const live = status === "running" && leaseLive;
    const tokenOk = !compareToken || tokenMatches;
    let expected: LockClass;
    if (live && tokenOk) expected = "held";
    else if (pttlMs === -1) expected = "no_ttl";
    else if (live && compareToken && !tokenMatches) expected = "token_mismatch";
    else if (status !== null) expected = "stale";
    else expected = "orphaned";
    expect(result.class).toBe(expected);
    expect(result.flags).not.toContain(result.class);
    if (pttlMs === -1 && expected !== "no_ttl") expect(result.flags).toContain("no_ttl");
    if (status === null) expect([result.class, ...result.flags]).toContain("orphaned");
  });
});

describe("hygiene warnings", () => {
  it.each(["1", "processing", "running", "LOCKED", "true", "worker-3", ""])("%j is not a unique token", (value) => {
    expect(isSharedValue(value)).toBe(true);
    expect(classify({ value, compareToken: false }).warnings.map((w) => w.code)).toContain("shared_value");
  });
  it.each([TOKEN, "host-a:1234:9f8e7d6c5b4a"])("%j is a unique token", (value) => {
    expect(isSharedValue(value)).toBe(false);
  });
  it("a TTL shorter than the task's p99 warns, for locks that nothing extends", () => {
    const warned = classify({ compareToken: false, value: TOKEN, extendedByHeartbeat: false, ttlEstimateMs: 300_000, taskP99Ms: 900_000 });
    expect(warned.warnings).toEqual([expect.objectContaining({ code: "ttl_below_p99", message: expect.stringContaining("15 min") })]);
  });
  it("no TTL warning when the TTL covers the p99, when the SDK extends the lock, or when the lock has no TTL", () => {
    const codes = (over: Partial<ClassifyInput>) => classify({ extendedByHeartbeat: false, ttlEstimateMs: 300_000, taskP99Ms: 200_000, ...over }).warnings.map((w) => w.code);
    expect(codes({})).not.toContain("ttl_below_p99");
    expect(codes({ taskP99Ms: 900_000, extendedByHeartbeat: true })).not.toContain("ttl_below_p99");
    expect(codes({ taskP99Ms: 900_000, pttlMs: -1 })).not.toContain("ttl_below_p99");
    expect(codes({ taskP99Ms: null })).not.toContain("ttl_below_p99");
    expect(codes({ taskP99Ms: 900_000 })).toContain("ttl_below_p99");
  });
  it("a key no rule maps says so", () => {
    expect(classify({ mapped: false, run: null, compareToken: false }).warnings.map((w) => w.code)).toEqual(["unmapped"]);
  });
});

describe("tokensMatch", () => {
  it("compares uuids case-insensitively and anything else exactly", () => {
    expect(tokensMatch(TOKEN.toUpperCase(), TOKEN)).toBe(true);
    expect(tokensMatch("ABC", "abc")).toBe(false);
    expect(tokensMatch(null, TOKEN)).toBe(false);
    expect(tokensMatch(TOKEN, null)).toBe(false);
  });
});
