import { readFileSync } from "node:fs";
import path from "node:path";

/** What global setup started, for the tests (written to a file: Playwright workers are separate processes). */
export interface E2EState {
  baseURL: string;
  databaseUrl: string;
  redisUrl: string;
  /** The server that holds the e2e databases; test-specific databases are created on it. */
  serverDatabaseUrl: string;
  templateDatabase: string;
}

export const STATE_FILE = path.resolve(import.meta.dirname, "../../test-results/e2e-state.json");

export function readState(): E2EState {
  return JSON.parse(readFileSync(STATE_FILE, "utf8")) as E2EState;
}

/** The demo creates operator and viewer (scripts/launch.ts); global setup adds the admin with the CLI. */
export const E2E_ACCOUNTS = {
  admin: { username: "e2e-admin", password: "e2e-admin-password" },
  operator: { username: "operator", password: "idem-operator" },
  viewer: { username: "viewer", password: "idem-viewer" },
} as const;

export type E2ERole = keyof typeof E2E_ACCOUNTS;

export function storageStatePath(role: E2ERole): string {
  return path.resolve(import.meta.dirname, `../../test-results/e2e-auth-${role}.json`);
}
