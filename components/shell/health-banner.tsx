"use client";

import { useEffect, useState } from "react";
import { Banner } from "@/components/ui/states";

export interface HealthSnapshot {
  postgres: { ok: boolean; latencyMs: number | null };
  redis: { ok: boolean; latencyMs: number | null };
}

const POLL_MS = 10_000;

/**
 * Says so when Postgres or Redis is unreachable, and keeps checking (every 10 s, not while the tab is
 * hidden) so the banner appears and clears without a reload.
 */
export function HealthBanner({ initial }: { initial: HealthSnapshot | null }) {
  const [health, setHealth] = useState<HealthSnapshot | null>(initial);
  useEffect(() => {
    let stopped = false;
    const check = async () => {
      if (document.visibilityState === "hidden") return;
      try {
        const response = await fetch("/api/health", { cache: "no-store" });
        const body = (await response.json()) as HealthSnapshot;
        if (!stopped) setHealth(body);
      } catch {
        if (!stopped) setHealth({ postgres: { ok: false, latencyMs: null }, redis: { ok: false, latencyMs: null } });
      }
    };
    if (!initial) void check();
    const timer = setInterval(() => void check(), POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [initial]);

  if (!health) return null;
  return (
    <div data-testid="health-banner">
      {!health.postgres.ok && (
        <Banner tone="red">
          <strong>Postgres is unreachable.</strong> The console cannot read or change the ledger until it is back; this banner clears by itself.
        </Banner>
      )}
      {!health.redis.ok && (
        <Banner tone="amber">
          <strong>Redis is unreachable.</strong> Lock information is unavailable; everything read from the ledger still works. Workers fall back to
          Postgres alone.
        </Banner>
      )}
    </div>
  );
}
