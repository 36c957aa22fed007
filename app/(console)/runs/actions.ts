"use server";

import { defineAction, type ActionContext } from "@/lib/auth/action";
import type { OperationContext } from "@/lib/ops/perform";
import { abandonOperation, bulkRetryOperation, cancelOperation, retryOperation } from "@/lib/ops/run-operations";

const asOperation = (ctx: ActionContext): OperationContext => ({
  actor: { name: ctx.user.username, role: ctx.user.role, via: "console" },
  requestId: ctx.requestId,
  sql: ctx.sql,
});

/** A new pending run under `<root key>#retry-<n>`, if the run is still as the operator saw it (lib/ops/retry.ts). */
export const retryRunAction = defineAction({ ...retryOperation, run: (input, ctx) => retryOperation.run(input, asOperation(ctx)) });

/** The failed runs the page listed, frozen with the state each was seen in, retried one by one. */
export const bulkRetryAction = defineAction({ ...bulkRetryOperation, run: (input, ctx) => bulkRetryOperation.run(input, asOperation(ctx)) });

/** A running run whose lease expired, ended as failed (class Abandoned) by compare-and-set on its lease token. */
export const abandonRunAction = defineAction({ ...abandonOperation, run: (input, ctx) => abandonOperation.run(input, asOperation(ctx)) });

/** A pending run cancelled before any worker claims it. */
export const cancelRunAction = defineAction({ ...cancelOperation, run: (input, ctx) => cancelOperation.run(input, asOperation(ctx)) });
