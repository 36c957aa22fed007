import { apiRoute, operationResponse, otherMethods } from "@/lib/api/route";
import { lockReleaseBody } from "@/lib/api/schemas";
import { lockOperations } from "@/lib/locks/operations";
import { consoleLockConfig } from "@/lib/locks/settings";
import { getRedis } from "@/lib/redis";

export const dynamic = "force-dynamic";

const operations = lockOperations({ redis: getRedis, config: consoleLockConfig });

/**
 * Compare-and-delete of one lock with the exact value the caller saw (from GET /api/v1/locks). If the
 * lock changed or was re-acquired since, nothing is deleted and the answer says what is there now.
 */
export const POST = apiRoute({
  role: "operator",
  body: lockReleaseBody,
  handler: async (ctx) => operationResponse(operations.release, ctx.body, ctx),
});

export const { GET, HEAD, PUT, PATCH, DELETE } = otherMethods("POST");
