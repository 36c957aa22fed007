import { describe, expect, it } from "vitest";
import type { RunEvent } from "./rows";
import { axisTicks, buildTimeline, formatOffset } from "./timeline";

const t0 = Date.parse("2026-01-01T00:00:00Z");
let nextId = 1;
const event = (ms: number, kind: string, token: number | null, actor: string, extra: Partial<RunEvent> = {}): RunEvent => ({
  id: nextId++,
  runId: 1,
  kind,
  fromStatus: null,
  toStatus: null,
  actor,
  fencingToken: token,
  detail: {},
  at: new Date(t0 + ms),
  ...extra,
});

describe("buildTimeline", () => {
  it("draws a takeover: the first lease runs out, the second takes over and completes, the stale write is marked", () => {
    const events = [
      event(0, "claimed", 1, "a", { toStatus: "running", detail: { lease_expires_at: new Date(t0 + 150).toISOString() } }),
      event(160, "takeover", 2, "b", {
        fromStatus: "running",
        toStatus: "running",
        detail: { previous_fencing_token: 1, previous_owner: "a", previous_lease_expired_at: new Date(t0 + 150).toISOString() },
      }),
      event(170, "stale_write_rejected", 1, "a", { detail: { attempted: "heartbeat", current_fencing_token: 2 } }),
      event(180, "heartbeat", 2, "b"),
      event(200, "succeeded", 2, "b", { fromStatus: "running", toStatus: "succeeded" }),
    ];
    const model = buildTimeline({
      run: { status: "succeeded", createdAt: new Date(t0), finishedAt: new Date(t0 + 200), leaseExpiresAt: null, fencingToken: 2, leaseExpired: false },
      events,
      heartbeats: [{ fencingToken: 2, count: 1, firstAt: new Date(t0 + 180), lastAt: new Date(t0 + 180) }],
      now: new Date(t0 + 10_000),
    });
    expect(model.start).toBe(t0);
    expect(model.end).toBe(t0 + 200);
    expect(model.lanes.map((lane) => [lane.fencingToken, lane.holder, lane.end])).toEqual([
      [1, "a", "taken_over"],
      [2, "b", "succeeded"],
    ]);
    expect(model.lanes[0]).toMatchObject({ start: t0, liveUntil: t0, leaseUntil: t0 + 150 });
    expect(model.lanes[0]!.markers.map((marker) => marker.kind)).toEqual(["claimed", "stale_write_rejected"]);
    expect(model.lanes[1]).toMatchObject({ tookOverFrom: 1, heartbeatCount: 1, liveUntil: t0 + 200 });
    expect(model.lanes[1]!.markers.map((marker) => marker.label)).toEqual(["takeover #2", "succeeded"]);
    expect(model.statusSpans.map((span) => span.status)).toEqual(["running", "succeeded"]);
  });

  it("shows a running run's live lease up to its expiry, and a stuck one as expired", () => {
    const events = [event(0, "claimed", 1, "a", { toStatus: "running" }), event(1000, "heartbeat", 1, "a")];
    const run = { status: "running" as const, createdAt: new Date(t0), finishedAt: null, fencingToken: 1 };
    const live = buildTimeline({
      run: { ...run, leaseExpiresAt: new Date(t0 + 31_000), leaseExpired: false },
      events,
      heartbeats: [{ fencingToken: 1, count: 3, firstAt: new Date(t0 + 500), lastAt: new Date(t0 + 1000) }],
      now: new Date(t0 + 2000),
    });
    expect(live.lanes[0]).toMatchObject({ end: "active", liveUntil: t0 + 2000, leaseUntil: t0 + 31_000, heartbeatCount: 3 });
    expect(live.leaseExpiry).toEqual({ at: t0 + 31_000, expired: false });
    expect(live.end).toBe(t0 + 31_000);

    const stuck = buildTimeline({ run: { ...run, leaseExpiresAt: new Date(t0 + 5000), leaseExpired: true }, events, heartbeats: [], now: new Date(t0 + 60_000) });
    expect(stuck.lanes[0]).toMatchObject({ end: "expired", liveUntil: t0 + 1000, leaseUntil: t0 + 5000 });
    expect(stuck.leaseExpiry).toEqual({ at: t0 + 5000, expired: true });
  });

  it("keeps only the latest lanes of a run claimed many times", () => {
    const events = Array.from({ length: 20 }, (_, i) => event(i * 10, i === 0 ? "claimed" : "takeover", i + 1, `w${i}`, { detail: { previous_fencing_token: i } }));
    const model = buildTimeline({
      run: { status: "running", createdAt: new Date(t0), finishedAt: null, leaseExpiresAt: new Date(t0 + 1000), fencingToken: 20, leaseExpired: false },
      events,
      heartbeats: [],
      now: new Date(t0 + 500),
    });
    expect(model.lanes).toHaveLength(12);
    expect(model.hiddenLanes).toBe(8);
    expect(model.lanes.at(-1)!.fencingToken).toBe(20);
  });
});

describe("axis", () => {
  it("picks round steps for 50 ms and for two hours", () => {
    expect(axisTicks(50)).toEqual({ step: 10, ticks: [0, 10, 20, 30, 40, 50] });
    expect(axisTicks(2 * 3_600_000 + 5000).step).toBe(1_800_000);
    expect(formatOffset(30, 10)).toBe("+30 ms");
    expect(formatOffset(15_000, 5_000)).toBe("+15 s");
    expect(formatOffset(1_800_000, 1_800_000)).toBe("+30m");
    expect(formatOffset(5_400_000, 1_800_000)).toBe("+90m");
    expect(formatOffset(7_200_000, 3_600_000)).toBe("+2h");
  });
});
