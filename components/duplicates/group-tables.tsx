import type { Route } from "next";
import Link from "next/link";
import { Table, Td, Th, Tr } from "@/components/ui/table";
import { RelativeTime, formatAbsolute } from "@/components/ui/time";
import { formatCount } from "@/components/overview/format";
import type { DuplicateOutcome } from "@/lib/ledger/schema";
import { OutcomeBreakdown } from "./outcome-breakdown";
import { Literal } from "@/components/ui/literal";

export interface KeyGroupRow {
  task: string;
  key: string;
  runId: number | null;
  attempts: number;
  byOutcome: Record<DuplicateOutcome, number>;
  lastAt: Date;
}

export interface NamedGroupRow {
  name: string;
  attempts: number;
  byOutcome: Record<DuplicateOutcome, number>;
  lastAt: Date;
}

export interface ScanNote {
  scanned: number;
  capped: boolean;
  oldestAt: Date | null;
}

/** Says what the grouping covered: all matching attempts, or only the newest ones when there are too many. */
export function ScanSummary({ scan }: { scan: ScanNote }) {
  return (
    <span className="block text-xs text-zinc-500" data-testid="scan-summary">
      {scan.capped && scan.oldestAt
        ? `Grouped from the newest ${formatCount(scan.scanned)} matching attempts (since ${formatAbsolute(scan.oldestAt)}). Narrow the filters or the time range to cover older ones.`
        : `Grouped from all ${formatCount(scan.scanned)} matching attempts.`}
    </span>
  );
}

/** The keys redelivered most: each links to its run and to the list of its attempts. */
export function KeyGroupsTable({
  groups,
  now,
  attemptsHref,
}: {
  groups: KeyGroupRow[];
  now: Date;
  attemptsHref: (group: KeyGroupRow) => string | null;
}) {
  return (
    <Table data-testid="key-groups">
      <thead>
        <tr>
          <Th>Task</Th>
          <Th>Key</Th>
          <Th>Run</Th>
          <Th className="text-right">Attempts</Th>
          <Th>Outcomes</Th>
          <Th>Last attempt</Th>
        </tr>
      </thead>
      <tbody>
        {groups.map((group) => {
          const href = attemptsHref(group);
          return (
            <Tr key={`${group.task}\u0000${group.key}`} data-testid="key-group">
              <Td className="font-mono text-xs">
                <span className="block max-w-44 truncate" title={group.task}>
                  {group.task}
                </span>
              </Td>
              <Td className="font-mono text-xs text-zinc-800">
                <span className="block max-w-80 truncate" title={group.key}>
                  <Literal text={group.key} />
                </span>
              </Td>
              <Td className="whitespace-nowrap text-xs">
                {group.runId === null ? (
                  <span className="text-zinc-400">no run yet</span>
                ) : (
                  <Link href={`/runs/${group.runId}` as Route} className="font-medium text-sky-800 hover:underline">
                    #{group.runId}
                  </Link>
                )}
              </Td>
              <Td className="text-right tabular-nums">
                {href ? (
                  <Link href={href as Route} className="font-medium text-sky-800 hover:underline" data-testid="group-attempts">
                    {formatCount(group.attempts)}
                  </Link>
                ) : (
                  formatCount(group.attempts)
                )}
              </Td>
              <Td>
                <OutcomeBreakdown counts={group.byOutcome} />
              </Td>
              <Td className="text-xs text-zinc-600">
                <RelativeTime date={group.lastAt} now={now} />
              </Td>
            </Tr>
          );
        })}
      </tbody>
    </Table>
  );
}

/** Sources or workers by attempts; each name narrows the list to it. */
export function NamedGroupsTable({
  label,
  groups,
  now,
  href,
  testId,
}: {
  label: string;
  groups: NamedGroupRow[];
  now: Date;
  href: (name: string) => string;
  testId: string;
}) {
  return (
    <Table data-testid={testId}>
      <thead>
        <tr>
          <Th>{label}</Th>
          <Th className="text-right">Attempts</Th>
          <Th>Outcomes</Th>
          <Th>Last attempt</Th>
        </tr>
      </thead>
      <tbody>
        {groups.map((group) => (
          <Tr key={group.name} data-testid="named-group">
            <Td className="font-mono text-xs">
              <Link href={href(group.name) as Route} className="block max-w-56 truncate text-sky-800 hover:underline" title={group.name}>
                <Literal text={group.name} />
              </Link>
            </Td>
            <Td className="text-right tabular-nums font-medium">{formatCount(group.attempts)}</Td>
            <Td>
              <OutcomeBreakdown counts={group.byOutcome} />
            </Td>
            <Td className="text-xs text-zinc-600">
              <RelativeTime date={group.lastAt} now={now} />
            </Td>
          </Tr>
        ))}
      </tbody>
    </Table>
  );
}
