import { apiOperation, otherMethods } from "@/lib/api/route";
import { lockReleaseBody } from "@/lib/api/schemas";
import { lockOperations } from "@/lib/locks/operations";
import { consoleLockConfig } from "@/lib/locks/settings";
import { getRedis } from "@/lib/redis";

export const dynamic = "force-dynamic";

const operations = lockOperations({ redis: getRedis, config: consoleLockConfig });

/**
 * Compare-and-delete of one lock with the exact value the caller saw (from GET /api/v1/locks). If the
 * lock changed or was re-acquired since, nothing is deleted and the answer says what is there now. With
 * the pttlMs and seenAt it read, a lock set again with the same value since is told apart too.
 */
export const POST = apiOperation({
  operation: operations.release,
  body: lockReleaseBody,
  input: ({ body }) => body,
});

export const { GET, HEAD, PUT, PATCH, DELETE } = otherMethods("POST");
