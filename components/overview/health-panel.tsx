import { Badge } from "@/components/ui/badge";

export interface ServiceState {
  ok: boolean;
  latencyMs: number | null;
}

const roles = {
  postgres: "The ledger: every run, event and duplicate attempt.",
  redis: "Lock fast path only; the ledger works without it.",
};

/** Whether the console reaches each server, and how fast it answered a round trip just now. */
export function HealthPanel({ postgres, redis }: { postgres: ServiceState; redis: ServiceState }) {
  return (
    <dl className="flex flex-col divide-y divide-zinc-100" data-testid="health-panel">
      <Service name="Postgres" testId="health-postgres" state={postgres} role={roles.postgres} />
      <Service name="Redis" testId="health-redis" state={redis} role={roles.redis} />
    </dl>
  );
}

function Service({ name, state, role, testId }: { name: string; state: ServiceState; role: string; testId: string }) {
  return (
    <div className="flex items-start justify-between gap-3 py-2.5 first:pt-0 last:pb-0" data-testid={testId}>
      <div className="min-w-0">
        <dt className="text-sm font-medium text-zinc-900">{name}</dt>
        <dd className="text-xs text-zinc-500">{role}</dd>
      </div>
      <dd className="flex shrink-0 items-center gap-2">
        {state.ok ? <Badge tone="green">connected</Badge> : <Badge tone="red">unreachable</Badge>}
        <span className="w-16 text-right text-xs tabular-nums text-zinc-600">{state.ok && state.latencyMs !== null ? `${state.latencyMs.toFixed(1)} ms` : "–"}</span>
      </dd>
    </div>
  );
}
