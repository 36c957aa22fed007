import { otherMethods } from "@/lib/api/route";
import { checkHealth } from "@/lib/health";

export const dynamic = "force-dynamic";

/**
 * Liveness and dependency health, for load balancers, the console's banner and the test harness.
 * Public, so it says only whether each server answered and how fast; 503 when Postgres is down.
 */
export async function GET() {
  const { postgres, redis } = await checkHealth();
  const body = {
    postgres: { ok: postgres.ok, latencyMs: postgres.latencyMs },
    redis: { ok: redis.ok, latencyMs: redis.latencyMs },
  };
  return Response.json(body, { status: postgres.ok ? 200 : 503, headers: { "cache-control": "no-store" } });
}

export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");
