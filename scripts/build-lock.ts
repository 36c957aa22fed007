import { spawnSync } from "node:child_process";

/**
 * The lock every `next build` in this checkout runs under, and under which the fault suite's console
 * builds and serves .next (tests/faults/console.ts): two builds at once corrupt .next, and a server
 * must not serve a build another run is replacing.
 */
export const E2E_LOCK_FILE = "/tmp/idem-e2e.lock";

/** `npx next build`, under `flock E2E_LOCK_FILE` when flock(1) exists (without it, unlocked). */
export function lockedBuildCommand(): [command: string, args: string[]] {
  const locked = spawnSync("flock", ["--version"], { stdio: "ignore" }).error === undefined;
  return locked ? ["flock", [E2E_LOCK_FILE, "npx", "next", "build"]] : ["npx", ["next", "build"]];
}
