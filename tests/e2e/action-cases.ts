import { randomBytes, randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { APIRequestContext, Browser, Page } from "@playwright/test";
import type { Redis } from "ioredis";
import type postgres from "postgres";
import type { Ledger } from "@/lib/ledger";
import { captureAction, replayAction, type CapturedAction } from "./action-replay";
import { failedRun, pendingRun, uniqueTask } from "./ops-seed";
import { LocksPage } from "./pages/locks.page";
import { RunDetailPage } from "./pages/run-detail.page";
import { TokensSettingsPage, UsersSettingsPage } from "./pages/settings.page";
import { E2E_ACCOUNTS, storageStatePath, type E2ERole } from "./state";

/**
 * Every console mutation built on defineAction, described once for the authorization and hostile-input
 * tests: how to capture its request from the page that has its button (lib/ops and lib/auth decide,
 * never the button), and how to aim the captured request at a fresh target whose change the test can
 * see. A new action is one more entry in `actionCases`.
 */
export interface Seeds {
  sql: postgres.Sql;
  redis: Redis;
  ledger: Ledger;
  /** A task nobody executes: runs created under it stay as the test leaves them. */
  task: string;
}

export interface ActionTarget {
  /** Form fields aiming the captured action at this target, with a fresh request id. */
  fields: Record<string, string | string[]>;
  /** What the action did to the target, or null when it is exactly as it was. */
  effect(): Promise<string | null>;
}

export interface ActionCase {
  /** The audit log's action name (performOperation writes it). */
  name: string;
  /**
   * The server action this case exercises, as `<file under app/>#<export>`. actionSources() checks that
   * every export of an actions.ts under app/ has a case, and the authorization test that the captured request
   * really calls this export (Next's server-reference manifest).
   */
  source: string;
  /** The least role that may do it. */
  role: "operator" | "admin";
  /** Free-text fields: any characters are legitimate there, and stored as sent (trimmed). */
  textFields: string[];
  /** Hostile-looking values the action rightly accepts and writes (a token named "<img ...>"). */
  accepts?: (field: string, value: string) => boolean;
  /** A fresh target the action would change. */
  target(seeds: Seeds): Promise<ActionTarget>;
  /**
   * Fields that keep the request well-formed but make the operation refuse (a stale precondition, a
   * missing row), so hostile text in free-text fields reaches the audit log without changing anything.
   */
  refusable(seeds: Seeds): Promise<Record<string, string | string[]>>;
  /** On the page with the action's button, as `role`: the action's request, captured and aborted. */
  capture(page: Page, seeds: Seeds): Promise<CapturedAction>;
}

const tag = () => randomBytes(5).toString("hex");
const requestId = () => randomUUID();

async function updatedAtOf(sql: postgres.Sql, runId: number): Promise<string> {
  const [row] = await sql<{ updated_at: Date }[]>`SELECT updated_at FROM idem.task_runs WHERE id = ${runId}`;
  if (!row) throw new Error(`run ${runId} does not exist`);
  return new Date(row.updated_at).toISOString();
}

async function statusOf(sql: postgres.Sql, runId: number): Promise<string> {
  const [row] = await sql<{ status: string }[]>`SELECT status::text FROM idem.task_runs WHERE id = ${runId}`;
  return row?.status ?? "missing";
}

async function childOf(sql: postgres.Sql, runId: number): Promise<string | null> {
  const rows = await sql<{ id: string }[]>`SELECT id FROM idem.task_runs WHERE retry_of = ${runId} ORDER BY id`;
  return rows.length ? `retried as run #${rows.map((r) => r.id).join(", #")}` : null;
}

async function failedTarget(seeds: Seeds) {
  const id = await failedRun(seeds.ledger, seeds.task, `authz-${tag()}`, { probe: "failed" });
  return { id, updatedAt: await updatedAtOf(seeds.sql, id) };
}

/** A running run whose worker stopped renewing its lease (test setup: the lease is moved into the past). */
async function stuckTarget(seeds: Seeds) {
  const claim = await seeds.ledger.claimRun({ task: seeds.task, key: `authz-${tag()}`, payload: { probe: "stuck" }, leaseMs: 600_000 });
  if (claim.outcome !== "claimed") throw new Error("seed: expected a claim");
  await seeds.sql`UPDATE idem.task_runs SET lease_expires_at = now() - interval '1 minute' WHERE id = ${claim.run.id}`;
  return { id: claim.run.id, leaseToken: claim.lease.token };
}

/** A lock under the demo's `lock:*` pattern that maps to no run (class orphaned). */
async function lockTarget(seeds: Seeds) {
  const key = `lock:e2e-authz:${tag()}`;
  const value = `v-${tag()}`;
  await seeds.redis.set(key, value, "PX", 600_000);
  return {
    key,
    value,
    effect: async () => ((await seeds.redis.get(key)) === value ? null : "the lock was released"),
  };
}

async function throwawayUser(seeds: Seeds, role: "viewer" | "operator" = "viewer") {
  const username = `authz-${tag()}`;
  // Never signs in: any hash will do.
  const [row] = await seeds.sql<{ id: string }[]>`
    INSERT INTO idem.users (username, password_hash, role, created_by) VALUES (${username}, 'scrypt$unusable', ${role}, 'e2e') RETURNING id`;
  return { id: Number(row!.id), username };
}

async function throwawayToken(seeds: Seeds) {
  const name = `authz-${tag()}`;
  const [row] = await seeds.sql<{ id: string }[]>`
    INSERT INTO idem.api_tokens (name, token_hash, prefix, role, created_by)
    VALUES (${name}, ${randomBytes(32).toString("hex")}, 'idem_xxxxxx', 'viewer', 'e2e') RETURNING id`;
  return { id: Number(row!.id), name };
}

async function captureCreateToken(page: Page): Promise<CapturedAction> {
  const tokens = new TokensSettingsPage(page);
  await tokens.goto();
  return captureAction(page, () => tokens.createToken(`authz-${tag()}`, "viewer"));
}

/** A lock as the Locks screen posts it (LockRef, lib/locks/view.ts): key and value as base64 bytes. */
const orphanedLockRef = (key: string, value: string) =>
  JSON.stringify({ key: Buffer.from(key).toString("base64"), value: Buffer.from(value).toString("base64"), class: "orphaned" });

export const actionCases: ActionCase[] = [
  {
    name: "run.retry",
    source: "(console)/runs/actions.ts#retryRunAction",
    role: "operator",
    // Blank editPayload is the unticked box (a plain retry); payload is any JSON.
    textFields: ["reason", "payload", "editPayload"],
    async target(seeds) {
      const run = await failedTarget(seeds);
      return {
        fields: { requestId: requestId(), runId: String(run.id), seenStatus: "failed", seenUpdatedAt: run.updatedAt, seenRetries: "0", reason: "" },
        effect: () => childOf(seeds.sql, run.id),
      };
    },
    async refusable(seeds) {
      const run = await failedTarget(seeds);
      return { runId: String(run.id), seenStatus: "failed", seenUpdatedAt: "2001-01-01T00:00:00.000Z", seenRetries: "0", editPayload: "on", payload: '{"edited":true}' };
    },
    async capture(page, seeds) {
      const run = await failedTarget(seeds);
      const detail = new RunDetailPage(page);
      await detail.goto(run.id);
      await detail.loaded();
      return captureAction(page, async () => {
        await detail.retryButton().click();
        await detail.confirm("Retry under a new key").click();
      });
    },
  },
  {
    name: "run.retry_bulk",
    source: "(console)/runs/actions.ts#bulkRetryAction",
    role: "operator",
    textFields: ["reason"],
    async target(seeds) {
      const run = await failedTarget(seeds);
      return {
        fields: { requestId: requestId(), run: [JSON.stringify({ id: run.id, status: "failed", updatedAt: run.updatedAt, retries: 0 })], reason: "bulk" },
        effect: () => childOf(seeds.sql, run.id),
      };
    },
    async refusable(seeds) {
      const run = await failedTarget(seeds);
      return { run: [JSON.stringify({ id: run.id, status: "failed", updatedAt: "2001-01-01T00:00:00.000Z", retries: 0 })], reason: "bulk" };
    },
    async capture(page, seeds) {
      // A task of its own, so the filtered list shows exactly this one failed run.
      const task = uniqueTask("bulk_capture");
      await failedRun(seeds.ledger, task, `authz-${tag()}`, { probe: "bulk" });
      await page.goto(`/runs?task=${encodeURIComponent(task)}&status=failed`);
      return captureAction(page, async () => {
        await page.getByRole("button", { name: "Retry 1 failed run…" }).click();
        await page.getByRole("dialog").getByLabel(/^Reason/).fill("capture");
        await page.getByRole("dialog").getByRole("button", { name: "Retry the selected runs" }).click();
      });
    },
  },
  {
    name: "run.abandon",
    source: "(console)/runs/actions.ts#abandonRunAction",
    role: "operator",
    textFields: ["reason"],
    async target(seeds) {
      const run = await stuckTarget(seeds);
      return {
        fields: { requestId: requestId(), runId: String(run.id), leaseToken: run.leaseToken, reason: "worker is gone" },
        effect: async () => {
          const status = await statusOf(seeds.sql, run.id);
          return status === "running" ? null : `now ${status}`;
        },
      };
    },
    async refusable(seeds) {
      const run = await stuckTarget(seeds);
      return { runId: String(run.id), leaseToken: randomUUID(), reason: "worker is gone" };
    },
    async capture(page, seeds) {
      const run = await stuckTarget(seeds);
      const detail = new RunDetailPage(page);
      await detail.goto(run.id);
      await detail.loaded();
      return captureAction(page, async () => {
        await detail.abandonButton().click();
        await detail.reason().fill("capture");
        await detail.confirm("Mark abandoned").click();
      });
    },
  },
  {
    name: "run.cancel",
    source: "(console)/runs/actions.ts#cancelRunAction",
    role: "operator",
    textFields: ["reason"],
    async target(seeds) {
      const id = await pendingRun(seeds.ledger, seeds.task, `authz-${tag()}`);
      return {
        fields: { requestId: requestId(), runId: String(id), reason: "not needed" },
        effect: async () => {
          const status = await statusOf(seeds.sql, id);
          return status === "pending" ? null : `now ${status}`;
        },
      };
    },
    async refusable(seeds) {
      // A failed run cannot be cancelled.
      const run = await failedTarget(seeds);
      return { runId: String(run.id), reason: "not needed" };
    },
    async capture(page, seeds) {
      const id = await pendingRun(seeds.ledger, seeds.task, `authz-${tag()}`);
      const detail = new RunDetailPage(page);
      await detail.goto(id);
      await detail.loaded();
      return captureAction(page, async () => {
        await detail.cancelRunButton().click();
        await detail.reason().fill("capture");
        await detail.confirm("Cancel the run").click();
      });
    },
  },
  {
    name: "lock.release",
    source: "(console)/locks/actions.ts#releaseLockAction",
    role: "operator",
    textFields: ["reason"],
    async target(seeds) {
      const lock = await lockTarget(seeds);
      return { fields: { requestId: requestId(), lock: orphanedLockRef(lock.key, lock.value), reason: "" }, effect: lock.effect };
    },
    async refusable(seeds) {
      const lock = await lockTarget(seeds);
      return { lock: orphanedLockRef(lock.key, "not-the-value") };
    },
    async capture(page, seeds) {
      const lock = await lockTarget(seeds);
      const locks = new LocksPage(page);
      await locks.goto({ q: lock.key });
      return captureAction(page, async () => {
        await locks.releaseButton(lock.key).click();
        await locks.confirm("Release lock").click();
      });
    },
  },
  {
    name: "lock.release_bulk",
    source: "(console)/locks/actions.ts#releaseLocksAction",
    role: "operator",
    textFields: ["reason"],
    async target(seeds) {
      const lock = await lockTarget(seeds);
      return { fields: { requestId: requestId(), lock: [orphanedLockRef(lock.key, lock.value)], reason: "" }, effect: lock.effect };
    },
    async refusable(seeds) {
      const lock = await lockTarget(seeds);
      return { lock: [orphanedLockRef(lock.key, "not-the-value")] };
    },
    async capture(page, seeds) {
      const lock = await lockTarget(seeds);
      const locks = new LocksPage(page);
      await locks.goto({ q: lock.key });
      await locks.selectCheckbox(lock.key).check();
      return captureAction(page, async () => {
        await locks.bulkBar().getByRole("button", { name: "Release 1 selected" }).click();
        await locks.confirm("Release 1 lock").click();
      });
    },
  },
  {
    name: "user.create",
    source: "(console)/settings/users/actions.ts#addUser",
    role: "admin",
    textFields: ["password"],
    // "-1" and "1e309" are fine usernames.
    accepts: (field, value) => field === "username" && /^[A-Za-z0-9_.@-]{2,64}$/.test(value.trim()),
    async target(seeds) {
      const username = `authz-${tag()}`;
      return {
        fields: { requestId: requestId(), username, role: "viewer", password: "" },
        effect: async () => ((await seeds.sql`SELECT 1 FROM idem.users WHERE username = ${username}`).length ? `user ${username} exists` : null),
      };
    },
    async refusable() {
      // The name is taken.
      return { username: E2E_ACCOUNTS.viewer.username, role: "viewer", password: "" };
    },
    async capture(page) {
      const users = new UsersSettingsPage(page);
      await users.goto();
      return captureAction(page, () => users.addUser(`authz-${tag()}`, "viewer"));
    },
  },
  {
    name: "user.update",
    source: "(console)/settings/users/actions.ts#changeUserAccess",
    role: "admin",
    // The username only labels the audit row: the id says whom.
    textFields: ["username"],
    async target(seeds) {
      const user = await throwawayUser(seeds);
      return {
        fields: { requestId: requestId(), id: String(user.id), username: user.username, role: "operator", disabled: "false", seenRole: "viewer", seenDisabled: "false" },
        effect: async () => {
          const [row] = await seeds.sql<{ role: string; disabled: boolean }[]>`
            SELECT role::text, disabled_at IS NOT NULL AS disabled FROM idem.users WHERE id = ${user.id}`;
          return row?.role === "viewer" && !row.disabled ? null : `now ${row?.role ?? "deleted"}${row?.disabled ? ", disabled" : ""}`;
        },
      };
    },
    async refusable(seeds) {
      // The user is not what the form says it saw.
      const user = await throwawayUser(seeds);
      return { id: String(user.id), username: user.username, role: "operator", disabled: "false", seenRole: "admin", seenDisabled: "false" };
    },
    async capture(page, seeds) {
      const user = await throwawayUser(seeds);
      const users = new UsersSettingsPage(page);
      await users.goto();
      return captureAction(page, () => users.row(user.username).getByRole("button", { name: "Save" }).click());
    },
  },
  {
    name: "token.create",
    source: "(console)/settings/tokens/actions.ts#createToken",
    role: "admin",
    // A token's name is free text, so hostile names are created (and shown escaped on the tokens page):
    // sent at the live target, and accepted.
    textFields: [],
    accepts: (field, value) => field === "name" && value.trim().length > 0 && value.length <= 100 && !value.includes("\u0000"),
    async target(seeds) {
      const name = `authz-${tag()}`;
      return {
        fields: { requestId: requestId(), name, role: "viewer" },
        effect: async () => ((await seeds.sql`SELECT 1 FROM idem.api_tokens WHERE name = ${name}`).length ? `token ${name} exists` : null),
      };
    },
    async refusable() {
      // Nothing about a new token can be stale: only an invalid field refuses it.
      return { role: "superuser" };
    },
    capture: (page) => captureCreateToken(page),
  },
  {
    name: "token.revoke",
    source: "(console)/settings/tokens/actions.ts#revokeToken",
    role: "admin",
    textFields: ["reason", "name"],
    async target(seeds) {
      const token = await throwawayToken(seeds);
      return {
        fields: { requestId: requestId(), id: String(token.id), name: token.name, reason: "" },
        effect: async () => {
          const [row] = await seeds.sql<{ revoked: boolean }[]>`SELECT revoked_at IS NOT NULL AS revoked FROM idem.api_tokens WHERE id = ${token.id}`;
          return row?.revoked ? "revoked" : null;
        },
      };
    },
    async refusable() {
      // No such token.
      return { id: "999999999", name: "nobody" };
    },
    async capture(page, seeds) {
      const token = await throwawayToken(seeds);
      const tokens = new TokensSettingsPage(page);
      await tokens.goto();
      return captureAction(page, async () => {
        await tokens.row(token.name).getByRole("button", { name: "Revoke" }).click();
        await page.getByRole("dialog").getByRole("button", { name: "Revoke token" }).click();
      });
    },
  },
];

/**
 * Captures already made against this console, by key: the spec files run one after another in one
 * worker against one build, and an action's request does not change with the page it was taken from,
 * so each is captured once per run rather than once per file.
 */
const captured = new Map<string, CapturedAction>();

/**
 * Opens a browser context signed in as `role` (or not signed in), runs `capture` on a page of it, and
 * closes it. With a `key`, a capture made earlier in this run is reused.
 */
export async function captureAs(
  browser: Browser,
  baseURL: string,
  role: E2ERole | "anonymous",
  capture: (page: Page) => Promise<CapturedAction>,
  key?: string,
): Promise<CapturedAction> {
  const cacheKey = key === undefined ? null : `${baseURL} ${role} ${key}`;
  const earlier = cacheKey ? captured.get(cacheKey) : undefined;
  if (earlier) return earlier;
  const context = await browser.newContext({ baseURL, storageState: role === "anonymous" ? { cookies: [], origins: [] } : storageStatePath(role) });
  try {
    const action = await capture(await context.newPage());
    if (cacheKey) captured.set(cacheKey, action);
    return action;
  } finally {
    await context.close();
  }
}

/** Each action case's request, captured as the role that has its button (once per run). */
export function captureCase(browser: Browser, baseURL: string, action: ActionCase, seeds: Seeds): Promise<CapturedAction> {
  return captureAs(browser, baseURL, action.role, (page) => action.capture(page, seeds), action.name);
}

/** The sign-in form's request, captured on the sign-in page (once per run). */
export function captureSignIn(browser: Browser, baseURL: string): Promise<CapturedAction> {
  return captureAs(
    browser,
    baseURL,
    "anonymous",
    async (page) => {
      await page.goto("/login");
      return captureAction(page, async () => {
        await page.getByLabel("Username").fill("nobody");
        await page.getByLabel("Password").fill("nothing-at-all");
        await page.getByRole("button", { name: "Sign in" }).click();
      });
    },
    "auth.sign_in",
  );
}

/** The sign-out button's request, captured as the viewer (once per run). */
export function captureSignOut(browser: Browser, baseURL: string): Promise<CapturedAction> {
  return captureAs(
    browser,
    baseURL,
    "viewer",
    async (page) => {
      await page.goto("/runs");
      return captureAction(page, () => page.getByRole("button", { name: "Sign out" }).click());
    },
    "auth.sign_out",
  );
}

/**
 * API tokens, created the way an admin does: the admin's "Create token" action, captured from the
 * tokens page and replayed with each name and role. Returns each token's secret and name by key.
 */
export async function issueTokens<K extends string>(
  browser: Browser,
  baseURL: string,
  admin: APIRequestContext,
  roles: Record<K, E2ERole>,
): Promise<Record<K, { token: string; name: string }>> {
  const action = await captureAs(browser, baseURL, "admin", captureCreateToken, "token.create");
  const tokens = {} as Record<K, { token: string; name: string }>;
  for (const [key, role] of Object.entries(roles) as Array<[K, E2ERole]>) {
    const name = `e2e-${key}-${tag()}`;
    const result = await replayAction(admin, action, { fields: { requestId: randomUUID(), name, role } });
    const data = result.state?.ok ? result.state.data : null;
    const token = data && typeof data === "object" && !Array.isArray(data) ? data.token : null;
    if (typeof token !== "string") throw new Error(`could not create a ${role} token: ${result.status} ${result.text.slice(0, 300)}`);
    tokens[key] = { token, name };
  }
  return tokens;
}

const appRoot = path.resolve(import.meta.dirname, "../../app");

/** Server actions with tests of their own rather than a case above (they need no role, only a form). */
export const actionsTestedApart: Record<string, string> = {
  "login/actions.ts#signIn": "captureSignIn: authorization, hostile-input and sessions specs",
  "login/actions.ts#signOut": "authorization spec (Origin checks) and sessions spec (ends the session)",
};

/** Every file named `name` under app/, as its path there with "/" separators ("(console)/runs/actions.ts"), sorted. */
export function appFilesNamed(name: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name === name) found.push(path.relative(appRoot, full).split(path.sep).join("/"));
    }
  };
  walk(appRoot);
  return found.sort();
}

/** Every page.tsx or route.ts under app/, as a route ("/runs/[id]"), route groups and private (`_`) folders left out. */
export function routesOnDisk(file: "page.tsx" | "route.ts"): string[] {
  return appFilesNamed(file)
    .map((found) => `/${found.split("/").slice(0, -1).filter((s) => !/^\(.*\)$/.test(s) && !s.startsWith("_")).join("/")}`)
    .sort();
}

/** Every export of every actions.ts under app/, as `<file under app/>#<export>`. */
export function actionExportsOnDisk(): string[] {
  const found: string[] = [];
  for (const file of appFilesNamed("actions.ts")) {
    const source = readFileSync(path.join(appRoot, file), "utf8");
    for (const match of source.matchAll(/^export\s+(?:const|let|async\s+function|function)\s+(\w+)/gm)) found.push(`${file}#${match[1]}`);
    for (const match of source.matchAll(/^export\s*\{([^}]*)\}/gm)) {
      for (const name of match[1]!.split(",")) found.push(`${file}#${name.trim().split(/\s+as\s+/).pop()}`);
    }
  }
  return found.sort();
}

/** Which export of which file a server action id calls, from the build's server-reference manifest. */
export function serverActionSource(actionId: string): string | null {
  const manifest = JSON.parse(readFileSync(path.resolve(appRoot, "../.next/server/server-reference-manifest.json"), "utf8")) as {
    node: Record<string, { filename?: string; exportedName?: string }>;
  };
  const entry = manifest.node[actionId];
  return entry?.filename && entry.exportedName ? `${entry.filename.replace(/^app\//, "")}#${entry.exportedName}` : null;
}
