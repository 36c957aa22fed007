import { Table, Td, Th, Tr } from "@/components/ui/table";
import { formatAbsolute, formatDuration } from "@/components/ui/time";
import type { RunEvent } from "@/lib/ledger/rows";
import { RunStatusBadge } from "./status-badge";

type Row =
  | { type: "event"; event: RunEvent }
  | { type: "heartbeats"; first: RunEvent; last: RunEvent; count: number };

/** Consecutive heartbeats of the same lease become one row, so a long run's table stays short. */
function collapse(events: RunEvent[]): Row[] {
  const rows: Row[] = [];
  for (const event of events) {
    const previous = rows.at(-1);
    if (event.kind === "heartbeat" && previous) {
      if (previous.type === "heartbeats" && previous.last.fencingToken === event.fencingToken) {
        previous.last = event;
        previous.count++;
        continue;
      }
    }
    rows.push(event.kind === "heartbeat" ? { type: "heartbeats", first: event, last: event, count: 1 } : { type: "event", event });
  }
  return rows;
}

function compactDetail(detail: unknown): string {
  if (!detail || typeof detail !== "object" || Object.keys(detail).length === 0) return "";
  const text = JSON.stringify(detail);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

export function RunEventsTable({ events, start }: { events: RunEvent[]; start: number }) {
  const rows = collapse(events);
  const offset = (event: RunEvent) => `+${formatDuration(event.at.getTime() - start)}`;
  return (
    <Table aria-label="Run events" data-testid="run-events">
      <thead>
        <tr>
          <Th>When</Th>
          <Th>Event</Th>
          <Th>Status</Th>
          <Th>Actor</Th>
          <Th className="text-right">Fencing token</Th>
          <Th>Detail</Th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) =>
          row.type === "heartbeats" ? (
            <Tr key={`h${row.first.id}`} className="text-zinc-500">
              <Td className="whitespace-nowrap text-xs tabular-nums">
                <time dateTime={row.first.at.toISOString()} title={formatAbsolute(row.first.at)}>
                  {offset(row.first)}
                </time>
                {row.count > 1 && (
                  <>
                    {" – "}
                    <time dateTime={row.last.at.toISOString()} title={formatAbsolute(row.last.at)}>
                      {offset(row.last)}
                    </time>
                  </>
                )}
              </Td>
              <Td className="text-xs">{row.count === 1 ? "heartbeat" : `${row.count} heartbeats`}</Td>
              <Td />
              <Td className="max-w-56 truncate font-mono text-xs" title={row.first.actor}>
                {row.first.actor}
              </Td>
              <Td className="text-right font-mono text-xs">{row.first.fencingToken ?? "–"}</Td>
              <Td className="text-xs">every {row.count > 1 ? formatDuration((row.last.at.getTime() - row.first.at.getTime()) / (row.count - 1)) : "–"}</Td>
            </Tr>
          ) : (
            <Tr key={row.event.id} className={row.event.kind === "stale_write_rejected" ? "bg-red-50/60" : undefined}>
              <Td className="whitespace-nowrap text-xs tabular-nums text-zinc-600">
                <time dateTime={row.event.at.toISOString()} title={formatAbsolute(row.event.at)}>
                  {offset(row.event)}
                </time>
              </Td>
              <Td className="text-xs font-medium text-zinc-800">{row.event.kind.replace(/_/g, " ")}</Td>
              <Td className="whitespace-nowrap">
                {row.event.toStatus ? (
                  <span className="inline-flex items-center gap-1 text-xs text-zinc-400">
                    {row.event.fromStatus && <RunStatusBadge status={row.event.fromStatus} />}
                    {row.event.fromStatus && "→"}
                    <RunStatusBadge status={row.event.toStatus} />
                  </span>
                ) : null}
              </Td>
              <Td className="max-w-56 truncate font-mono text-xs text-zinc-600" title={row.event.actor}>
                {row.event.actor}
              </Td>
              <Td className="text-right font-mono text-xs">{row.event.fencingToken ?? "–"}</Td>
              <Td className="max-w-md truncate font-mono text-[11px] text-zinc-500" title={compactDetail(row.event.detail)}>
                {compactDetail(row.event.detail)}
              </Td>
            </Tr>
          ),
        )}
      </tbody>
    </Table>
  );
}
