import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import path from "node:path";
import getPort from "get-port";
import postgres from "postgres";
import { chromium } from "@playwright/test";
import { childProcessEnv } from "@/lib/env";
import { createLedger } from "@/lib/ledger";
import { lockKeyFor } from "@/lib/locks/locks";
import { createRedis } from "@/lib/redis";
import { attachScreenshot, expect, signedInAs, state, test } from "./fixtures";
import { LoginPage } from "./pages/login.page";
import { AuditPage } from "./pages/audit.page";
import { LocksPage } from "./pages/locks.page";
import playwrightConfig from "../../playwright.config";

/**
 * The Locks screen on the demo console: the crashed worker's stuck lock (the demo's own), guarded
 * release, the audit row. Other rows each test needs are written here through Redis and the SDK (unique
 * keys per test), so the tests do not depend on the demo's numbers.
 */
const SDK_PREFIX = "idem:lock:";
/** The task of the demo's crashed worker (scripts/demo/scenarios.ts), a transcode killed mid-run. */
const DEMO_CRASHED_TASK = "transcode_file";

const redis = createRedis(state.redisUrl, { name: "idem-e2e-locks" });
const sql = postgres(state.databaseUrl, { max: 2, onnotice: () => undefined });
const ledger = createLedger({ sql, redis: null, lockPrefix: SDK_PREFIX, workerId: "e2e-locks-worker", recordHeartbeats: false });

test.afterAll(async () => {
  redis.disconnect();
  await sql.end({ timeout: 5 });
});

const tag = () => randomBytes(4).toString("hex");

/** A run claimed through the SDK and its lock holding the lease token, as a worker writes them. */
async function claimWithLock(task: string, key: string, options: { leaseMs?: number; ttlMs?: number } = {}) {
  const token = randomUUID();
  const claim = await ledger.claimRun({ task, key, payload: { key }, leaseMs: options.leaseMs ?? 600_000, source: "e2e" }, token);
  if (claim.outcome !== "claimed") throw new Error(`expected a claim, got ${claim.outcome}`);
  const lockKey = lockKeyFor(task, key, SDK_PREFIX);
  await redis.set(lockKey, token, "PX", options.ttlMs ?? 3_600_000);
  return { runId: claim.run.id, token, lockKey };
}

/**
 * The stuck lock the demo's crashed worker left (scripts/demo/scenarios.ts): a run still `running` with
 * an expired lease whose SDK lock holds its lease token. The demo must have made it: this test is the
 * proof that the demo's stuck lock is found, so it never makes its own.
 */
async function demoStuckLock(): Promise<{ lockKey: string; value: string; runId: number } | null> {
  const candidates = await sql<{ id: string; task_name: string; idempotency_key: string; lease_token: string }[]>`
    SELECT id, task_name, idempotency_key, lease_token::text AS lease_token FROM idem.task_runs
    WHERE status = 'running' AND lease_expires_at < now() AND source <> 'e2e' AND task_name = ${DEMO_CRASHED_TASK}
    ORDER BY id`;
  for (const run of candidates) {
    const lockKey = lockKeyFor(run.task_name, run.idempotency_key, SDK_PREFIX);
    if ((await redis.get(lockKey)) === run.lease_token) return { lockKey, value: run.lease_token, runId: Number(run.id) };
  }
  return null;
}

async function auditFor(key: string) {
  return sql<{ actor: string; outcome: string; precondition: { value?: string; class?: string }; outcome_detail: { result?: string } }[]>`
    SELECT actor, outcome, precondition, outcome_detail FROM idem.operator_actions WHERE action = 'lock.release' AND target_id = ${key} ORDER BY id`;
}

test("the crashed worker's stuck lock is found, released only after confirmation, and audited", async ({ page }, testInfo) => {
  const found = await demoStuckLock();
  expect(found, "the demo's crashed transcode worker left its run running with an expired lease and its lock in Redis").not.toBeNull();
  const stuck = found!;
  testInfo.annotations.push({ type: "stuck lock", description: `${stuck.lockKey}, left by the demo's crashed worker` });
  const locks = new LocksPage(page);

  await locks.goto();
  await expect(locks.heading()).toHaveText("Locks");
  await expect(locks.row(stuck.lockKey)).toBeVisible();
  await attachScreenshot(page, testInfo, "locks-inventory");

  await locks.classChip("stale").click();
  await expect(page).toHaveURL(/class=stale/);
  const row = locks.row(stuck.lockKey);
  await expect(row).toContainText("stale");
  await expect(row.getByRole("link", { name: new RegExp(`#${stuck.runId}`) })).toHaveAttribute("href", `/runs/${stuck.runId}`);
  await expect(row).toContainText("lease expired");
  await attachScreenshot(page, testInfo, "locks-filtered-stale");

  // Cancel: the dialog closes and nothing is deleted.
  await locks.releaseButton(stuck.lockKey).click();
  await expect(locks.dialog()).toContainText(stuck.lockKey);
  await attachScreenshot(page, testInfo, "locks-confirm-dialog");
  await locks.cancel().click();
  await expect(locks.dialog()).toBeHidden();
  expect(await redis.get(stuck.lockKey)).toBe(stuck.value);
  expect(await auditFor(stuck.lockKey)).toEqual([]);

  await locks.releaseButton(stuck.lockKey).click();
  await locks.reason().fill("transcode worker crashed mid-run");
  await locks.confirm("Release lock").click();
  await expect(locks.toast()).toContainText(`Released ${stuck.lockKey}`);
  await expect(locks.row(stuck.lockKey)).toBeHidden();
  expect(await redis.exists(stuck.lockKey)).toBe(0);
  expect(await auditFor(stuck.lockKey)).toEqual([
    expect.objectContaining({ actor: "operator", outcome: "done", precondition: expect.objectContaining({ value: stuck.value, class: "stale" }) }),
  ]);

  // The audit entry, as an operator finds it on the Audit screen.
  const audit = new AuditPage(page);
  await audit.goto({ action: "lock.release" });
  const entry = audit.rowsFor(`lock:${stuck.lockKey}`, "lock.release");
  await expect(entry).toHaveCount(1);
  await expect(entry).toHaveAttribute("data-outcome", "done");
  await expect(entry).toContainText("operator");
  await expect(entry).toContainText("transcode worker crashed mid-run");
  await attachScreenshot(page, testInfo, "locks-audit-entry");
});

test("a key and value with line breaks are released exactly, one by one and in bulk", async ({ page }, testInfo) => {
  const id = tag();
  // Browsers rewrite "\n" in form fields to "\r\n": sent as text, these could never be matched.
  const single = { key: `lock:e2e-nl-${id}:a\nb`, value: "held by\nworker 3" };
  const bulk = [
    { key: `lock:e2e-nl-${id}:c\r\nd`, value: "x\ny" },
    { key: `lock:e2e-nl-${id}:e`, value: "line one\nline two" },
  ];
  for (const lock of [single, ...bulk]) await redis.set(lock.key, lock.value, "EX", 600);
  const locks = new LocksPage(page);
  await locks.goto({ q: `e2e-nl-${id}` });

  await locks.releaseButton(single.key).click();
  await expect(locks.dialog().getByLabel("Value to compare")).toContainText("worker 3");
  await attachScreenshot(page, testInfo, "locks-newline-dialog");
  await locks.confirm("Release lock").click();
  await expect(locks.toast()).toContainText("Released");
  expect(await redis.exists(single.key)).toBe(0);

  for (const lock of bulk) await locks.selectCheckbox(lock.key).check();
  await locks.bulkBar().getByRole("button", { name: "Release 2 selected" }).click();
  await locks.confirm("Release 2 locks").click();
  await expect(locks.toast()).toContainText("2 selected: 2 released");
  expect(await redis.exists(...bulk.map((l) => l.key))).toBe(0);
  expect((await auditFor(single.key)).map((r) => r.outcome)).toEqual(["done"]);
});

test("a held lock whose key has a line break is confirmed by typing the line break as \\n", async ({ page }, testInfo) => {
  const held = await claimWithLock("send_email", `e2e-held-nl-${tag()}\nsecond-line`);
  const locks = new LocksPage(page);
  await locks.goto({ q: "e2e-held-nl-" });
  await locks.releaseButton(held.lockKey).click();
  const confirm = locks.confirm("Release held lock");
  await locks.reason().fill("worker gone");
  await locks.typedKey().fill(held.lockKey.replace("\n", " "));
  await expect(confirm).toBeDisabled();
  await locks.typedKey().fill(held.lockKey.replace("\n", "\\n"));
  await expect(confirm).toBeEnabled();
  await attachScreenshot(page, testInfo, "locks-held-newline-confirm");
  await confirm.click();
  await expect(locks.toast()).toContainText("Released");
  expect(await redis.exists(held.lockKey)).toBe(0);
});

test("the pattern filter scans one pattern, and the class chips count the view", async ({ page }, testInfo) => {
  const id = tag();
  const [orphanA, orphanB, noTtl] = [`lock:e2e-cnt-${id}:a`, `lock:e2e-cnt-${id}:b`, `task:e2e-cnt-${id}`];
  await redis.set(orphanA, `unique-holder-${id}-a`, "EX", 600);
  await redis.set(orphanB, `unique-holder-${id}-b`, "EX", 600);
  await redis.set(noTtl, "1");
  // Another library's lock, kept in a hash with no TTL: listed, and the row says why it cannot be released here.
  const hash = `lock:e2e-cnt-${id}:redisson`;
  await redis.hset(hash, "8d3c:1", "1");
  const held = await claimWithLock("send_email", `e2e-cnt-${id}`);
  const locks = new LocksPage(page);

  await locks.goto({ q: `e2e-cnt-${id}` });
  for (const key of [orphanA, orphanB, noTtl, hash, held.lockKey]) await expect(locks.row(key)).toBeVisible();
  await expect(locks.row(hash)).toContainText("Not releasable here");
  await expect(locks.row(hash)).toContainText("not a string");
  await expect(locks.row(hash).getByRole("button", { name: "Release", exact: true })).toHaveCount(0);
  await expect(locks.classCount("All")).toHaveText("5");
  await expect(locks.classCount("orphaned")).toHaveText("2");
  await expect(locks.classCount("no TTL")).toHaveText("2");
  await expect(locks.classCount("held")).toHaveText("1");
  await expect(locks.classCount("stale")).toHaveText("0");

  // A class filter narrows the rows, not the counts.
  await locks.classChip("orphaned").click();
  await expect(page).toHaveURL(/class=orphaned/);
  await expect(locks.row(noTtl)).toBeHidden();
  await expect(locks.row(orphanA)).toBeVisible();
  await expect(locks.classCount("no TTL")).toHaveText("2");

  await locks.goto({ q: `e2e-cnt-${id}` });
  await locks.filterByPattern("task:*");
  await expect(page).toHaveURL(/pattern=task%3A\*/);
  await expect(locks.row(noTtl)).toBeVisible();
  for (const key of [orphanA, orphanB, hash, held.lockKey]) await expect(locks.row(key)).toBeHidden();
  await expect(locks.classCount("All")).toHaveText("1");
  await expect(locks.classCount("orphaned")).toHaveText("0");
  await attachScreenshot(page, testInfo, "locks-pattern-filter");
  await redis.del(noTtl, hash, held.lockKey);
});

test("a release is refused, and the new state shown, when the lock changed after the page loaded", async ({ page }, testInfo) => {
  const id = tag();
  const key = `lock:order:e2e-${id}`;
  await redis.set(key, "processing", "EX", 300);
  const locks = new LocksPage(page);
  await locks.goto({ q: id });
  await expect(locks.row(key)).toContainText("processing");
  await expect(locks.row(key)).toContainText("shared value");

  await locks.releaseButton(key).click();
  // Someone else's worker takes the lock again while the operator reads the dialog.
  await redis.set(key, "worker-b:4711:7c1d", "EX", 300);
  await locks.confirm("Release lock").click();
  await expect(locks.dialogAlert()).toContainText('Nothing was deleted');
  await expect(locks.dialogAlert()).toContainText('now holds "worker-b:4711:7c1d"');
  await attachScreenshot(page, testInfo, "locks-refused-changed");
  expect(await redis.get(key)).toBe("worker-b:4711:7c1d");
  expect(await auditFor(key)).toEqual([expect.objectContaining({ outcome: "refused", outcome_detail: expect.objectContaining({ result: "changed" }) })]);
});

test("a held lock can only be released with the key typed back and a reason", async ({ page }, testInfo) => {
  const held = await claimWithLock("send_email", `e2e-held-${tag()}`);
  const locks = new LocksPage(page);
  await locks.goto({ q: held.lockKey.slice(SDK_PREFIX.length), class: "held" });
  await expect(locks.row(held.lockKey)).toContainText("held");
  await expect(locks.selectCheckbox(held.lockKey)).toBeDisabled();

  await locks.releaseButton(held.lockKey).click();
  const confirm = locks.confirm("Release held lock");
  await expect(confirm).toBeDisabled();
  await expect(locks.dialog()).toContainText("end run");
  await locks.reason().fill("pod evicted, worker gone");
  await locks.typedKey().fill(`${held.lockKey.slice(0, -1)}`);
  await expect(confirm).toBeDisabled();
  await locks.typedKey().fill(held.lockKey);
  await expect(confirm).toBeEnabled();
  await attachScreenshot(page, testInfo, "locks-held-confirm");
  expect(await redis.get(held.lockKey)).toBe(held.token);

  await locks.dialog().getByRole("checkbox").check();
  await confirm.click();
  await expect(locks.toast()).toContainText("lease is now expired");
  expect(await redis.exists(held.lockKey)).toBe(0);
  const [run] = await sql<{ expired: boolean }[]>`SELECT lease_expires_at <= now() AS expired FROM idem.task_runs WHERE id = ${held.runId}`;
  expect(run?.expired).toBe(true);
});

test("bulk release takes exactly the ticked locks, after confirming the list", async ({ page }, testInfo) => {
  const id = tag();
  const keys = [1, 2, 3].map((n) => `lock:e2e-bulk-${id}:${n}`);
  for (const key of keys) await redis.set(key, `holder-${key}`, "EX", 600);
  const spared = `lock:e2e-bulk-${id}:spared`;
  await redis.set(spared, "holder-spared", "EX", 600);

  const locks = new LocksPage(page);
  await locks.goto({ q: `e2e-bulk-${id}` });
  for (const key of keys) await locks.selectCheckbox(key).check();
  await expect(locks.bulkBar()).toContainText("3 locks selected");
  await locks.bulkBar().getByRole("button", { name: "Release 3 selected" }).click();
  const list = locks.dialog().getByRole("list", { name: "Locks to release" });
  await expect(list.getByRole("listitem")).toHaveCount(3);
  await expect(list).not.toContainText(spared);
  await attachScreenshot(page, testInfo, "locks-bulk-confirm");

  await locks.confirm("Release 3 locks").click();
  await expect(locks.toast()).toContainText("3 selected: 3 released");
  for (const key of keys) await expect(locks.row(key)).toBeHidden();
  expect(await redis.exists(...keys)).toBe(0);
  expect(await redis.get(spared)).toBe("holder-spared");
  for (const key of keys) expect(await auditFor(key)).toEqual([expect.objectContaining({ outcome: "done" })]);
});

test("in a big Redis that is mostly not locks, a page view stops at its SCAN budget and says it is partial", async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  const id = tag();
  // The console's own Redis in this run (a private redis-server child): 300,000 keys that are not locks,
  // more than one view's 500 SCAN calls × COUNT 500 visit for each pattern.
  const filler = `e2e-cache-${id}:`;
  for (let start = 0; start < 300_000; start += 10_000) {
    const pipeline = redis.pipeline();
    for (let i = start; i < start + 10_000; i++) pipeline.set(`${filler}${i}`, "x", "EX", 600);
    await pipeline.exec();
  }
  try {
    const locks = new LocksPage(page);
    await locks.goto();
    const partial = page.getByTestId("partial-view");
    await expect(partial).toContainText("Partial view");
    await expect(partial).toContainText(/stopped (at 500 SCAN calls|at this view's time limit)/);
    await expect(partial).toContainText("idem:lock:*");
    await attachScreenshot(page, testInfo, "locks-partial-view");
  } finally {
    for (let start = 0; start < 300_000; start += 10_000) {
      await redis.unlink(...Array.from({ length: 10_000 }, (_, i) => `${filler}${start + i}`));
    }
  }
});

test("a view with no matching locks says so", async ({ page }, testInfo) => {
  const locks = new LocksPage(page);
  await locks.goto({ q: `no-such-lock-${tag()}` });
  await expect(locks.emptyState()).toContainText("No locks match these filters");
  await attachScreenshot(page, testInfo, "locks-empty");
});

test("bad filters are answered with 400 and a message naming the parameter", async ({ page }) => {
  const response = await page.goto("/locks?class=bogus");
  expect(response?.status()).toBe(400);
  await expect(page.getByTestId("bad-request-message")).toContainText("class: must be one of");
});

test.describe("as a viewer", () => {
  test.use(signedInAs("viewer"));

  test("the inventory is visible but there is nothing to release with", async ({ page }, testInfo) => {
    const key = `lock:e2e-viewer-${tag()}`;
    await redis.set(key, "1", "EX", 300);
    const locks = new LocksPage(page);
    await locks.goto({ q: key });
    await expect(locks.row(key)).toBeVisible();
    await expect(locks.releaseButtons()).toHaveCount(0);
    await expect(page.getByRole("checkbox")).toHaveCount(0);
    await attachScreenshot(page, testInfo, "locks-viewer");
  });
});

/**
 * A second console on the same database with a Redis URL nobody listens on. Served with `next start`
 * on the build global setup made (the launcher would rebuild if a source file changed meanwhile).
 */
test("with Redis down the page shows an error state and the banner, not a 500", async ({}, testInfo) => {
  test.setTimeout(120_000);
  const port = await getPort();
  const deadRedis = `redis://127.0.0.1:${await getPort()}`;
  const child = spawn("npx", ["next", "start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: path.resolve(import.meta.dirname, "../.."),
    env: childProcessEnv({ DATABASE_URL: state.databaseUrl, REDIS_URL: deadRedis }),
    stdio: "ignore",
    detached: true,
  });
  const baseURL = `http://127.0.0.1:${port}`;
  const browser = await chromium.launch(playwrightConfig.use?.launchOptions);
  try {
    await expect
      .poll(async () => (await fetch(`${baseURL}/api/health`).catch(() => null))?.status ?? 0, { timeout: 60_000, intervals: [250] })
      .toBe(200);
    const context = await browser.newContext({ baseURL, viewport: { width: 1440, height: 900 }, storageState: { cookies: [], origins: [] } });
    const page = await context.newPage();
    await new LoginPage(page).goto("/locks");
    await new LoginPage(page).signIn("viewer", "idem-viewer");
    const locks = new LocksPage(page);
    await expect(locks.inventoryError()).toBeVisible({ timeout: 20_000 });
    await expect(page.getByTestId("health-banner")).toContainText("Redis is unreachable");
    await attachScreenshot(page, testInfo, "locks-redis-down");
    const response = await page.goto("/locks");
    expect(response?.status()).toBe(200);
    await context.close();
  } finally {
    await browser.close();
    if (child.pid) process.kill(-child.pid, "SIGTERM");
  }
});
