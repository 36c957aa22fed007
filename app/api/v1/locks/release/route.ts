import { apiRoute, errorResponse, operationResponse } from "@/lib/api/route";
import { lockReleaseBody } from "@/lib/api/schemas";
import { lockOperations, releaseLockSchema } from "@/lib/locks/operations";
import { consoleLockConfig } from "@/lib/locks/settings";
import { describeIssue } from "@/lib/params/registry";
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
  handler: async (ctx) => {
    const { body } = ctx;
    const input = releaseLockSchema.safeParse({
      key: body.key,
      value: body.value,
      class: body.class,
      reason: body.reason,
      confirmKey: body.confirmKey,
      expireLease: body.expireLease ? "on" : undefined,
      leaseToken: body.leaseToken,
    });
    if (!input.success) return errorResponse(400, "VALIDATION", describeIssue(input.error), ctx.requestId, "body");
    return operationResponse(operations.release, input.data, ctx);
  },
});
