import { describe, expect, it } from "vitest";
import { useTestDatabase } from "@/tests/helpers/db";
import { verifyPassword } from "./password";
import { authenticateApiToken, createApiToken } from "./tokens";
import { createUser, createUserIfMissing, findUserForLogin } from "./users";

describe("accounts and the tokens they create", () => {
  const db = useTestDatabase();

  it("a disabled admin's API tokens stop working, and work again when the account is enabled", async () => {
    const sql = db().sql;
    await createUser(sql, { username: "Departing", password: "departing-password", role: "admin" }, "cli");
    const { token } = await createApiToken(sql, { name: "nightly", role: "operator" }, "departing");
    const other = await createApiToken(sql, { name: "cron", role: "viewer" }, "someone-else");
    expect(await authenticateApiToken(sql, token)).toMatchObject({ name: "nightly", role: "operator" });

    await sql`UPDATE idem.users SET disabled_at = now() WHERE username = 'Departing'`;
    expect(await authenticateApiToken(sql, token)).toBeNull();
    // Another creator's token is unaffected.
    expect(await authenticateApiToken(sql, other.token)).toMatchObject({ name: "cron" });

    await sql`UPDATE idem.users SET disabled_at = NULL WHERE username = 'Departing'`;
    expect(await authenticateApiToken(sql, token)).toMatchObject({ name: "nightly" });
  });

  it("the demo's accounts are created when missing and otherwise left alone: a changed password or a disabled account stays", async () => {
    const sql = db().sql;
    const first = await createUserIfMissing(sql, { username: "operator", password: "idem-operator", role: "operator" }, "demo");
    expect(first.created).toBe(true);
    await createUser(sql, { username: "placeholder", password: "placeholder-pw", role: "viewer" }, "cli");
    await sql`UPDATE idem.users SET password_hash = (SELECT password_hash FROM idem.users WHERE username = 'placeholder'), disabled_at = now(), role = 'viewer' WHERE username = 'operator'`;

    const again = await createUserIfMissing(sql, { username: "operator", password: "idem-operator", role: "operator" }, "demo");
    expect(again.created).toBe(false);
    const stored = await findUserForLogin(sql, "operator");
    expect(stored?.disabledAt).not.toBeNull();
    expect(stored?.role).toBe("viewer");
    expect(await verifyPassword("idem-operator", stored!.passwordHash)).toBe(false);
    expect(await verifyPassword("placeholder-pw", stored!.passwordHash)).toBe(true);
  });
});
