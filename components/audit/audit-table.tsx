import Link from "next/link";
import type { Route } from "next";
import { Badge, type Tone } from "@/components/ui/badge";
import { Table, Td, Th, Tr } from "@/components/ui/table";
import { RelativeTime, formatAbsolute } from "@/components/ui/time";
import type { OperatorAction } from "@/lib/ledger/rows";
import { hrefWith } from "@/lib/url";
import { Literal } from "@/components/ui/literal";

const outcomeTone: Record<string, Tone> = { done: "green", refused: "amber", error: "red" };

/** Where an audited action's target lives in the console, if it has a page. */
export function targetHref(targetType: string, targetId: string): string | null {
  if (targetType === "run" && /^[1-9]\d{0,15}$/.test(targetId)) return `/runs/${targetId}`;
  if (targetType === "lock") return hrefWith("/locks", { q: targetId });
  return null;
}

/** JSON on one line, shortened for a table cell; the full text is in the cell's title. */
function compact(value: unknown, max = 200): { short: string; full: string } {
  const full = JSON.stringify(value ?? {});
  return { short: full.length > max ? `${full.slice(0, max)}…` : full, full };
}

/** The run an action created (a retry's child), from its outcome detail, so the log links both ends. */
function createdRunOf(entry: OperatorAction): number | null {
  const detail = entry.outcomeDetail;
  if (entry.outcome !== "done" || !detail || typeof detail !== "object" || Array.isArray(detail)) return null;
  const child = (detail as { childRunId?: unknown }).childRunId;
  return typeof child === "number" && Number.isSafeInteger(child) && child > 0 ? child : null;
}

function why(entry: OperatorAction): string | null {
  const detail = entry.outcomeDetail;
  if (detail && typeof detail === "object" && !Array.isArray(detail)) {
    const message = (detail as { message?: unknown }).message;
    if (typeof message === "string") return message;
    const reason = (detail as { why?: unknown }).why;
    if (typeof reason === "string") return reason;
  }
  return null;
}

/**
 * The audit log, one operator action per row: who, what, on which target, what they saw when they
 * acted, what came of it and why. Read-only: nothing on this screen (or anywhere) edits or deletes a row.
 */
export function AuditTable({ entries, now }: { entries: OperatorAction[]; now: Date }) {
  return (
    <Table data-testid="audit-table">
      <thead>
        <tr>
          <Th>Time</Th>
          <Th>Actor</Th>
          <Th>Action</Th>
          <Th>Target</Th>
          <Th>Precondition seen</Th>
          <Th>Outcome</Th>
          <Th>Reason</Th>
        </tr>
      </thead>
      <tbody>
        {entries.map((entry) => {
          const href = targetHref(entry.targetType, entry.targetId);
          const precondition = compact(entry.precondition);
          const message = why(entry);
          const targetLabel = entry.targetType === "run" ? `run #${entry.targetId}` : `${entry.targetType} ${entry.targetId}`;
          const created = createdRunOf(entry);
          return (
            <Tr key={entry.id} className="align-top" data-testid="audit-row" data-id={entry.id} data-action={entry.action} data-outcome={entry.outcome} data-target={`${entry.targetType}:${entry.targetId}`}>
              <Td className="whitespace-nowrap text-xs text-zinc-600">
                <span title={formatAbsolute(entry.at)}>
                  <RelativeTime date={entry.at} now={now} />
                </span>
                <span className="block text-[11px] text-zinc-400">{formatAbsolute(entry.at)}</span>
              </Td>
              <Td className="whitespace-nowrap">
                <span className="block text-sm text-zinc-900">
                  <Literal text={entry.actor} />
                </span>
                <Badge tone="zinc">{entry.actorRole}</Badge>
              </Td>
              <Td>
                <code className="whitespace-nowrap rounded bg-zinc-100 px-1.5 py-0.5 font-mono text-xs text-zinc-800">{entry.action}</code>
              </Td>
              <Td className="max-w-64">
                {href ? (
                  <Link href={href as Route} className="block truncate font-mono text-xs font-medium text-sky-700 hover:underline" title={entry.targetId}>
                    <Literal text={targetLabel} />
                  </Link>
                ) : (
                  <span className="block truncate font-mono text-xs text-zinc-700" title={entry.targetId}>
                    <Literal text={targetLabel} />
                  </span>
                )}
                {created !== null && (
                  <span className="mt-0.5 block whitespace-nowrap text-[11px] text-zinc-500" data-testid="audit-created">
                    created{" "}
                    <Link href={`/runs/${created}` as Route} className="font-mono font-medium text-sky-700 hover:underline">
                      run #{created}
                    </Link>
                  </span>
                )}
              </Td>
              <Td className="max-w-72">
                <code className="line-clamp-3 block break-all font-mono text-[11px] text-zinc-600" title={precondition.full}>
                  {precondition.short}
                </code>
              </Td>
              <Td className="max-w-96">
                <Badge tone={outcomeTone[entry.outcome] ?? "gray"}>{entry.outcome}</Badge>
                {message && (
                  <span className="mt-1 block text-xs text-zinc-600">
                    <Literal text={message} />
                  </span>
                )}
              </Td>
              <Td className="min-w-48 max-w-80 text-xs break-words text-zinc-700">{entry.reason ? <Literal text={entry.reason} /> : <span className="text-zinc-400">–</span>}</Td>
            </Tr>
          );
        })}
      </tbody>
    </Table>
  );
}
