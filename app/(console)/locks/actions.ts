"use server";

import { defineAction, type ActionContext } from "@/lib/auth/action";
import { lockOperations } from "@/lib/locks/operations";
import { consoleLockConfig } from "@/lib/locks/settings";
import type { OperationContext } from "@/lib/ops/perform";
import { getRedis } from "@/lib/redis";

const operations = lockOperations({ redis: getRedis, config: consoleLockConfig });

const asOperation = (ctx: ActionContext): OperationContext => ({
  actor: { name: ctx.user.username, role: ctx.user.role, via: "console" },
  requestId: ctx.requestId,
  sql: ctx.sql,
});

/** Compare-and-delete of one lock with the value the operator saw (lib/locks/release.ts). */
export const releaseLockAction = defineAction({
  ...operations.release,
  run: (input, ctx) => operations.release.run(input, asOperation(ctx)),
});

/** The locks the operator ticked, as a frozen list of key + value pairs, each by compare-and-delete. */
export const releaseLocksAction = defineAction({
  ...operations.releaseBulk,
  run: (input, ctx) => operations.releaseBulk.run(input, asOperation(ctx)),
});
