import type { RunEvent } from "./rows";
import type { RunStatus } from "./schema";

/**
 * Turns a run's events into what the timeline picture draws: one lane per lease (fencing token) with
 * when it was held, its heartbeats, how it ended (completed, failed, taken over after expiring, still
 * held), the markers on it, and the run's status over time. Pure, in milliseconds since the epoch;
 * components/runs/run-timeline.tsx maps it to pixels.
 */
export type LaneEnd = "succeeded" | "failed" | "retry_scheduled" | "cancelled" | "abandoned" | "taken_over" | "expired" | "active" | "unknown";

export type MarkerKind = "claimed" | "takeover" | "succeeded" | "failed" | "retry_scheduled" | "cancelled" | "abandoned" | "stale_write_rejected";

export interface LaneMarker {
  at: number;
  kind: MarkerKind;
  label: string;
  detail: string;
}

export interface Lane {
  fencingToken: number | null;
  holder: string;
  start: number;
  /** The last sign of life: the claim, the latest heartbeat, or the completion. */
  liveUntil: number;
  /** When the lease ran out (or will), if known; drawn as the unused tail after liveUntil. */
  leaseUntil: number | null;
  end: LaneEnd;
  heartbeats: number[];
  heartbeatCount: number;
  /** heartbeatCount is a lower bound: the ledger stopped counting. */
  heartbeatCountCapped: boolean;
  markers: LaneMarker[];
  /** The lane this one took over from. */
  tookOverFrom: number | null;
}

export interface StatusSpan {
  status: RunStatus;
  from: number;
  to: number;
}

export interface TimelineModel {
  start: number;
  end: number;
  lanes: Lane[];
  /** Older leases left out to keep the picture legible. */
  hiddenLanes: number;
  statusSpans: StatusSpan[];
  /** The current lease's expiry, for a running run. */
  leaseExpiry: { at: number; expired: boolean } | null;
}

export interface TimelineInput {
  run: {
    status: RunStatus;
    createdAt: Date;
    finishedAt: Date | null;
    leaseExpiresAt: Date | null;
    fencingToken: number;
    leaseExpired: boolean;
  };
  events: RunEvent[];
  heartbeats: Array<{ fencingToken: number | null; count: number; capped?: boolean; firstAt: Date; lastAt: Date }>;
  now: Date;
}

export const MAX_LANES = 12;

const terminalKinds = new Set<string>(["succeeded", "failed", "retry_scheduled", "cancelled", "abandoned"]);

function detailOf(event: RunEvent): Record<string, unknown> {
  return event.detail && typeof event.detail === "object" && !Array.isArray(event.detail) ? (event.detail as Record<string, unknown>) : {};
}

function timeOf(value: unknown): number | null {
  if (typeof value !== "string" && !(value instanceof Date)) return null;
  const at = new Date(value).getTime();
  return Number.isFinite(at) ? at : null;
}

function numberOf(value: unknown): number | null {
  if (value === null || value === undefined || value === "") return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

export function buildTimeline(input: TimelineInput): TimelineModel {
  const { run, events, now } = input;
  const lanes = new Map<string, Lane>();
  const order: Lane[] = [];
  const summaries = new Map(input.heartbeats.map((summary) => [String(summary.fencingToken), summary]));

  const laneFor = (token: number | null, holder: string, at: number): Lane => {
    const id = String(token);
    let lane = lanes.get(id);
    if (!lane) {
      const summary = summaries.get(id);
      const start = Math.min(at, summary ? summary.firstAt.getTime() : at);
      lane = {
        fencingToken: token,
        holder,
        start,
        liveUntil: start,
        leaseUntil: null,
        end: "unknown",
        heartbeats: [],
        heartbeatCount: summary?.count ?? 0,
        heartbeatCountCapped: summary?.capped ?? false,
        markers: [],
        tookOverFrom: null,
      };
      if (summary) lane.liveUntil = Math.max(lane.liveUntil, summary.lastAt.getTime());
      lanes.set(id, lane);
      order.push(lane);
    }
    return lane;
  };

  const spans: StatusSpan[] = [];
  let status: RunStatus | null = null;
  let since = run.createdAt.getTime();
  const moveTo = (next: RunStatus, at: number) => {
    if (status === next) return;
    if (status !== null) spans.push({ status, from: since, to: Math.max(since, at) });
    status = next;
    since = Math.max(since, at);
  };

  for (const event of events) {
    const at = event.at.getTime();
    const detail = detailOf(event);
    // The first event says what the run was before it (pending for a run an operator created).
    if (status === null) status = event.fromStatus ?? "pending";
    if (event.kind === "claimed" || event.kind === "takeover") {
      const lane = laneFor(event.fencingToken, event.actor, at);
      lane.holder = event.actor;
      lane.start = Math.min(lane.start, at);
      lane.liveUntil = Math.max(lane.liveUntil, at);
      lane.leaseUntil = timeOf(detail.lease_expires_at);
      const previousToken = numberOf(detail.previous_fencing_token);
      if (event.kind === "takeover") {
        lane.tookOverFrom = previousToken;
        const previous = lanes.get(String(previousToken));
        const expiredAt = timeOf(detail.previous_lease_expired_at);
        if (previous && !terminalKinds.has(previous.end)) {
          previous.end = "taken_over";
          if (expiredAt !== null) previous.leaseUntil = expiredAt;
        }
        lane.markers.push({
          at,
          kind: "takeover",
          label: `takeover #${event.fencingToken ?? "?"}`,
          detail: `${event.actor} took over with fencing token ${event.fencingToken ?? "?"} from ${String(detail.previous_owner ?? "?")} (token ${previousToken ?? "?"}), whose lease expired${expiredAt !== null ? ` at ${new Date(expiredAt).toISOString()}` : ""}`,
        });
      } else {
        lane.markers.push({
          at,
          kind: "claimed",
          label: `claimed #${event.fencingToken ?? "?"}`,
          detail: `${event.actor} claimed the run with fencing token ${event.fencingToken ?? "?"}${detail.attempt !== undefined ? `, attempt ${String(detail.attempt)}` : ""}`,
        });
      }
    } else if (event.kind === "heartbeat") {
      const lane = laneFor(event.fencingToken, event.actor, at);
      lane.heartbeats.push(at);
      lane.liveUntil = Math.max(lane.liveUntil, at);
      const until = timeOf(detail.lease_expires_at);
      if (until !== null) lane.leaseUntil = Math.max(lane.leaseUntil ?? until, until);
    } else if (terminalKinds.has(event.kind)) {
      const lane = event.fencingToken !== null || lanes.size > 0 ? laneFor(event.fencingToken, event.actor, at) : null;
      if (lane) {
        lane.end = event.kind as LaneEnd;
        lane.liveUntil = Math.max(lane.liveUntil, at);
        lane.leaseUntil = null;
        const errorMessage = detail.error && typeof detail.error === "object" ? String((detail.error as Record<string, unknown>).message ?? "") : "";
        lane.markers.push({
          at,
          kind: event.kind as MarkerKind,
          label: event.kind === "retry_scheduled" ? "retry scheduled" : event.kind,
          detail: `${event.kind} by ${event.actor}${errorMessage ? `: ${errorMessage}` : ""}`,
        });
      }
    } else if (event.kind === "stale_write_rejected") {
      const lane = laneFor(event.fencingToken, event.actor, at);
      lane.markers.push({
        at,
        kind: "stale_write_rejected",
        label: `stale ${String(detail.attempted ?? "write")} rejected`,
        detail: `${event.actor} (fencing token ${event.fencingToken ?? "?"}) tried to ${String(detail.attempted ?? "write")} after losing its lease; refused, the run had token ${String(detail.current_fencing_token ?? "?")}`,
      });
    }
    if (event.toStatus) moveTo(event.toStatus, at);
  }

  const nowMs = now.getTime();
  const current = lanes.get(String(run.fencingToken));
  let leaseExpiry: TimelineModel["leaseExpiry"] = null;
  if (run.status === "running" && run.leaseExpiresAt) {
    leaseExpiry = { at: run.leaseExpiresAt.getTime(), expired: run.leaseExpired };
    if (current && !terminalKinds.has(current.end)) {
      current.end = run.leaseExpired ? "expired" : "active";
      current.leaseUntil = run.leaseExpiresAt.getTime();
      if (!run.leaseExpired) current.liveUntil = Math.max(current.liveUntil, nowMs);
    }
  }

  const times = [run.createdAt.getTime(), ...events.map((event) => event.at.getTime())];
  for (const lane of order) times.push(lane.start, lane.liveUntil, ...(lane.leaseUntil !== null && lane.end !== "unknown" ? [lane.leaseUntil] : []));
  if (run.finishedAt) times.push(run.finishedAt.getTime());
  if (run.status === "running" || run.status === "pending") times.push(nowMs);
  if (leaseExpiry) times.push(leaseExpiry.at);
  const start = Math.min(...times);
  let end = Math.max(...times);
  if (end - start < 1) end = start + 1;

  spans.push({ status: status ?? run.status, from: since, to: end });

  const hiddenLanes = Math.max(0, order.length - MAX_LANES);
  return {
    start,
    end,
    lanes: order.slice(hiddenLanes),
    hiddenLanes,
    // Zero-length spans are instants between two transitions; the final status is kept to be labelled.
    statusSpans: spans.filter((span, i, all) => span.to > span.from || i === all.length - 1),
    leaseExpiry,
  };
}

const steps = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
  3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 172_800_000, 604_800_000, 2_592_000_000,
];

/** Round tick steps for a span, at most `maxTicks` of them: 10 ms apart for a 50 ms run, 15 minutes for a 2 h one. */
export function axisTicks(span: number, maxTicks = 8): { step: number; ticks: number[] } {
  const step = steps.find((candidate) => span / candidate <= maxTicks) ?? Math.ceil(span / maxTicks);
  const ticks: number[] = [];
  for (let t = 0; t <= span + 1e-9; t += step) ticks.push(t);
  return { step, ticks };
}

/** An offset from the start of the timeline: `+0`, `+35 ms`, `+1.5 s`, `+2m 30s`, `+1h 15m`, `+2d 3h`. */
export function formatOffset(ms: number, step: number): string {
  if (ms === 0) return "0";
  if (step < 1_000) return `+${Math.round(ms)} ms`;
  if (step < 60_000) {
    const seconds = ms / 1000;
    return `+${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
  }
  if (step < 3_600_000) {
    const minutes = Math.floor(ms / 60_000);
    const seconds = Math.round((ms % 60_000) / 1000);
    return seconds ? `+${minutes}m ${seconds}s` : `+${minutes}m`;
  }
  if (step < 86_400_000) {
    const hours = Math.floor(ms / 3_600_000);
    const minutes = Math.round((ms % 3_600_000) / 60_000);
    return minutes ? `+${hours}h ${minutes}m` : `+${hours}h`;
  }
  const days = Math.floor(ms / 86_400_000);
  const hours = Math.round((ms % 86_400_000) / 3_600_000);
  return hours ? `+${days}d ${hours}h` : `+${days}d`;
}
