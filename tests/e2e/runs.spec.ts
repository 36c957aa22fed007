import { readFile } from "node:fs/promises";
import postgres from "postgres";
import { request as playwrightRequest } from "@playwright/test";
import { createRedis } from "@/lib/redis";
import { attachScreenshot, expect, state, test } from "./fixtures";
import { RunsPage } from "./pages/runs.page";
import { seedRunsScenario, type RunsScenario } from "./runs-seed";

/**
 * The Runs screen on the demo console. The rows each test counts are its own (tests/e2e/runs-seed.ts,
 * task names unique to this file), so the demo workload running beside them changes nothing here.
 */
const sql = postgres(state.databaseUrl, { max: 2, onnotice: () => undefined });
const redis = createRedis(state.redisUrl, { name: "idem-e2e-runs" });
let seed: RunsScenario;

test.beforeAll(async () => {
  seed = await seedRunsScenario(sql, redis);
});

test.afterAll(async () => {
  redis.disconnect();
  await sql.end({ timeout: 5 });
});

/** Every run of the charge task in the seed, newest first. */
const chargeIds = () => [
  seed.ids.retry2,
  seed.ids.retrySibling,
  seed.ids.retry1,
  seed.ids.live,
  seed.ids.stuck,
  seed.ids.takeover,
  seed.ids.failed,
  seed.ids.mismatch,
  seed.ids.long,
];

test("browse the runs list, then narrow it with each filter control", async ({ page }, testInfo) => {
  const runs = new RunsPage(page);
  await runs.goto();
  await expect(runs.heading()).toHaveText("Runs");
  await expect(runs.rows().first()).toBeVisible();
  await attachScreenshot(page, testInfo, "runs-list");

  await runs.setTask(seed.chargeTask);
  await runs.apply(/task=/);
  await expect(runs.rows()).toHaveCount(9);
  expect(await runs.rowIds()).toEqual(chargeIds());
  await expect(runs.activeFilters()).toContainText(`task: ${seed.chargeTask}`);
  const stuckRow = runs.row(seed.ids.stuck);
  await expect(stuckRow).toContainText("running · lease expired");
  await expect(runs.row(seed.ids.mismatch)).toContainText(seed.keys.mismatch);
  await attachScreenshot(page, testInfo, "runs-filtered-by-task");

  await runs.setStatus("failed");
  await runs.apply(/status=failed/);
  await expect(runs.rows()).toHaveCount(3);
  expect(await runs.rowIds()).toEqual([seed.ids.retrySibling, seed.ids.retry1, seed.ids.failed]);

  await runs.setStatus("stuck");
  await runs.apply(/status=stuck/);
  expect(await runs.rowIds()).toEqual([seed.ids.stuck]);
  await runs.setStatus("");

  // A % in the key is literal, exactly and as a prefix.
  await runs.setKey(seed.keys.mismatch, "exact");
  await runs.apply(/key=/);
  expect(await runs.rowIds()).toEqual([seed.ids.mismatch]);
  await runs.setKey("invoice-%", "prefix");
  await runs.apply(/keyMatch=prefix/);
  expect(await runs.rowIds()).toEqual([seed.ids.mismatch]);
  await runs.setKey("invoice-fail", "prefix");
  await runs.apply(/key=invoice-fail/);
  expect(await runs.rowIds()).toEqual([seed.ids.retry2, seed.ids.retrySibling, seed.ids.retry1, seed.ids.failed]);
  await runs.setKey("");

  await runs.setOnly("Is a retry", true);
  await runs.apply(/retry=1/);
  expect(await runs.rowIds()).toEqual([seed.ids.retry2, seed.ids.retrySibling, seed.ids.retry1]);
  await runs.setOnly("Is a retry", false);

  await runs.setOnly("Has duplicates", true);
  await runs.apply(/dups=1/);
  expect(await runs.rowIds()).toEqual([seed.ids.mismatch]);
  await expect(runs.row(seed.ids.mismatch).getByTitle(/duplicate submissions of this key/)).toHaveText("2");
  await runs.setOnly("Has duplicates", false);

  // The two-hour run started two hours ago: the last 15 minutes leave it out.
  await runs.apply((url) => url.searchParams.has("task") && !url.searchParams.has("dups"));
  await runs.preset("15m");
  await page.waitForURL(/from=15m/);
  await expect(runs.rows()).toHaveCount(8);
  expect(await runs.rowIds()).not.toContain(seed.ids.long);

  // Finished runs only, oldest first.
  await runs.setRange("");
  await runs.setSort("finished", "asc");
  await runs.apply(/sort=finished/);
  await expect(runs.rows()).toHaveCount(7);
  expect(await runs.rowIds()).not.toContain(seed.ids.live);
  expect(await runs.rowIds()).not.toContain(seed.ids.stuck);
  await runs.setSort("created", "desc");

  await runs.setTask(seed.emailTask);
  await runs.setWorker(seed.workerA);
  await runs.apply(/worker=/);
  await expect(runs.rows()).toHaveCount(15);
  for (const row of await runs.rows().all()) await expect(row).toContainText(seed.workerA);

  await runs.setRange("2099-01-01T00:00Z");
  await runs.apply(/from=2099/);
  await expect(runs.empty()).toBeVisible();
  await attachScreenshot(page, testInfo, "runs-empty-filter");
});

test("free search finds a run by id or by key", async ({ page }) => {
  const runs = new RunsPage(page);
  await runs.goto();
  await runs.search(String(seed.ids.takeover));
  await runs.apply(/q=/);
  await expect(runs.row(seed.ids.takeover)).toBeVisible();
  for (const row of await runs.rows().all()) {
    const id = Number(await row.getAttribute("data-run-id"));
    if (id !== seed.ids.takeover) await expect(row).toContainText(String(seed.ids.takeover));
  }
  await runs.search("invoice-fail.retry-1b");
  await runs.apply(/q=invoice-fail/);
  await expect(runs.row(seed.ids.retrySibling)).toBeVisible();
});

test("pages through a filter with the keyset pager, forwards and back", async ({ page }, testInfo) => {
  const runs = new RunsPage(page);
  await runs.goto({ task: seed.emailTask });
  await runs.setPageSize(25);
  await runs.apply(/pageSize=25/);
  await expect(runs.rows()).toHaveCount(25);
  const first = await runs.rowIds();
  await expect(runs.previousPage()).toHaveCount(0);

  await runs.nextPage().click();
  await page.waitForURL(/cursor=/);
  await expect(runs.rows()).toHaveCount(5);
  const second = await runs.rowIds();
  expect(new Set([...first, ...second]).size).toBe(30);
  expect(Math.min(...first)).toBeGreaterThan(Math.max(...second));
  await expect(runs.nextPage()).toHaveCount(0);
  await attachScreenshot(page, testInfo, "runs-second-page");

  await runs.previousPage().click();
  await expect(runs.rows()).toHaveCount(25);
  expect(await runs.rowIds()).toEqual(first);
});

test("bad query parameters get a 400 page and bad run ids a 404 page, never a 500", async ({ page }, testInfo) => {
  const cases: Array<[string, number, RegExp]> = [
    ["/runs?status=exploded", 400, /status: must be one of/],
    ["/runs?cursor=not-a-cursor", 400, /cursor: is not a page cursor/],
    ["/runs?pageSize=100000", 400, /pageSize: must be at most 200/],
    ["/runs?from=yesterday", 400, /from: must be a time/],
  ];
  for (const [url, status, message] of cases) {
    const response = await page.goto(url);
    expect(response?.status(), url).toBe(status);
    await expect(page.getByTestId("bad-request-message")).toHaveText(message);
  }
  await attachScreenshot(page, testInfo, "runs-400");

  for (const url of ["/runs/abc", "/runs/99999999999", "/runs/1.5", "/runs/99999999999999999999"]) {
    const response = await page.goto(url);
    expect(response?.status(), url).toBe(404);
    await expect(page.getByRole("heading", { name: /not found/i })).toBeVisible();
  }
  await attachScreenshot(page, testInfo, "run-404");
});

test("exports the current filter as CSV, and refuses an anonymous export", async ({ page }) => {
  const runs = new RunsPage(page);
  await runs.goto({ task: seed.chargeTask });
  const [download] = await Promise.all([page.waitForEvent("download"), runs.exportCsv().click()]);
  expect(download.suggestedFilename()).toMatch(/^idem-runs-.*\.csv$/);
  const text = await readFile((await download.path())!, "utf8");
  const lines = text.trim().split("\r\n");
  expect(lines[0]).toBe(
    '"id","task","key","status","stuck","attempt","max_attempts","worker","fencing_token","duplicates","retry_of","root_run_id","source","created_at","started_at","finished_at","duration_ms","error_message"',
  );
  expect(lines.slice(1).map((line) => Number(JSON.parse(line.split(",")[0]!)))).toEqual(chargeIds());
  expect(text).toContain(`"${seed.keys.mismatch}"`);

  const anonymous = await playwrightRequest.newContext({ baseURL: state.baseURL, storageState: { cookies: [], origins: [] } });
  try {
    const response = await anonymous.get(`/runs/export?task=${seed.chargeTask}`);
    expect(response.status()).toBe(401);
    expect(await response.json()).toEqual({ error: { code: "UNAUTHENTICATED", message: "Sign in to export runs.", requestId: expect.any(String) } });
    const bad = await page.request.get(`/runs/export?format=xml`);
    expect(bad.status()).toBe(400);
    expect(await bad.json()).toEqual({ error: { code: "VALIDATION", message: "format: must be csv or json", field: "query.format", requestId: expect.any(String) } });
  } finally {
    await anonymous.dispose();
  }
});
