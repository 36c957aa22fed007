"use client";

import Link from "next/link";
import type { Route } from "next";
import { useMemo, useState } from "react";
import { RunStatusBadge } from "@/components/runs/status-badge";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { CopyButton } from "@/components/ui/copy-button";
import { Table, Td, Th, Tr } from "@/components/ui/table";
import type { ServerAction } from "@/lib/action-state";
import { lockRefOf, type LockRow } from "@/lib/locks/view";
import { formatIdle, LockClassCell, TtlCell } from "./lock-badges";
import { ReleaseDialog } from "./release-dialog";
import { KeyLiteral } from "./key-literal";

/** What a bulk release carries for each lock: frozen when ticked, never re-read from "what matches now". */
interface Selected {
  key: string;
  preview: string;
  /** The LockRef posted for it (exact bytes, class, TTL seen). */
  ref: string;
}

const selectedOf = (row: LockRow & { valueBase64: string }): Selected => ({ key: row.key, preview: row.preview, ref: lockRefOf(row) });

const shorten = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);

function releasable(row: LockRow): row is LockRow & { valueBase64: string } {
  return row.valueBase64 !== null;
}

function selectable(row: LockRow): row is LockRow & { valueBase64: string } {
  return releasable(row) && row.class !== "held";
}

export function LocksTable({
  rows,
  canRelease,
  releaseAction,
  releaseManyAction,
  maxBulk,
}: {
  rows: LockRow[];
  canRelease: boolean;
  releaseAction: ServerAction;
  releaseManyAction: ServerAction;
  maxBulk: number;
}) {
  const [selection, setSelection] = useState<Map<string, Selected>>(new Map());
  // After a release the page re-renders without the released locks; forget them.
  const present = useMemo(() => new Set(rows.map((r) => r.key)), [rows]);
  const selected = [...selection.values()].filter((s) => present.has(s.key));
  const selectableRows = rows.filter(selectable);
  const allSelected = selectableRows.length > 0 && selectableRows.slice(0, maxBulk).every((r) => selection.has(r.key));

  const toggle = (row: LockRow & { valueBase64: string }, on: boolean) =>
    setSelection((current) => {
      const next = new Map(current);
      if (on && next.size < maxBulk) next.set(row.key, selectedOf(row));
      else next.delete(row.key);
      return next;
    });
  const toggleAll = (on: boolean) =>
    setSelection(on ? new Map(selectableRows.slice(0, maxBulk).map((r) => [r.key, selectedOf(r)])) : new Map());

  return (
    <div className="flex flex-col">
      {canRelease && selected.length > 0 && (
        <div
          role="region"
          aria-label="Bulk release"
          className="sticky top-0 z-10 flex items-center justify-between gap-3 border-b border-sky-200 bg-sky-50 px-4 py-2 text-sm text-sky-900"
        >
          <span>
            <strong>{selected.length}</strong> {selected.length === 1 ? "lock" : "locks"} selected
            {selected.length >= maxBulk ? ` (at most ${maxBulk} at a time)` : ""}
          </span>
          <div className="flex items-center gap-2">
            <Button variant="ghost" size="sm" onClick={() => setSelection(new Map())}>
              Clear selection
            </Button>
            <ConfirmDialog
              key={selected.map((s) => s.key).join("\n")}
              action={releaseManyAction}
              trigger={`Release ${selected.length} selected`}
              triggerVariant="danger"
              title={`Release ${selected.length} ${selected.length === 1 ? "lock" : "locks"}`}
              confirmLabel={`Release ${selected.length} ${selected.length === 1 ? "lock" : "locks"}`}
              hidden={{ lock: selected.map((s) => s.ref) }}
            >
              <p className="mb-2">
                Each of these <strong>{selected.length}</strong> locks is deleted only if it still holds the value shown; any that changed or is now held
                is left alone and reported. Exactly these, not whatever matches the filter now.
              </p>
              <ul aria-label="Locks to release" className="max-h-56 overflow-y-auto rounded-md border border-zinc-200 bg-zinc-50 p-2 font-mono text-xs">
                {selected.map((s) => (
                  <li key={s.key} className="flex justify-between gap-3 py-0.5">
                    <span className="break-all text-zinc-900"><KeyLiteral text={s.key} /></span>
                    <span className="shrink-0 text-zinc-500"><KeyLiteral text={shorten(s.preview, 24)} /></span>
                  </li>
                ))}
              </ul>
            </ConfirmDialog>
          </div>
        </div>
      )}
      <Table>
        <thead>
          <tr>
            {canRelease && (
              <Th className="w-8">
                <input
                  type="checkbox"
                  aria-label="Select all releasable locks"
                  checked={allSelected}
                  disabled={selectableRows.length === 0}
                  onChange={(event) => toggleAll(event.target.checked)}
                />
              </Th>
            )}
            <Th>Key</Th>
            <Th>Value</Th>
            <Th>TTL</Th>
            <Th>Idle</Th>
            <Th>Class</Th>
            <Th>Run</Th>
            {canRelease && (
              <Th>
                <span className="sr-only">Actions</span>
              </Th>
            )}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <Tr key={row.key} data-lock-key-base64={row.keyBase64}>
              {canRelease && (
                <Td className="w-8">
                  {selectable(row) ? (
                    <input
                      type="checkbox"
                      aria-label={`Select ${row.key}`}
                      checked={selection.has(row.key)}
                      disabled={!selection.has(row.key) && selection.size >= maxBulk}
                      onChange={(event) => toggle(row, event.target.checked)}
                    />
                  ) : (
                    <input type="checkbox" disabled aria-label={`${row.key} cannot be bulk-released`} title={row.notReleasable ?? "Held locks are released one at a time"} />
                  )}
                </Td>
              )}
              <Td className="max-w-[22rem]">
                <div className="flex items-start gap-1">
                  <span className="font-mono text-xs break-all text-zinc-900"><KeyLiteral text={row.key} /></span>
                  <CopyButton value={row.key} label="Copy key" className="shrink-0" />
                </div>
                <p className="mt-0.5 text-[11px] text-zinc-500">
                  {row.mappedBy ? (
                    <>
                      {row.mappedBy === "SDK" ? "Idem SDK" : <span className="font-mono">{row.mappedBy}</span>}
                      {row.points ? ` → ${shorten(row.points, 60)}` : ""}
                    </>
                  ) : (
                    "no template maps it to a run"
                  )}
                </p>
              </Td>
              <Td className="max-w-[14rem]">
                <div className="flex items-start gap-1">
                  <span title={row.preview} className={row.value === null ? "font-mono text-xs break-all text-zinc-500 italic" : "font-mono text-xs break-all text-zinc-800"}>
                    <KeyLiteral text={shorten(row.preview, 40)} />
                  </span>
                  {row.value !== null && <CopyButton value={row.value} label="Copy value" className="shrink-0" />}
                </div>
              </Td>
              <Td>
                <TtlCell pttlMs={row.pttlMs} />
              </Td>
              <Td className="tabular-nums whitespace-nowrap text-zinc-600">{formatIdle(row.idleSeconds)}</Td>
              <Td>
                <LockClassCell lockClass={row.class} flags={row.flags} warnings={row.warnings} />
              </Td>
              <Td>
                {row.run ? (
                  <div className="flex flex-col items-start gap-1">
                    <Link href={`/runs/${row.run.id}` as Route} className="text-sm font-medium whitespace-nowrap text-sky-700 hover:underline">
                      #{row.run.id} <span className="font-normal text-zinc-600">{row.run.taskName}</span>
                    </Link>
                    <RunStatusBadge status={row.run.status} leaseExpired={row.run.status === "running" && !row.run.leaseLive} />
                  </div>
                ) : (
                  <span className="text-xs text-zinc-400">{row.points ? "no such run" : "–"}</span>
                )}
              </Td>
              {canRelease && (
                <Td>
                  {/* Not text-right: the dialog renders inside this cell and would inherit the alignment. */}
                  <div className="flex justify-end">
                    {releasable(row) ? (
                      <ReleaseDialog lock={row} action={releaseAction} />
                    ) : (
                      // Said on screen, not only in a tooltip: the operator must know where to release it instead.
                      <p className="max-w-[16rem] text-xs text-zinc-500" data-testid="not-releasable">
                        <span className="font-medium text-zinc-700">Not releasable here.</span> {row.notReleasable}
                      </p>
                    )}
                  </div>
                </Td>
              )}
            </Tr>
          ))}
        </tbody>
      </Table>
    </div>
  );
}
