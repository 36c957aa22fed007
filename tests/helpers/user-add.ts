import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { childProcessEnv } from "@/lib/env";
import type { Role } from "@/lib/auth/roles";

const run = promisify(execFile);

/**
 * Creates a console account with the real CLI (`scripts/user-add.ts`), as an operator would.
 * Values go as `--name=value`: a generated password may start with "-", and `--password -x` is
 * refused by node's parseArgs as an ambiguous option (CI once failed on exactly that).
 */
export async function addUserWithCli(
  root: string,
  account: { username: string; password: string; role: Role },
  envOverrides: Record<string, string | undefined>,
): Promise<void> {
  const args = [
    "tsx",
    "--conditions=react-server",
    "scripts/user-add.ts",
    `--role=${account.role}`,
    `--username=${account.username}`,
    `--password=${account.password}`,
  ];
  try {
    await run("npx", args, { cwd: root, env: childProcessEnv(envOverrides), encoding: "utf8" });
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    throw new Error(`scripts/user-add.ts exited with ${failed.code}: ${`${failed.stdout ?? ""}${failed.stderr ?? ""}`.slice(-2000)}`);
  }
}
