import type { Metadata } from "next";
import type { Route } from "next";
import Link from "next/link";
import { Suspense } from "react";
import { LocksTable } from "@/components/locks/locks-table";
import { lockClassTone } from "@/components/locks/lock-badges";
import { PageHeader } from "@/components/shell/page-header";
import { cx } from "@/components/ui/cx";
import { ButtonLink } from "@/components/ui/button";
import { Field, Input, Select } from "@/components/ui/form";
import { Panel } from "@/components/ui/panel";
import { PanelSkeleton } from "@/components/ui/skeleton";
import { EmptyState, ErrorState } from "@/components/ui/states";
import { requireUser } from "@/lib/auth/current";
import { hasRole } from "@/lib/auth/roles";
import { getSql } from "@/lib/db";
import { lockClassDescriptions, lockClassLabels, lockClasses } from "@/lib/locks/classify";
import type { LockConfig } from "@/lib/locks/config";
import { coveredBy } from "@/lib/locks/glob";
import { listLocks, type LockInventory } from "@/lib/locks/inventory";
import { MAX_BULK_RELEASE } from "@/lib/locks/operations";
import { consoleLockConfig } from "@/lib/locks/settings";
import { matchesQuery, toLockRow } from "@/lib/locks/view";
import { locksParams, type LocksQuery } from "@/lib/params/locks";
import { getRedis } from "@/lib/redis";
import { hrefWith } from "@/lib/url";
import { releaseLockAction, releaseLocksAction } from "./actions";

export const metadata: Metadata = { title: "Locks" };

/** Rows rendered at most; the counts above the table always cover everything examined. */
const MAX_ROWS = 500;

export default async function LocksPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await requireUser("viewer");
  const parsed = locksParams.schema.safeParse(await searchParams);
  // proxy.ts has already answered bad parameters with 400; this only guards a direct render.
  const query: LocksQuery = parsed.success ? parsed.data : {};
  const config = consoleLockConfig();
  const canRelease = hasRole(user.role, "operator");
  return (
    <>
      <PageHeader
        title="Locks"
        description={
          <>
            Redis locks from Idem&apos;s SDK and from other code, matched to their runs. Release deletes a lock only if it still holds the value you
            see (compare-and-delete), and every attempt is in the audit log.
          </>
        }
      />
      <div className="flex flex-col gap-6">
        <Suspense key={JSON.stringify(query)} fallback={<InventorySkeleton />}>
          <Inventory query={query} config={config} canRelease={canRelease} />
        </Suspense>
        <ScannedPatterns config={config} />
      </div>
    </>
  );
}

function InventorySkeleton() {
  return (
    <div className="flex flex-col gap-4" aria-busy="true">
      <div className="flex gap-2">
        {Array.from({ length: 6 }, (_, i) => (
          <div key={i} className="h-8 w-24 animate-pulse rounded-full bg-zinc-200/70" />
        ))}
      </div>
      <PanelSkeleton title="Locks" rows={8} />
    </div>
  );
}

async function Inventory({ query, config, canRelease }: { query: LocksQuery; config: LockConfig; canRelease: boolean }) {
  let inventory: LockInventory;
  try {
    inventory = await listLocks(getRedis(), getSql(), config, { pattern: query.pattern });
  } catch (error) {
    console.error("[idem] lock inventory failed", error);
    return (
      <ErrorState title="The lock inventory cannot be read right now.">
        <p>
          Redis (or Postgres, which maps locks to their runs) did not answer, so no locks are shown and none can be released. The banner at the top says
          which; reload this page once it is back. Runs, duplicates and the audit log do not need Redis.
        </p>
      </ErrorState>
    );
  }

  const inQuery = inventory.locks.filter((lock) => matchesQuery(lock, query.q));
  const counts = Object.fromEntries(lockClasses.map((c) => [c, inQuery.filter((l) => l.classification.class === c).length])) as Record<(typeof lockClasses)[number], number>;
  const matching = query.class ? inQuery.filter((l) => l.classification.class === query.class) : inQuery;
  const rows = matching.slice(0, MAX_ROWS).map(toLockRow);
  const filtered = Boolean(query.class || query.pattern || query.q);
  const base = { class: query.class, pattern: query.pattern, q: query.q };

  return (
    <div className="flex flex-col gap-4">
      <nav aria-label="Lock classes" className="flex flex-wrap items-center gap-2">
        <ClassChip href={hrefWith("/locks", { ...base, class: undefined })} active={!query.class} label="All" count={inQuery.length} />
        {lockClasses.map((c) => (
          <ClassChip key={c} href={hrefWith("/locks", { ...base, class: c })} active={query.class === c} label={lockClassLabels[c]} count={counts[c]} tone={lockClassTone[c]} title={lockClassDescriptions[c]} />
        ))}
      </nav>

      <Panel
        title="Locks"
        description={
          <>
            Examined {inventory.examined.toLocaleString("en-US")} {inventory.examined === 1 ? "key" : "keys"} under {inventory.patterns.length}{" "}
            {inventory.patterns.length === 1 ? "pattern" : "patterns"} on {inventory.nodes.length} Redis {inventory.nodes.length === 1 ? "node" : "masters"} in{" "}
            {Math.round(inventory.durationMs)} ms ({inventory.scanCalls} SCAN calls).
            {inventory.idleCountsConsoleReads
              ? " Idle times count this console's own reads too (Redis before 7.2 has no CLIENT NO-TOUCH), so the “TTL shorter than p99” check is off: it would warn about locks whose TTL is fine."
              : ""}
          </>
        }
        actions={<LockFilters query={query} patterns={config.patterns} />}
        bodyClassName="p-0"
      >
        {inventory.capped && (
          <p role="status" data-testid="partial-view" className="border-b border-amber-200 bg-amber-50 px-4 py-2 text-sm text-amber-900">
            <strong>Partial view:</strong> examined {inventory.examined.toLocaleString("en-US")} matching {inventory.examined === 1 ? "key" : "keys"} in{" "}
            {inventory.scanCalls.toLocaleString("en-US")}{" "}
            SCAN calls over a Redis of about {inventory.keyspaceKeys.toLocaleString("en-US")} keys, then stopped{" "}
            {inventory.stoppedBy === "keys"
              ? `at ${inventory.maxKeys.toLocaleString("en-US")} keys (IDEM_LOCK_SCAN_MAX_KEYS)`
              : inventory.stoppedBy === "scan_calls"
                ? `at ${inventory.maxScanCalls.toLocaleString("en-US")} SCAN calls`
                : "at this view's time limit"}
            , so one page view costs Redis a bounded amount of work. Not walked to the end:{" "}
            {inventory.unfinishedPatterns.map((p, i) => (
              <span key={p}>
                {i > 0 ? ", " : ""}
                <code className="font-mono text-xs">{p}</code>
              </span>
            ))}
            . Counts cover what was examined; locks may be missing. Choose a pattern to see more of it.
          </p>
        )}
        {matching.length > MAX_ROWS && (
          <p role="status" className="border-b border-zinc-200 bg-zinc-50 px-4 py-2 text-sm text-zinc-700">
            Showing the first {MAX_ROWS} of {matching.length.toLocaleString("en-US")} matching locks. Narrow the view with the filters.
          </p>
        )}
        {rows.length === 0 ? (
          <div className="p-4">
            {filtered ? (
              <EmptyState
                title="No locks match these filters"
                action={
                  <ButtonLink href="/locks" size="sm">
                    Show all locks
                  </ButtonLink>
                }
              >
                {inventory.examined > 0
                  ? `${inventory.examined.toLocaleString("en-US")} ${inventory.examined === 1 ? "key was" : "keys were"} examined; none is in this view.`
                  : "No keys exist under this pattern."}
              </EmptyState>
            ) : (
              <EmptyState title="No locks in Redis">
                Nothing exists under the configured patterns: no worker is holding a lock right now and none was left behind.
              </EmptyState>
            )}
          </div>
        ) : (
          <LocksTable rows={rows} canRelease={canRelease} releaseAction={releaseLockAction} releaseManyAction={releaseLocksAction} maxBulk={MAX_BULK_RELEASE} />
        )}
      </Panel>
    </div>
  );
}

function ClassChip({ href, active, label, count, tone, title }: { href: string; active: boolean; label: string; count: number; tone?: string; title?: string }) {
  const dot: Record<string, string> = { blue: "bg-blue-500", red: "bg-red-500", violet: "bg-violet-500", amber: "bg-amber-500", zinc: "bg-zinc-400" };
  return (
    <Link
      href={href as Route}
      title={title}
      aria-current={active ? "page" : undefined}
      className={cx(
        "inline-flex items-center gap-2 rounded-full border px-3 py-1 text-sm",
        active ? "border-zinc-900 bg-zinc-900 text-white" : "border-zinc-300 bg-white text-zinc-700 hover:bg-zinc-50",
      )}
    >
      {tone && <span aria-hidden className={cx("h-2 w-2 rounded-full", dot[tone])} />}
      {label}
      <span className={cx("tabular-nums", active ? "text-zinc-300" : "text-zinc-500")}>{count.toLocaleString("en-US")}</span>
    </Link>
  );
}

function LockFilters({ query, patterns }: { query: LocksQuery; patterns: string[] }) {
  return (
    <form method="get" action="/locks" role="search" aria-label="Filter locks" className="flex items-end gap-2">
      {query.class && <input type="hidden" name="class" value={query.class} />}
      <Field label="Pattern" htmlFor="locks-pattern">
        <Select id="locks-pattern" name="pattern" defaultValue={query.pattern ?? ""} className="w-56 font-mono text-xs">
          <option value="">All patterns</option>
          {patterns.map((pattern) => (
            <option key={pattern} value={pattern}>
              {pattern}
            </option>
          ))}
        </Select>
      </Field>
      <Field label="Key contains" htmlFor="locks-q">
        <Input id="locks-q" name="q" defaultValue={query.q ?? ""} placeholder="order:42" className="w-44" maxLength={200} />
      </Field>
      <button type="submit" className="h-[34px] rounded-md border border-zinc-300 bg-white px-3 text-sm font-medium text-zinc-800 hover:bg-zinc-50">
        Filter
      </button>
    </form>
  );
}

/** What the console scans and how keys map to runs: so an operator can tell why a lock is (not) here. */
function ScannedPatterns({ config }: { config: LockConfig }) {
  return (
    <Panel title="What is scanned" description="SCAN with MATCH over each pattern (never KEYS), on every master, a few hundred keys per call.">
      <dl className="grid grid-cols-[10rem_1fr] gap-x-4 gap-y-2 text-sm">
        <dt className="text-zinc-500">Idem SDK locks</dt>
        <dd>
          <code className="font-mono text-xs">{config.sdkPrefix}&lt;task&gt;:&lt;key&gt;</code>, value = the run&apos;s lease token (IDEM_LOCK_PREFIX)
        </dd>
        <dt className="text-zinc-500">Other patterns</dt>
        <dd className="flex flex-wrap gap-2">
          {config.patterns.slice(1).length ? (
            config.patterns.slice(1).map((p, i) => {
              const wider = config.patterns.slice(0, i + 1).find((earlier) => coveredBy(p, earlier));
              return (
                <code
                  key={p}
                  title={wider ? `Covered by ${wider}: not scanned a second time` : undefined}
                  className={cx("rounded px-1.5 py-0.5 font-mono text-xs", wider ? "bg-zinc-50 text-zinc-400" : "bg-zinc-100")}
                >
                  {p}
                  {wider ? ` (within ${wider})` : ""}
                </code>
              );
            })
          ) : (
            <span className="text-zinc-500">none (IDEM_LOCK_PATTERNS)</span>
          )}
        </dd>
        <dt className="text-zinc-500">Key templates</dt>
        <dd className="flex flex-wrap gap-2">
          {config.templates.length ? (
            config.templates.map((t) => (
              <code key={t.source} className="rounded bg-zinc-100 px-1.5 py-0.5 font-mono text-xs">
                {t.source}
              </code>
            ))
          ) : (
            <span className="text-zinc-500">none: other code&apos;s locks are not linked to runs (IDEM_LOCK_TEMPLATES)</span>
          )}
        </dd>
      </dl>
    </Panel>
  );
}
