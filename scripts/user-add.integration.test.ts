import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { verifyPassword } from "@/lib/auth/password";
import { findUserForLogin } from "@/lib/auth/users";
import { childProcessEnv } from "@/lib/env";
import { useTestDatabase } from "@/tests/helpers/db";
import { addUserWithCli } from "@/tests/helpers/user-add";

const root = path.resolve(import.meta.dirname, "..");
const run = promisify(execFile);

describe("npm run user:add", () => {
  const db = useTestDatabase();

  it("stores a password that starts with a dash when passed as --password=value", async () => {
    // base64url passwords start with "-" one time in 64; CI once failed on exactly that.
    const password = "-starts-with-a-dash";
    await addUserWithCli(root, { username: "dash", password, role: "viewer" }, { DATABASE_URL: db().url });
    const user = await findUserForLogin(db().sql, "dash");
    expect(user?.role).toBe("viewer");
    expect(await verifyPassword(password, user?.passwordHash ?? "")).toBe(true);
  });

  it("refuses an ambiguous --password -value with a usage line and creates nobody", async () => {
    const failure = await run(
      "npx",
      ["tsx", "--conditions=react-server", "scripts/user-add.ts", "--role", "viewer", "--username", "dash", "--password", "-abc"],
      { cwd: root, env: childProcessEnv({ DATABASE_URL: db().url }), encoding: "utf8" },
    ).then(
      () => null,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toContain("--name=value");
    expect(await findUserForLogin(db().sql, "dash")).toBeNull();
  });
});
