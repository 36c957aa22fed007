import { apiRoute, otherMethods } from "@/lib/api/route";
import { lockClasses } from "@/lib/locks/classify";
import { listLocks } from "@/lib/locks/inventory";
import { consoleLockConfig } from "@/lib/locks/settings";
import { matchesQuery, toLockRow } from "@/lib/locks/view";
import { locksParams } from "@/lib/params/locks";
import { getRedis } from "@/lib/redis";

export const dynamic = "force-dynamic";

/**
 * The lock inventory (SCAN over the configured patterns, capped), each lock classified and mapped to
 * its run. `value` is what a release must send back as the value seen.
 */
export const GET = apiRoute({
  role: "viewer",
  query: locksParams.schema,
  handler: async ({ sql, query }) => {
    const inventory = await listLocks(getRedis(), sql, consoleLockConfig(), { pattern: query.pattern });
    const inQuery = inventory.locks.filter((lock) => matchesQuery(lock, query.q));
    // Counts per class before the class filter, as on the screen: what the other classes hold too.
    const counts = Object.fromEntries(lockClasses.map((c) => [c, inQuery.filter((lock) => lock.classification.class === c).length]));
    const locks = inQuery.filter((lock) => !query.class || lock.classification.class === query.class);
    return {
      locks: locks.map(toLockRow),
      counts,
      examined: inventory.examined,
      capped: inventory.capped,
      stoppedBy: inventory.stoppedBy,
      unfinishedPatterns: inventory.unfinishedPatterns,
      keyspaceKeys: inventory.keyspaceKeys,
      scanCalls: inventory.scanCalls,
      maxKeys: inventory.maxKeys,
      patterns: inventory.patterns,
    };
  },
});

export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");
