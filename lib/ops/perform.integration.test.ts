import { describe, expect, it } from "vitest";
import { z } from "zod";
import { useTestDatabase } from "@/tests/helpers/db";
import { performOperation, type Operation } from "./perform";

const db = useTestDatabase();

/** An operation that hands back a secret once, like creating an API token. */
const issueSecret = (replayData: boolean): Operation<z.ZodObject<{ name: z.ZodString }>> => ({
  name: "test.issue_secret",
  role: "admin",
  schema: z.object({ name: z.string() }),
  target: (input) => ({ type: "secret", id: input.name }),
  replayData,
  run: async () => ({ outcome: "done", message: "Issued.", data: { secret: "idem_s3cr3t" } }),
});

describe("performOperation", () => {
  it("never writes an operation's data to the audit log unless the operation asks for it to be replayed", async () => {
    const { sql } = db();
    const ctx = (requestId: string) => ({ actor: { name: "ada", role: "admin" as const, via: "console" as const }, requestId, sql });
    expect(await performOperation(issueSecret(false), { name: "ci" }, ctx("req-secret-1"))).toMatchObject({ ok: true, data: { secret: "idem_s3cr3t" } });
    const [row] = await sql<{ detail: string }[]>`SELECT outcome_detail::text AS detail FROM idem.operator_actions WHERE request_id = 'req-secret-1'`;
    expect(row!.detail).not.toContain("idem_s3cr3t");
    // Its resubmission is answered without the data (it was never kept).
    const again = await performOperation(issueSecret(false), { name: "ci" }, ctx("req-secret-1"));
    expect(again).toEqual({ ok: true, repeated: true, message: "Already submitted: Issued." });

    // An operation that opts in gets its data back on a resubmission.
    await performOperation(issueSecret(true), { name: "ci" }, ctx("req-secret-2"));
    expect(await performOperation(issueSecret(true), { name: "ci" }, ctx("req-secret-2"))).toMatchObject({ repeated: true, data: { secret: "idem_s3cr3t" } });
  });
});
