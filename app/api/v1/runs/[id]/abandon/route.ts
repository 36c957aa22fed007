import { runIdInput, runIdParams } from "@/lib/api/params";
import { apiOperation, otherMethods } from "@/lib/api/route";
import { abandonBody } from "@/lib/api/schemas";
import { abandonOperation } from "@/lib/ops/run-operations";

export const dynamic = "force-dynamic";

/** Marks a running run whose lease expired as abandoned (failed), by compare-and-set on the lease token seen. */
export const POST = apiOperation({
  operation: abandonOperation,
  params: runIdParams,
  body: abandonBody,
  input: runIdInput,
});

export const { GET, HEAD, PUT, PATCH, DELETE } = otherMethods("POST");
