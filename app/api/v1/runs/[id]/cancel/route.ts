import { runIdInput, runIdParams } from "@/lib/api/params";
import { apiOperation, otherMethods } from "@/lib/api/route";
import { cancelBody } from "@/lib/api/schemas";
import { cancelOperation } from "@/lib/ops/run-operations";

export const dynamic = "force-dynamic";

/** Cancels a pending run (compare-and-set on status = pending). */
export const POST = apiOperation({
  operation: cancelOperation,
  params: runIdParams,
  body: cancelBody,
  input: runIdInput,
});

export const { GET, HEAD, PUT, PATCH, DELETE } = otherMethods("POST");
