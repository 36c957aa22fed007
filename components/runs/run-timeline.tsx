import { formatAbsolute, formatDuration } from "@/components/ui/time";
import type { RunStatus } from "@/lib/ledger/schema";
import { axisTicks, formatOffset, type Lane, type LaneEnd, type LaneMarker, type TimelineModel } from "@/lib/ledger/timeline";

/**
 * The run's life as a picture: time left to right (offsets from the first event, so a 50 ms run and a
 * two-hour one both get readable ticks), the status over time on top, then one lane per lease, by
 * fencing token: held (solid) from the claim to the last sign of life, the unused rest of the lease
 * (hatched) up to its expiry, heartbeat ticks, takeovers, rejected stale writes and the end. Server
 * rendered SVG; every label is a React text node, and every mark has a <title> for hover.
 */
const WIDTH = 1000;
const GUTTER = 200;
const RIGHT = 24;
const AXIS_Y = 16;
const STATUS_Y = 30;
const STATUS_H = 12;
const LANES_Y = 64;
const LANE_H = 40;
const BAR_H = 10;

const statusFill: Record<RunStatus, string> = {
  pending: "#94a3b8",
  running: "#3b82f6",
  succeeded: "#10b981",
  failed: "#ef4444",
  cancelled: "#71717a",
};

const laneFill: Record<LaneEnd, string> = {
  succeeded: "#10b981",
  failed: "#ef4444",
  retry_scheduled: "#f59e0b",
  cancelled: "#71717a",
  abandoned: "#71717a",
  taken_over: "#a1a1aa",
  expired: "#f59e0b",
  active: "#3b82f6",
  unknown: "#a1a1aa",
};

const endLabel: Record<LaneEnd, string> = {
  succeeded: "completed",
  failed: "failed",
  retry_scheduled: "failed, retry scheduled",
  cancelled: "cancelled",
  abandoned: "abandoned",
  taken_over: "lease expired, taken over",
  expired: "lease expired, nobody holds it",
  active: "holding the lease",
  unknown: "",
};

export function RunTimeline({ model, now }: { model: TimelineModel; now: Date }) {
  const span = model.end - model.start;
  const plotWidth = WIDTH - GUTTER - RIGHT;
  const x = (t: number) => GUTTER + ((t - model.start) / span) * plotWidth;
  const { step, ticks } = axisTicks(span);
  const height = LANES_Y + Math.max(1, model.lanes.length) * LANE_H + 8;
  const laneY = (index: number) => LANES_Y + index * LANE_H + LANE_H / 2;
  const laneIndex = new Map(model.lanes.map((lane, i) => [String(lane.fencingToken), i]));
  const summary = `Run timeline over ${formatDuration(span)} from ${formatAbsolute(new Date(model.start))}: ${model.lanes.length} lease${model.lanes.length === 1 ? "" : "s"}${
    model.lanes.length ? ` (${model.lanes.map((lane) => `#${lane.fencingToken ?? "?"} ${lane.holder} ${endLabel[lane.end]}`).join("; ")})` : ""
  }.`;

  return (
    <figure className="m-0" data-testid="run-timeline">
      <div className="overflow-x-auto">
        <svg viewBox={`0 0 ${WIDTH} ${height}`} width="100%" role="img" aria-label={summary} className="min-w-[720px] font-sans" style={{ maxHeight: 640 }}>
          <title>{summary}</title>
          <defs>
            <pattern id="idem-lease-tail" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
              <rect width="6" height="6" fill="#f4f4f5" />
              <line x1="0" y1="0" x2="0" y2="6" stroke="#a1a1aa" strokeWidth="2" />
            </pattern>
          </defs>

          {/* Axis and grid */}
          {ticks.map((tick) => (
            <g key={tick}>
              <line x1={x(model.start + tick)} x2={x(model.start + tick)} y1={AXIS_Y + 4} y2={height - 4} stroke="#e4e4e7" strokeWidth="1" />
              <text x={x(model.start + tick)} y={AXIS_Y} textAnchor="middle" fontSize="11" fill="#71717a">
                {formatOffset(tick, step)}
              </text>
            </g>
          ))}

          {/* Status over time */}
          <text x={GUTTER - 10} y={STATUS_Y + STATUS_H - 2} textAnchor="end" fontSize="11" fontWeight="600" fill="#52525b">
            status
          </text>
          {model.statusSpans.map((span, i) => {
            const x1 = x(span.from);
            const width = Math.max(3, x(span.to) - x1);
            return (
              <g key={i}>
                <rect x={x1} y={STATUS_Y} width={width} height={STATUS_H} rx="2" fill={statusFill[span.status]}>
                  <title>{`${span.status} from ${formatAbsolute(new Date(span.from))} for ${formatDuration(span.to - span.from)}`}</title>
                </rect>
                {width > 60 && (
                  <text x={x1 + 4} y={STATUS_Y + STATUS_H - 2.5} fontSize="9.5" fill="white" fontWeight="600">
                    {span.status}
                  </text>
                )}
              </g>
            );
          })}
          {(() => {
            const last = model.statusSpans.at(-1);
            if (!last) return null;
            const lastWidth = Math.max(3, x(last.to) - x(last.from));
            return lastWidth > 60 ? null : (
              <text x={Math.min(WIDTH - RIGHT, x(last.to) + 4)} y={STATUS_Y - 3} textAnchor="end" fontSize="10" fontWeight="600" fill={statusFill[last.status]}>
                {last.status}
              </text>
            );
          })()}

          {model.lanes.length === 0 && (
            <text x={GUTTER} y={laneY(0) + 4} fontSize="12" fill="#71717a">
              No worker has claimed this run yet.
            </text>
          )}

          {/* Takeover connectors: from where the old lease ran out to the new claim */}
          {model.lanes.map((lane, i) => {
            if (lane.tookOverFrom === null) return null;
            const from = laneIndex.get(String(lane.tookOverFrom));
            const previous = from === undefined ? null : model.lanes[from];
            if (!previous) return null;
            const x1 = x(previous.leaseUntil ?? previous.liveUntil);
            return (
              <path
                key={`c${i}`}
                d={`M ${x1} ${laneY(from!)} C ${x1} ${laneY(i) - 10}, ${x(lane.start)} ${laneY(from!) + 10}, ${x(lane.start)} ${laneY(i)}`}
                fill="none"
                stroke="#d97706"
                strokeWidth="1.2"
                strokeDasharray="3 3"
              />
            );
          })}

          {model.lanes.map((lane, i) => (
            <LaneRow key={String(lane.fencingToken) + i} lane={lane} y={laneY(i)} x={x} />
          ))}

          {/* The current lease's expiry */}
          {model.leaseExpiry && (
            <g data-testid="timeline-lease-expiry">
              <line
                x1={x(model.leaseExpiry.at)}
                x2={x(model.leaseExpiry.at)}
                y1={STATUS_Y + STATUS_H + 2}
                y2={height - 4}
                stroke={model.leaseExpiry.expired ? "#dc2626" : "#2563eb"}
                strokeWidth="1.5"
                strokeDasharray="4 3"
              >
                <title>{`Lease ${model.leaseExpiry.expired ? "expired" : "expires"} at ${formatAbsolute(new Date(model.leaseExpiry.at))}`}</title>
              </line>
              <text
                x={Math.min(x(model.leaseExpiry.at) - 4, WIDTH - RIGHT)}
                y={STATUS_Y + STATUS_H + 12}
                textAnchor="end"
                fontSize="10"
                fontWeight="600"
                fill={model.leaseExpiry.expired ? "#dc2626" : "#2563eb"}
              >
                {model.leaseExpiry.expired ? "lease expired" : "lease expires"}
              </text>
            </g>
          )}
          {/* Now, for a run that is not finished */}
          {model.end >= now.getTime() - 1 && model.statusSpans.at(-1)?.status !== "succeeded" && model.statusSpans.at(-1)?.status !== "failed" && (
            <line x1={x(Math.min(now.getTime(), model.end))} x2={x(Math.min(now.getTime(), model.end))} y1={AXIS_Y + 4} y2={height - 4} stroke="#18181b" strokeWidth="1" strokeOpacity="0.4">
              <title>now</title>
            </line>
          )}
        </svg>
      </div>
      <figcaption className="mt-2 flex flex-wrap items-center gap-x-4 gap-y-1 text-xs text-zinc-500">
        <span>
          Starts {formatAbsolute(new Date(model.start))}; spans {formatDuration(span)}.
        </span>
        <Legend color="#3b82f6">lease held</Legend>
        <span className="inline-flex items-center gap-1">
          <svg width="18" height="8" aria-hidden>
            <rect width="18" height="8" fill="url(#idem-lease-tail)" stroke="#a1a1aa" strokeWidth="0.5" />
          </svg>
          unused lease, up to its expiry
        </span>
        <span className="inline-flex items-center gap-1">
          <svg width="8" height="12" aria-hidden>
            <line x1="4" x2="4" y1="0" y2="12" stroke="#1d4ed8" strokeWidth="1.5" />
          </svg>
          heartbeat
        </span>
        <span className="inline-flex items-center gap-1 text-amber-700">◆ takeover (new fencing token)</span>
        <span className="inline-flex items-center gap-1 text-red-700">✕ stale write rejected</span>
        {model.hiddenLanes > 0 && <span>{model.hiddenLanes} older lease(s) not drawn; see the events below.</span>}
      </figcaption>
    </figure>
  );
}

function Legend({ color, children }: { color: string; children: string }) {
  return (
    <span className="inline-flex items-center gap-1">
      <span className="inline-block h-2 w-4 rounded-sm" style={{ background: color }} aria-hidden />
      {children}
    </span>
  );
}

function LaneRow({ lane, y, x }: { lane: Lane; y: number; x: (t: number) => number }) {
  const x1 = x(lane.start);
  const xLive = Math.max(x1 + 2, x(lane.liveUntil));
  const tail = lane.leaseUntil !== null && lane.leaseUntil > lane.liveUntil && lane.end !== "unknown" ? x(lane.leaseUntil) : null;
  const color = laneFill[lane.end];
  // Heartbeats closer than 3 px are one tick: hundreds of them stay a readable comb.
  const ticks: number[] = [];
  for (const at of lane.heartbeats) {
    const px = Math.round(x(at));
    if (ticks.length === 0 || px - ticks[ticks.length - 1]! >= 3) ticks.push(px);
  }
  const holder = lane.holder.length > 26 ? `${lane.holder.slice(0, 25)}…` : lane.holder;
  const heartbeatNote = lane.heartbeatCount > lane.heartbeats.length ? ` (${lane.heartbeatCount}${lane.heartbeatCountCapped ? "+" : ""} heartbeats, latest ${lane.heartbeats.length} drawn)` : "";

  return (
    <g data-testid="timeline-lane" data-fencing-token={lane.fencingToken ?? ""}>
      <text x={GUTTER - 10} y={y - 3} textAnchor="end" fontSize="11" fontWeight="600" fill="#27272a">
        {`#${lane.fencingToken ?? "?"}`}
        <title>{`Fencing token ${lane.fencingToken ?? "unknown"}, held by ${lane.holder}${heartbeatNote}`}</title>
      </text>
      <text x={GUTTER - 10} y={y + 10} textAnchor="end" fontSize="10" fill="#71717a" fontFamily="ui-monospace, monospace">
        {holder}
        <title>{lane.holder}</title>
      </text>
      <line x1={GUTTER} x2={WIDTH - RIGHT} y1={y} y2={y} stroke="#f4f4f5" strokeWidth="1" />

      {tail !== null && (
        <rect x={xLive} y={y - BAR_H / 2} width={Math.max(1, tail - xLive)} height={BAR_H} fill="url(#idem-lease-tail)" stroke="#a1a1aa" strokeWidth="0.5">
          <title>{`Lease unused after the last sign of life, ${lane.end === "active" ? "expires" : "expired"} at ${formatAbsolute(new Date(lane.leaseUntil!))}`}</title>
        </rect>
      )}
      <rect x={x1} y={y - BAR_H / 2} width={xLive - x1} height={BAR_H} rx="2" fill={color} fillOpacity={lane.end === "taken_over" || lane.end === "unknown" ? 0.55 : 0.9}>
        <title>{`#${lane.fencingToken ?? "?"} ${lane.holder}: ${endLabel[lane.end] || "held"}, ${formatDuration(lane.liveUntil - lane.start)} from ${formatAbsolute(new Date(lane.start))}${heartbeatNote}`}</title>
      </rect>
      {ticks.map((px) => (
        <line key={px} x1={px} x2={px} y1={y - BAR_H / 2 - 4} y2={y + BAR_H / 2 + 4} stroke="#1d4ed8" strokeWidth="1" strokeOpacity="0.7" />
      ))}
      {lane.markers.map((marker, i) => (
        <Marker key={i} marker={marker} x={x(marker.at)} y={y} showLabel={labelFits(lane.markers, i, x)} />
      ))}
    </g>
  );
}

/** A label is drawn unless an earlier labelled marker on the lane is too close; the <title> always has it. */
function labelFits(markers: LaneMarker[], index: number, x: (t: number) => number): boolean {
  const here = x(markers[index]!.at);
  for (let i = index - 1; i >= 0; i--) if (here - x(markers[i]!.at) < 90) return false;
  return true;
}

function Marker({ marker, x, y, showLabel }: { marker: LaneMarker; x: number; y: number; showLabel: boolean }) {
  const title = <title>{`${marker.detail} at ${formatAbsolute(new Date(marker.at))}`}</title>;
  const labelColor =
    marker.kind === "stale_write_rejected" || marker.kind === "failed" ? "#b91c1c" : marker.kind === "takeover" || marker.kind === "retry_scheduled" ? "#b45309" : "#3f3f46";
  let shape;
  switch (marker.kind) {
    case "claimed":
      shape = <circle cx={x} cy={y} r="4.5" fill="white" stroke="#2563eb" strokeWidth="2" />;
      break;
    case "takeover":
      shape = <path d={`M ${x} ${y - 7} L ${x + 7} ${y} L ${x} ${y + 7} L ${x - 7} ${y} Z`} fill="#f59e0b" stroke="#b45309" strokeWidth="1.2" />;
      break;
    case "succeeded":
      shape = (
        <g>
          <circle cx={x} cy={y} r="6" fill="#10b981" />
          <path d={`M ${x - 3} ${y} L ${x - 1} ${y + 2.5} L ${x + 3} ${y - 2.5}`} fill="none" stroke="white" strokeWidth="1.6" />
        </g>
      );
      break;
    case "failed":
    case "cancelled":
    case "abandoned":
      shape = <rect x={x - 5} y={y - 5} width="10" height="10" fill={marker.kind === "failed" ? "#ef4444" : "#71717a"} />;
      break;
    case "retry_scheduled":
      shape = <path d={`M ${x - 6} ${y + 5} L ${x} ${y - 6} L ${x + 6} ${y + 5} Z`} fill="#f59e0b" />;
      break;
    case "stale_write_rejected":
      shape = (
        <g stroke="#dc2626" strokeWidth="2.2">
          <line x1={x - 5} y1={y - 5} x2={x + 5} y2={y + 5} />
          <line x1={x - 5} y1={y + 5} x2={x + 5} y2={y - 5} />
        </g>
      );
      break;
  }
  return (
    <g data-testid={`timeline-marker-${marker.kind}`}>
      {shape}
      {/* A wider invisible target so the hover title is easy to reach. */}
      <circle cx={x} cy={y} r="9" fill="transparent">
        {title}
      </circle>
      {showLabel && (
        <text x={x > WIDTH - 140 ? x - 8 : x + 8} y={y - 9} textAnchor={x > WIDTH - 140 ? "end" : "start"} fontSize="10" fontWeight="600" fill={labelColor}>
          {marker.label}
        </text>
      )}
    </g>
  );
}
