import { apiRoute, errorResponse, operationResponse } from "@/lib/api/route";
import { lockReleaseBody } from "@/lib/api/schemas";
import { lockOperations, releaseLockSchema, textLockRef } from "@/lib/locks/operations";
import { consoleLockConfig } from "@/lib/locks/settings";
import { describeIssue } from "@/lib/params/registry";
import { getRedis } from "@/lib/redis";

export const dynamic = "force-dynamic";

const operations = lockOperations({ redis: getRedis, config: consoleLockConfig });

/**
 * Compare-and-delete of one lock with the exact value the caller saw (from GET /api/v1/locks). If the
 * lock changed or was re-acquired since, nothing is deleted and the answer says what is there now. With
 * the pttlMs and seenAt it read, a lock set again with the same value since is told apart too.
 */
export const POST = apiRoute({
  role: "operator",
  body: lockReleaseBody,
  handler: async (ctx) => {
    const { body } = ctx;
    if ((body.value === undefined) === (body.valueBase64 === undefined)) {
      return errorResponse(400, "VALIDATION", "send the value seen as exactly one of value or valueBase64", ctx.requestId, "body");
    }
    const ref = textLockRef({ key: body.key, value: body.value ?? "", class: body.class, pttlMs: body.pttlMs, seenAt: body.seenAt });
    const input = releaseLockSchema.safeParse({
      lock: body.valueBase64 === undefined ? ref : { ...ref, value: body.valueBase64 },
      reason: body.reason,
      confirmKey: body.confirmKey,
      expireLease: body.expireLease ? "on" : undefined,
      leaseToken: body.leaseToken,
    });
    if (!input.success) return errorResponse(400, "VALIDATION", describeIssue(input.error), ctx.requestId, "body");
    return operationResponse(operations.release, input.data, ctx);
  },
});
