import postgres from "postgres";
import { createLedger } from "@/lib/ledger";
import { attachScreenshot, expect, state, test } from "./fixtures";
import { DuplicatesPage } from "./pages/duplicates.page";
import { seedStatsScenario, type StatsScenario } from "./stats-seed";

/**
 * The Duplicates screen on the demo console. Counted rows are the test's own (tests/e2e/stats-seed.ts,
 * a task, source and worker unique to this file), so the demo workload beside them changes nothing.
 */
const sql = postgres(state.databaseUrl, { max: 2, onnotice: () => undefined });
let seed: StatsScenario;
/** Two replays and a payload mismatch on seed.mismatchKey, then 57 replays of another key: 60 attempts. */
const HOT_KEY = "ok-1";
const HOT_REPLAYS = 57;

test.beforeAll(async () => {
  seed = await seedStatsScenario(sql, { failed: 1, succeeded: 3, replays: 2 });
  const ledger = createLedger({ sql, workerId: `${seed.worker}-2`, redis: null });
  for (let i = 0; i < HOT_REPLAYS; i++) {
    const result = await ledger.runOnce({ task: seed.task, key: HOT_KEY, payload: { i: 1 }, source: seed.source }, () => null);
    if (result.outcome !== "replayed") throw new Error(`seed: expected a replay, got ${result.outcome}`);
  }
});

test.afterAll(async () => {
  await sql.end({ timeout: 5 });
});

test("lists every attempt newest first, each linked to its run", async ({ page }, testInfo) => {
  const duplicates = new DuplicatesPage(page);
  await duplicates.goto();
  await expect(duplicates.heading()).toHaveText("Duplicates");
  await expect(duplicates.rows().first()).toBeVisible();
  expect(await duplicates.rows().count()).toBeGreaterThan(10);
  await attachScreenshot(page, testInfo, "duplicates-list");

  const runLink = duplicates.rows().first().getByTestId("run-link");
  const href = await runLink.getAttribute("href");
  expect(href).toMatch(/^\/runs\/\d+$/);
});

test("filters by outcome and task from the form, and pages through a task's attempts", async ({ page }, testInfo) => {
  const duplicates = new DuplicatesPage(page);
  await duplicates.goto();
  await duplicates.setOutcome("payload_mismatch");
  await duplicates.apply((url) => url.searchParams.get("outcome") === "payload_mismatch");
  expect(new Set(await duplicates.rowOutcomes())).toEqual(new Set(["payload_mismatch"]));
  const mine = duplicates.rows().filter({ hasText: seed.task });
  await expect(mine).toHaveCount(1);
  await expect(mine).toContainText("payload mismatch");
  await expect(mine.getByTestId("run-link")).toHaveText(`#${seed.mismatchRunId}· see diff`);
  await attachScreenshot(page, testInfo, "duplicates-payload-mismatch");

  await duplicates.setOutcome("");
  await duplicates.setTask(seed.task);
  await duplicates.apply((url) => url.searchParams.get("task") === seed.task && !url.searchParams.has("outcome"));
  await expect(duplicates.rows()).toHaveCount(50);
  await expect(duplicates.pageCount()).toHaveText("50 attempts on this page");
  await duplicates.pageLink("Next page").click();
  await page.waitForURL((url) => url.searchParams.has("cursor"));
  await expect(duplicates.rows()).toHaveCount(60 - 50);
  await expect(duplicates.rows().filter({ hasText: "payload mismatch" })).toHaveCount(1);
  await expect(duplicates.pageLink("Next page")).toHaveCount(0);
  await duplicates.pageLink("Previous page").click();
  await expect(duplicates.rows()).toHaveCount(50);
  await expect(duplicates.rows().first()).toContainText(HOT_KEY);

  // A task with no attempts at all says so, with a way back.
  await duplicates.goto({ task: `${seed.task}.none` });
  await expect(duplicates.empty()).toContainText("No duplicate attempts match these filters.");
  await attachScreenshot(page, testInfo, "duplicates-empty-filter");
});

test("groups by key, and by source and worker", async ({ page }, testInfo) => {
  const duplicates = new DuplicatesPage(page);
  await duplicates.goto({ task: seed.task });
  await duplicates.tab("By key").click();
  await page.waitForURL((url) => url.searchParams.get("view") === "keys" && url.searchParams.get("task") === seed.task);
  await duplicates.waitForContent();
  await expect(duplicates.keyGroups()).toHaveCount(2);
  await expect(duplicates.keyGroups().first()).toContainText(HOT_KEY);
  await expect(duplicates.keyGroups().first().getByTestId("group-attempts")).toHaveText(String(HOT_REPLAYS));
  await expect(duplicates.keyGroup(seed.mismatchKey).getByTestId("group-attempts")).toHaveText("3");
  await expect(duplicates.scanSummary()).toHaveText("Grouped from all 60 matching attempts.");
  await attachScreenshot(page, testInfo, "duplicates-by-key");

  // A key's count opens the list of that run's attempts.
  await duplicates.keyGroup(seed.mismatchKey).getByTestId("group-attempts").click();
  await page.waitForURL((url) => !url.searchParams.has("view") && url.searchParams.has("run"));
  await expect(duplicates.rows()).toHaveCount(3);

  await duplicates.goto({ view: "sources", source: seed.source });
  await duplicates.waitForContent();
  await expect(duplicates.sourceGroups()).toHaveCount(1);
  await expect(duplicates.sourceGroups().first()).toContainText(seed.source);
  await expect(duplicates.sourceGroups().first()).toContainText("60");
  await expect(duplicates.workerGroups()).toHaveCount(2);
  await expect(duplicates.workerGroups().first()).toContainText(`${seed.worker}-2`);
  await expect(duplicates.workerGroups().first()).toContainText(String(HOT_REPLAYS));

  // The unfiltered grouping on the demo data.
  await duplicates.goto({ view: "sources" });
  await duplicates.waitForContent();
  expect(await duplicates.sourceGroups().count()).toBeGreaterThan(1);
  await attachScreenshot(page, testInfo, "duplicates-by-source");

  // A worker's name narrows the list to it.
  await duplicates.goto({ view: "sources", task: seed.task });
  await duplicates.waitForContent();
  await duplicates.workerGroups().filter({ hasText: `${seed.worker}-2` }).getByRole("link").click();
  await page.waitForURL((url) => url.searchParams.get("worker") === `${seed.worker}-2` && !url.searchParams.has("view"));
  await expect(duplicates.rows()).toHaveCount(50);
});

test("bad parameters get a 400 page that names the parameter", async ({ page }, testInfo) => {
  const duplicates = new DuplicatesPage(page);
  for (const [query, message] of [
    [{ outcome: "maybe" }, "outcome: must be one of replayed, in_progress, payload_mismatch, lock_contended"],
    [{ view: "table" }, "view: must be one of list, keys, sources"],
    [{ from: "yesterday" }, "from: must be a time like 2026-01-31T12:00Z or a span like 15m, 24h, 7d"],
    [{ cursor: "not-a-cursor" }, "cursor: is not a page cursor from this console (open the first page instead)"],
    [{ run: "12abc" }, "run: must be a run id (digits)"],
    [{ from: "1h", to: "2h" }, "from: must be before to"],
  ] as const) {
    const response = await duplicates.goto(query);
    expect(response?.status(), JSON.stringify(query)).toBe(400);
    await expect(page.getByTestId("bad-request-message")).toHaveText(message);
  }
  await attachScreenshot(page, testInfo, "duplicates-400");
});
