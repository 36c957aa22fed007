import type { Route } from "next";
import Link from "next/link";
import { Table, Td, Th, Tr } from "@/components/ui/table";
import { formatCount, formatShare } from "./format";

export interface TaskFailuresRow {
  task: string;
  failed: number;
  total: number;
}

export interface TaskDuplicatesRow {
  task: string;
  attempts: number;
  payloadMismatches: number;
}

const link = "font-medium text-sky-800 hover:underline";

/** The tasks with the most failed runs in the window, with their failure rate. */
export function TopFailingTasks({
  rows,
  taskHref,
  failedHref,
}: {
  rows: TaskFailuresRow[];
  taskHref: (task: string) => string;
  failedHref: (task: string) => string;
}) {
  if (rows.length === 0) return <p className="py-6 text-center text-sm text-zinc-500">No failed runs in this window.</p>;
  return (
    <Table data-testid="top-failing-tasks">
      <thead>
        <tr>
          <Th>Task</Th>
          <Th className="text-right">Failed</Th>
          <Th className="text-right">Runs</Th>
          <Th className="text-right" title="Failed runs as a share of the task's runs in this window">Rate</Th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <Tr key={row.task}>
            <Td className="font-mono text-xs">
              <Link href={taskHref(row.task) as Route} className={`${link} block max-w-36 truncate xl:max-w-44`} title={row.task}>
                {row.task}
              </Link>
            </Td>
            <Td className="text-right tabular-nums">
              <Link href={failedHref(row.task) as Route} className="font-medium text-red-700 hover:underline" data-testid="failed-count">
                {formatCount(row.failed)}
              </Link>
            </Td>
            <Td className="text-right tabular-nums text-zinc-600">{formatCount(row.total)}</Td>
            <Td className="text-right text-xs tabular-nums text-zinc-600">{formatShare(row.failed, row.total)}</Td>
          </Tr>
        ))}
      </tbody>
    </Table>
  );
}

/** The tasks with the most duplicate attempts in the window, with how many carried another payload. */
export function TopDuplicatedTasks({
  rows,
  attemptsHref,
  mismatchHref,
}: {
  rows: TaskDuplicatesRow[];
  attemptsHref: (task: string) => string;
  mismatchHref: (task: string) => string;
}) {
  if (rows.length === 0) return <p className="py-6 text-center text-sm text-zinc-500">No duplicate attempts in this window.</p>;
  return (
    <Table data-testid="top-duplicated-tasks">
      <thead>
        <tr>
          <Th>Task</Th>
          <Th className="text-right">Attempts</Th>
          <Th className="text-right" title="Attempts that reused the key for a different payload">Mismatch</Th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <Tr key={row.task}>
            <Td className="font-mono text-xs">
              <span className="block max-w-36 truncate xl:max-w-44" title={row.task}>
                {row.task}
              </span>
            </Td>
            <Td className="text-right tabular-nums">
              <Link href={attemptsHref(row.task) as Route} className={link} data-testid="attempts-count">
                {formatCount(row.attempts)}
              </Link>
            </Td>
            <Td className="text-right tabular-nums">
              {row.payloadMismatches > 0 ? (
                <Link href={mismatchHref(row.task) as Route} className="font-medium text-red-700 hover:underline">
                  {formatCount(row.payloadMismatches)}
                </Link>
              ) : (
                <span className="text-zinc-400">0</span>
              )}
            </Td>
          </Tr>
        ))}
      </tbody>
    </Table>
  );
}
