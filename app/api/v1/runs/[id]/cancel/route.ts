import { runIdParams } from "@/lib/api/params";
import { apiRoute, operationResponse, otherMethods } from "@/lib/api/route";
import { cancelBody } from "@/lib/api/schemas";
import { cancelOperation } from "@/lib/ops/run-operations";

export const dynamic = "force-dynamic";

/** Cancels a pending run (compare-and-set on status = pending). */
export const POST = apiRoute({
  role: "operator",
  params: runIdParams,
  body: cancelBody,
  handler: async (ctx) => operationResponse(cancelOperation, { runId: ctx.params.id, ...ctx.body }, ctx),
});

export const { GET, HEAD, PUT, PATCH, DELETE } = otherMethods("POST");
