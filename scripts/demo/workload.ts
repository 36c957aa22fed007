import { createLedger } from "@/lib/ledger";
import { createSql } from "@/lib/db";
import { createRedis } from "@/lib/redis";

/** Placeholder demo workload: a handful of runs through the real SDK. The full fleet comes with the console. */
export async function startDemoWorkload(options: { databaseUrl: string; redisUrl: string; log: (message: string) => void; trickle: boolean }) {
  const sql = createSql(options.databaseUrl, { max: 4, applicationName: "idem-demo" });
  const redis = createRedis(options.redisUrl, { name: "idem-demo" });
  const ledger = createLedger({ sql, redis, workerId: "demo-worker-1" });
  for (let i = 0; i < 20; i++) {
    await ledger.runOnce({ task: "send_email", key: `welcome-${i}`, payload: { to: `user${i}@example.com`, template: "welcome" } }, () => ({ messageId: `m-${i}` }));
  }
  options.log("demo workload: seeded");
  return {
    async stop() {
      redis.disconnect();
      await sql.end({ timeout: 2 });
    },
  };
}
