"use client";

import type { Route } from "next";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useEffect, useId, useRef, useState, useTransition } from "react";
import { cx } from "./cx";

/**
 * Re-renders the page's server components every N seconds (router.refresh keeps what is on screen
 * until the new data arrives, so nothing flickers). The setting lives in the URL (`refresh=15`,
 * `refresh=off`), so a shared link or a wall display keeps it. Paused while the tab is hidden, and
 * caught up at once when it is shown again. `version` changes whenever the server renders the page:
 * it is how this knows that fresh data has arrived.
 */
export function AutoRefresh({
  seconds,
  choices,
  version,
  param = "refresh",
}: {
  /** Null: off. */
  seconds: number | null;
  choices: readonly number[];
  version: string;
  param?: string;
}) {
  const router = useRouter();
  const pathname = usePathname();
  const searchParams = useSearchParams();
  const [refreshing, startRefresh] = useTransition();
  const [hidden, setHidden] = useState(false);
  const [updatedAt, setUpdatedAt] = useState(() => Date.now());
  const [now, setNow] = useState(() => Date.now());
  const lastChoice = useRef(seconds ?? choices[1] ?? choices[0] ?? 15);
  const selectId = useId();

  if (seconds !== null) lastChoice.current = seconds;

  // A new server render is new data, whether this component or a navigation asked for it.
  useEffect(() => {
    setUpdatedAt(Date.now());
  }, [version]);

  // Also when a refresh ends without a new render (it failed), so the next one waits a full interval.
  const wasRefreshing = useRef(false);
  useEffect(() => {
    if (wasRefreshing.current && !refreshing) setUpdatedAt(Date.now());
    wasRefreshing.current = refreshing;
  }, [refreshing]);

  useEffect(() => {
    const onVisibility = () => setHidden(document.visibilityState === "hidden");
    onVisibility();
    document.addEventListener("visibilitychange", onVisibility);
    return () => document.removeEventListener("visibilitychange", onVisibility);
  }, []);

  useEffect(() => {
    if (hidden) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [hidden]);

  useEffect(() => {
    if (seconds === null || hidden || refreshing) return;
    const due = updatedAt + seconds * 1000 - Date.now();
    const timer = setTimeout(() => startRefresh(() => router.refresh()), Math.max(0, due));
    return () => clearTimeout(timer);
  }, [seconds, hidden, refreshing, updatedAt, router]);

  const setSeconds = (next: number | null) => {
    const params = new URLSearchParams(searchParams.toString());
    params.set(param, next === null ? "off" : String(next));
    router.replace(`${pathname}?${params.toString()}` as Route, { scroll: false });
  };

  const ago = Math.max(0, Math.round((now - updatedAt) / 1000));
  const status =
    seconds === null
      ? `Auto-refresh off · updated ${ago < 5 ? "just now" : `${formatAgo(ago)} ago`}`
      : hidden
        ? "Paused while the tab is hidden"
        : refreshing
          ? "Refreshing…"
          : `Updated ${ago < 2 ? "just now" : `${formatAgo(ago)} ago`}`;

  // Announced only when the mode changes, not on every tick of "updated Xs ago".
  const mode = seconds === null ? "Auto-refresh off" : hidden ? "Auto-refresh paused while the tab is hidden" : `Auto-refresh every ${seconds} seconds`;

  return (
    <div data-testid="auto-refresh" className="flex items-center gap-2 text-xs text-zinc-600">
      <span className="sr-only" aria-live="polite">
        {mode}
      </span>
      <span data-testid="refresh-status" className={cx("min-w-36 text-right tabular-nums", hidden && seconds !== null && "text-amber-700")}>
        {status}
      </span>
      <button
        type="button"
        role="switch"
        aria-checked={seconds !== null}
        aria-label="Auto-refresh"
        onClick={() => setSeconds(seconds === null ? lastChoice.current : null)}
        className={cx(
          "relative inline-flex h-5 w-9 shrink-0 items-center rounded-full transition-colors focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600",
          seconds !== null ? "bg-emerald-600" : "bg-zinc-300",
        )}
      >
        <span className={cx("inline-block h-4 w-4 rounded-full bg-white shadow transition-transform", seconds !== null ? "translate-x-4.5" : "translate-x-0.5")} />
      </button>
      <label htmlFor={selectId} className="sr-only">
        Refresh every
      </label>
      <select
        id={selectId}
        value={String(seconds ?? lastChoice.current)}
        onChange={(event) => setSeconds(Number(event.target.value))}
        className="h-7 rounded-md border border-zinc-300 bg-white px-1.5 text-xs text-zinc-800 focus:border-sky-500 focus:outline-none"
      >
        {choices.map((choice) => (
          <option key={choice} value={choice}>
            every {choice}s
          </option>
        ))}
      </select>
    </div>
  );
}

function formatAgo(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h`;
}
