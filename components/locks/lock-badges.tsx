import { Badge, type Tone } from "@/components/ui/badge";
import { formatDuration } from "@/components/ui/time";
import { lockClassDescriptions, lockClassLabels, type LockClass, type LockWarning } from "@/lib/locks/classify";

export const lockClassTone: Record<LockClass, Tone> = {
  held: "blue",
  no_ttl: "red",
  token_mismatch: "violet",
  stale: "amber",
  orphaned: "zinc",
};

export function LockClassBadge({ lockClass }: { lockClass: LockClass }) {
  return (
    <Badge tone={lockClassTone[lockClass]} title={lockClassDescriptions[lockClass]}>
      {lockClassLabels[lockClass]}
    </Badge>
  );
}

const warningLabels: Record<LockWarning["code"], string> = {
  shared_value: "shared value",
  ttl_below_p99: "TTL < p99",
  unmapped: "unmapped",
};

/** The class, the other classes that also apply (smaller, outlined), and hygiene warnings with their explanation on hover. */
export function LockClassCell({ lockClass, flags, warnings }: { lockClass: LockClass; flags: LockClass[]; warnings: LockWarning[] }) {
  return (
    <div className="flex flex-col items-start gap-1">
      <div className="flex flex-wrap items-center gap-1">
        <LockClassBadge lockClass={lockClass} />
        {flags.map((flag) => (
          <span key={flag} title={`Also: ${lockClassDescriptions[flag]}`} className="rounded-full px-1.5 text-[11px] text-zinc-500 ring-1 ring-zinc-200 ring-inset whitespace-nowrap">
            + {lockClassLabels[flag]}
          </span>
        ))}
      </div>
      {warnings.length > 0 && (
        <ul className="flex flex-wrap gap-1" aria-label="Warnings">
          {warnings.map((warning) => (
            <li key={warning.code} title={warning.message} className="cursor-help text-[11px] font-medium whitespace-nowrap text-amber-700">
              ⚠ {warningLabels[warning.code]}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function TtlCell({ pttlMs }: { pttlMs: number }) {
  if (pttlMs === -1) {
    return (
      <Badge tone="red" title="PTTL -1: this key never expires">
        no TTL
      </Badge>
    );
  }
  return <span className="tabular-nums whitespace-nowrap">{formatDuration(pttlMs)}</span>;
}

/** OBJECT IDLETIME is whole seconds: "0 s", "42 s", "1m 48s". */
export function formatIdle(seconds: number | null): string {
  if (seconds === null) return "–";
  return seconds < 60 ? `${seconds} s` : formatDuration(seconds * 1000);
}
