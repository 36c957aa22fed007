import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { Suspense } from "react";
import { LineagePanel } from "@/components/runs/lineage-panel";
import { LockPanelBody, type LockRead } from "@/components/runs/lock-panel";
import { RunActions } from "@/components/runs/run-actions";
import { RunDuplicatesView } from "@/components/runs/run-duplicates";
import { RunEventsTable } from "@/components/runs/run-events-table";
import { RunHeader } from "@/components/runs/run-header";
import { RunPayloads } from "@/components/runs/run-payloads";
import { RunTimeline } from "@/components/runs/run-timeline";
import { Panel } from "@/components/ui/panel";
import { PanelSkeleton } from "@/components/ui/skeleton";
import { formatAbsolute } from "@/components/ui/time";
import { requireUser } from "@/lib/auth/current";
import { hasRole } from "@/lib/auth/roles";
import { getSql } from "@/lib/db";
import { env } from "@/lib/env";
import { diffPayloads } from "@/lib/ledger/payload-diff";
import { getLineage, getRun, listRunDuplicates, listRunEvents, type RunDetail } from "@/lib/ledger/queries";
import { buildTimeline } from "@/lib/ledger/timeline";
import { getLock } from "@/lib/locks/inspect";
import { lockKeyFor } from "@/lib/locks/locks";
import { previewRetryKey } from "@/lib/ops/retry";
import { parseRunId } from "@/lib/params/runs";
import { getRedis } from "@/lib/redis";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  const id = parseRunId((await params).id);
  return { title: id === null ? "Run not found" : `Run #${id}` };
}

/**
 * One run: header, timeline, payload / result / error, duplicate submissions with payload diffs,
 * lineage and the Redis lock. Each panel reads on its own inside Suspense, so a slow or failing read
 * (Redis down) holds back only its panel.
 */
export default async function RunPage({ params }: { params: Promise<{ id: string }> }) {
  const user = await requireUser("viewer");
  const id = parseRunId((await params).id);
  if (id === null) notFound();
  const run = await getRun(getSql(), id);
  if (!run) notFound();
  const nextRetryKey = run.status === "failed" && hasRole(user.role, "operator") ? await previewRetryKey(getSql(), run.id, run.lineageRetries) : null;

  return (
    <>
      <RunHeader run={run} actions={<RunActions run={run} role={user.role} nextRetryKey={nextRetryKey} />} />
      <div className="flex flex-col gap-6">
        <Suspense fallback={<PanelSkeleton title="Timeline" rows={6} />}>
          <TimelineSection run={run} />
        </Suspense>
        <RunPayloads run={run} />
        <div className="grid grid-cols-1 items-start gap-6 xl:grid-cols-[3fr_2fr]">
          <Suspense fallback={<PanelSkeleton title="Duplicate submissions" rows={4} />}>
            <DuplicatesSection run={run} />
          </Suspense>
          <div className="flex flex-col gap-6">
            <Suspense fallback={<PanelSkeleton title="Lineage" rows={3} />}>
              <LineageSection run={run} />
            </Suspense>
            <Suspense fallback={<PanelSkeleton title="Redis lock" rows={3} />}>
              <LockSection run={run} />
            </Suspense>
            <DetailsPanel run={run} />
          </div>
        </div>
      </div>
    </>
  );
}

async function TimelineSection({ run }: { run: RunDetail }) {
  const events = await listRunEvents(getSql(), run.id);
  const model = buildTimeline({ run, events: events.events, heartbeats: events.heartbeats.byToken, now: run.dbNow });
  const { total, shown } = events.heartbeats;
  return (
    <Panel
      title="Timeline"
      description={
        <>
          Leases, heartbeats, takeovers and the outcome, from run_events.
          {total > shown && ` ${total} heartbeats; the latest ${shown} are drawn and listed.`}
          {events.eventsTruncated && " Only the latest 1,000 other events are shown."}
        </>
      }
    >
      <RunTimeline model={model} now={run.dbNow} />
      <details className="mt-4" open={events.events.length <= 60}>
        <summary className="cursor-pointer text-xs font-medium text-zinc-600">Events ({events.events.length})</summary>
        <div className="mt-2 max-h-[28rem] overflow-y-auto">
          <RunEventsTable events={events.events} start={model.start} />
        </div>
      </details>
    </Panel>
  );
}

async function DuplicatesSection({ run }: { run: RunDetail }) {
  const duplicates = await listRunDuplicates(getSql(), run.id);
  const diffs = duplicates.mismatches.map((attempt) => ({ attempt, diff: diffPayloads(run.payload, attempt.payload) }));
  return (
    <Panel title="Duplicate submissions" description="Other submissions of this key, answered without running the task again.">
      <RunDuplicatesView duplicates={duplicates} diffs={diffs} total={run.duplicateCount} now={run.dbNow} />
    </Panel>
  );
}

async function LineageSection({ run }: { run: RunDetail }) {
  const lineage = await getLineage(getSql(), run);
  return (
    <Panel title="Lineage" description="Retries of this run, and the runs it retried.">
      <LineagePanel runId={run.id} lineage={lineage} now={run.dbNow} />
    </Panel>
  );
}

async function LockSection({ run }: { run: RunDetail }) {
  const lockKey = lockKeyFor(run.taskName, run.idempotencyKey, env.IDEM_LOCK_PREFIX);
  let read: LockRead;
  try {
    read = { ok: true, lock: await getLock(getRedis(), lockKey) };
  } catch (error) {
    read = { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  return (
    <Panel title="Redis lock" description="The SDK's lock for this key, as Redis has it now.">
      <LockPanelBody lockKey={lockKey} read={read} leaseToken={run.leaseToken} />
    </Panel>
  );
}

function DetailsPanel({ run }: { run: RunDetail }) {
  const rows: Array<[string, string | null]> = [
    ["Run id", String(run.id)],
    ["Fingerprint", run.fingerprint],
    ["Lease token", run.leaseToken],
    ["Last heartbeat", run.heartbeatAt ? formatAbsolute(run.heartbeatAt) : null],
    ["Scheduled for", run.scheduledFor ? formatAbsolute(run.scheduledFor) : null],
    ["Available at", formatAbsolute(run.availableAt)],
    ["Source", run.source],
    ["Created by", run.createdBy],
    ["Root run", String(run.rootRunId)],
    ["Last duplicate", run.lastDuplicateAt ? formatAbsolute(run.lastDuplicateAt) : null],
    ["Updated", formatAbsolute(run.updatedAt)],
  ];
  return (
    <Panel title="Details">
      <dl className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1.5 text-sm">
        {rows.map(([label, value]) => (
          <div key={label} className="contents">
            <dt className="text-zinc-500">{label}</dt>
            <dd className="min-w-0 truncate font-mono text-xs leading-5 text-zinc-800" title={value ?? undefined}>
              {value ?? <span className="text-zinc-400">–</span>}
            </dd>
          </div>
        ))}
      </dl>
    </Panel>
  );
}
