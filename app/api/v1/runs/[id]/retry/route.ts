import { runIdInput, runIdParams } from "@/lib/api/params";
import { apiOperation, otherMethods } from "@/lib/api/route";
import { retryBody } from "@/lib/api/schemas";
import { PAYLOAD_MAX_BYTES } from "@/lib/ledger/spec";
import { retryOperation } from "@/lib/ops/run-operations";

export const dynamic = "force-dynamic";

/**
 * Re-runs a failed (or abandoned) run under a new key with lineage. The body carries what the caller
 * saw (`status`, `updatedAt`, `lineageRetries` from GET /api/v1/runs/{id}): it is the precondition of
 * the compare-and-set, and two identical requests create one child.
 */
export const POST = apiOperation({
  operation: retryOperation,
  params: runIdParams,
  body: retryBody,
  maxBodyBytes: PAYLOAD_MAX_BYTES + 16 * 1024,
  input: runIdInput,
});

export const { GET, HEAD, PUT, PATCH, DELETE } = otherMethods("POST");
