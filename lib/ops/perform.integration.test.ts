import { describe, expect, it } from "vitest";
import { z } from "zod";
import { fingerprintOf } from "@/lib/ledger/json";
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

const createAccount: Operation<z.ZodObject<{ username: z.ZodString; password: z.ZodString }>> = {
  name: "test.create_account",
  role: "admin",
  schema: z.object({ username: z.string(), password: z.string() }),
  target: (input) => ({ type: "user", id: input.username }),
  run: async () => ({ outcome: "done", message: "Created." }),
};

describe("performOperation", () => {
  it("tells requests apart by what the audit row shows, without putting a hash of a password in the log", async () => {
    const { sql } = db();
    const ctx = { actor: { name: "ada", role: "admin" as const, via: "console" as const }, requestId: "req-account-1", sql };
    await performOperation(createAccount, { username: "bob", password: "hunter2" }, ctx);
    const [row] = await sql<{ hash: string }[]>`SELECT outcome_detail->>'requestHash' AS hash FROM idem.operator_actions WHERE request_id = 'req-account-1'`;
    expect(row!.hash).toBe(fingerprintOf({ action: "test.create_account", target: { type: "user", id: "bob" }, precondition: {}, reason: null, extra: null }));
    // The same id for another target is another request.
    expect(await performOperation(createAccount, { username: "eve", password: "x" }, ctx)).toMatchObject({ ok: false, code: "CONFLICT", repeated: true });
  });

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
