import { runIdParams } from "@/lib/api/params";
import { apiRoute, operationResponse, otherMethods } from "@/lib/api/route";
import { abandonBody } from "@/lib/api/schemas";
import { abandonOperation } from "@/lib/ops/run-operations";

export const dynamic = "force-dynamic";

/** Marks a running run whose lease expired as abandoned (failed), by compare-and-set on the lease token seen. */
export const POST = apiRoute({
  role: "operator",
  params: runIdParams,
  body: abandonBody,
  handler: async (ctx) => operationResponse(abandonOperation, { runId: ctx.params.id, ...ctx.body }, ctx),
});

export const { GET, HEAD, PUT, PATCH, DELETE } = otherMethods("POST");
