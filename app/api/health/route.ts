import { checkHealth } from "@/lib/health";

export const dynamic = "force-dynamic";

/** Liveness and dependency health, for load balancers and the test harness. 503 when Postgres is down. */
export async function GET() {
  const health = await checkHealth();
  return Response.json(health, { status: health.postgres.ok ? 200 : 503, headers: { "cache-control": "no-store" } });
}
