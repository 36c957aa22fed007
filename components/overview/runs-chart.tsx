"use client";

import { useRouter } from "next/navigation";
import type { Route } from "next";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { RunStatus } from "@/lib/ledger/schema";
import { hrefWith } from "@/lib/url";
import { statusColors, statusOrder } from "./palette";

export interface ChartPoint {
  /** The bucket's start, ISO 8601 UTC. */
  at: string;
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

const DAY = 86_400_000;

function tickFormatter(stepMs: number, spanMs: number) {
  const time = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "UTC" });
  const day = new Intl.DateTimeFormat("en-GB", { day: "2-digit", month: "short", timeZone: "UTC" });
  return (value: string) => {
    const date = new Date(value);
    if (spanMs <= DAY) return time.format(date);
    return stepMs >= DAY || (date.getUTCHours() === 0 && date.getUTCMinutes() === 0) ? day.format(date) : `${day.format(date)} ${time.format(date)}`;
  };
}

const tooltipTime = new Intl.DateTimeFormat("en-GB", {
  day: "2-digit",
  month: "short",
  hour: "2-digit",
  minute: "2-digit",
  hour12: false,
  timeZone: "UTC",
  timeZoneName: "short",
});

/** The bucket under the pointer: its time span and its runs by status, top of the stack first, zeros left out. */
function BucketTooltip({ point, stepMs }: { point: ChartPoint | undefined; stepMs: number }) {
  if (!point) return null;
  const from = new Date(point.at);
  const rows = [...statusOrder].reverse().filter((status) => point[status] > 0);
  const total = statusOrder.reduce((sum, status) => sum + point[status], 0);
  return (
    <div className="rounded-md border border-zinc-200 bg-white px-3 py-2 text-xs shadow-md">
      <p className="mb-1 font-medium text-zinc-900">
        {tooltipTime.format(from)} · {stepMs >= 3_600_000 ? `${stepMs / 3_600_000} h` : `${stepMs / 60_000} min`}
      </p>
      {rows.length === 0 ? (
        <p className="text-zinc-500">No runs created</p>
      ) : (
        <ul className="space-y-0.5">
          {rows.map((status) => (
            <li key={status} className="flex items-center justify-between gap-4">
              <span className="flex items-center gap-1.5 text-zinc-700">
                <span aria-hidden className="h-2 w-2 rounded-sm" style={{ backgroundColor: statusColors[status] }} />
                {status}
              </span>
              <span className="tabular-nums text-zinc-900">{point[status].toLocaleString("en-US")}</span>
            </li>
          ))}
          {rows.length > 1 && (
            <li className="flex justify-between gap-4 border-t border-zinc-100 pt-0.5 text-zinc-500">
              <span>total</span>
              <span className="tabular-nums">{total.toLocaleString("en-US")}</span>
            </li>
          )}
        </ul>
      )}
    </div>
  );
}

/**
 * Runs created per bucket, stacked by their status now. A click on a segment opens the runs list for
 * that bucket and status. Plain data in, nothing fetched.
 */
export function RunsChart({ points, stepMs, title }: { points: ChartPoint[]; stepMs: number; title: string }) {
  const router = useRouter();
  const spanMs = points.length * stepMs;
  const format = tickFormatter(stepMs, spanMs);
  const open = (status: RunStatus, point: ChartPoint | undefined) => {
    if (!point) return;
    const from = new Date(point.at);
    const to = new Date(from.getTime() + stepMs);
    router.push(hrefWith("/runs", { status, from: from.toISOString(), to: to.toISOString() }) as Route);
  };
  return (
    <div data-testid="runs-chart" role="img" aria-label={title} className="h-64 w-full">
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={points} margin={{ top: 8, right: 8, bottom: 0, left: 0 }} barCategoryGap={points.length > 100 ? 0 : "15%"}>
          <CartesianGrid vertical={false} stroke="#e4e4e7" />
          <XAxis dataKey="at" tickFormatter={format} tick={{ fontSize: 11, fill: "#71717a" }} tickLine={false} axisLine={{ stroke: "#d4d4d8" }} minTickGap={24} />
          <YAxis allowDecimals={false} tick={{ fontSize: 11, fill: "#71717a" }} tickLine={false} axisLine={false} width={44} />
          <Tooltip
            cursor={{ fill: "#f4f4f5" }}
            isAnimationActive={false}
            content={(props) => <BucketTooltip point={props.active ? (props.payload?.[0]?.payload as ChartPoint | undefined) : undefined} stepMs={stepMs} />}
          />
          <Legend
            iconType="square"
            iconSize={10}
            wrapperStyle={{ fontSize: 12 }}
            itemSorter={(item) => statusOrder.indexOf(String(item.dataKey) as RunStatus)}
          />
          {statusOrder.map((status) => (
            <Bar
              key={status}
              dataKey={status}
              name={status}
              stackId="runs"
              fill={statusColors[status]}
              isAnimationActive={false}
              cursor="pointer"
              onClick={(item) => open(status, item.payload as ChartPoint | undefined)}
            />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
