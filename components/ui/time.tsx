/** Formatting shared by every screen: one way to show times and durations. */
const absoluteFormat = new Intl.DateTimeFormat("en-GB", {
  year: "numeric",
  month: "short",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
  timeZone: "UTC",
  timeZoneName: "short",
});

export function formatAbsolute(date: Date): string {
  return absoluteFormat.format(date);
}

export function formatRelative(date: Date, now: Date = new Date()): string {
  const seconds = Math.round((date.getTime() - now.getTime()) / 1000);
  const abs = Math.abs(seconds);
  const [value, unit] =
    abs < 60 ? [seconds, "s"] : abs < 3600 ? [Math.round(seconds / 60), "m"] : abs < 86400 ? [Math.round(seconds / 3600), "h"] : [Math.round(seconds / 86400), "d"];
  if (abs < 5) return "just now";
  return value < 0 ? `${-value}${unit} ago` : `in ${value}${unit}`;
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m ${Math.floor((ms % 60_000) / 1000)}s`;
  return `${Math.floor(ms / 3_600_000)}h ${Math.floor((ms % 3_600_000) / 60_000)}m`;
}

/** Relative time, with the absolute UTC time on hover and for screen readers. */
export function RelativeTime({ date, now }: { date: Date | null | undefined; now?: Date }) {
  if (!date) return <span className="text-zinc-400">–</span>;
  return (
    <time dateTime={date.toISOString()} title={formatAbsolute(date)} className="whitespace-nowrap">
      {formatRelative(date, now)}
    </time>
  );
}
