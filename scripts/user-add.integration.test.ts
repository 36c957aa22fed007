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

describe("npm run user:add, as the README documents it", () => {
  const db = useTestDatabase();
  const cli = (args: string[], input?: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        "npx",
        ["tsx", "--conditions=react-server", "scripts/user-add.ts", ...args],
        { cwd: root, env: childProcessEnv({ DATABASE_URL: db().url }), encoding: "utf8" },
        (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin?.end(input ?? "");
    });
  const printedPassword = (stdout: string) => /^password: (\S+)$/m.exec(stdout)?.[1];

  it("creates `admin` by default with a generated password printed once, and refuses to create it again", async () => {
    const created = await cli(["--role=admin"]);
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('created admin "admin"');
    expect(created.stdout).toContain("shown once");
    const password = printedPassword(created.stdout);
    expect(password?.length).toBeGreaterThanOrEqual(20);
    // Printed once: the password appears exactly one time in the output.
    expect(created.stdout.split(password!).length - 1).toBe(1);
    const stored = await findUserForLogin(db().sql, "admin");
    expect(stored?.role).toBe("admin");
    expect(stored?.passwordHash).not.toContain(password!);
    expect(await verifyPassword(password!, stored!.passwordHash)).toBe(true);

    const again = await cli(["--role=viewer"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("a user named admin already exists");
    expect(again.stderr).toContain("--reset");
    expect(printedPassword(again.stdout)).toBeUndefined();
    const after = await findUserForLogin(db().sql, "admin");
    expect(after).toMatchObject({ role: "admin", passwordHash: stored!.passwordHash });
  });

  it("reads the password from stdin with --password-stdin, so it is never an argument", async () => {
    const created = await cli(["--role=operator", "--username=stdin-user", "--password-stdin"], "from standard input\n");
    expect(created.code).toBe(0);
    expect(printedPassword(created.stdout)).toBeUndefined();
    const stored = await findUserForLogin(db().sql, "stdin-user");
    expect(await verifyPassword("from standard input", stored!.passwordHash)).toBe(true);
    const both = await cli(["--username=x", "--password=abcdefghijkl", "--password-stdin"], "other\n");
    expect(both.code).toBe(2);
    expect(await findUserForLogin(db().sql, "x")).toBeNull();
  });

  it("--reset gives an existing account a new password and ends its sessions; an unknown name is refused", async () => {
    await addUserWithCli(root, { username: "forgetful", password: "the-old-password", role: "operator" }, { DATABASE_URL: db().url });
    const user = await findUserForLogin(db().sql, "forgetful");
    await db().sql`INSERT INTO idem.sessions (id, user_id, expires_at, ip) VALUES ('session-hash', ${user!.id}, now() + interval '1 hour', '127.0.0.1')`;
    const reset = await cli(["--reset", "--username=forgetful"]);
    expect(reset.code).toBe(0);
    expect(reset.stdout).toContain('new password set for operator "forgetful"');
    const password = printedPassword(reset.stdout)!;
    const after = await findUserForLogin(db().sql, "forgetful");
    expect(after?.role).toBe("operator");
    expect(await verifyPassword(password, after!.passwordHash)).toBe(true);
    expect(await verifyPassword("the-old-password", after!.passwordHash)).toBe(false);
    expect(await db().sql`SELECT 1 FROM idem.sessions WHERE user_id = ${user!.id}`).toHaveLength(0);

    const unknown = await cli(["--reset", "--username=nobody"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no user named nobody");
  });
});
