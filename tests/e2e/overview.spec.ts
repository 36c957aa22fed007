import type { Browser } from "@playwright/test";
import getPort from "get-port";
import postgres from "postgres";
import { gate } from "../helpers/wait";
import { attachScreenshot, expect, signedInAs, state, test } from "./fixtures";
import { startFreshConsole } from "./fresh-console";
import { LoginPage } from "./pages/login.page";
import { OverviewPage } from "./pages/overview.page";
import { seedStatsScenario, uniqueTag, type StatsScenario } from "./stats-seed";

/**
 * The Overview on the demo console. Numbers the tests check exactly are their own (tests/e2e/stats-seed.ts,
 * task names unique to this file); the demo's own numbers are only checked to be there.
 */
const sql = postgres(state.databaseUrl, { max: 2, onnotice: () => undefined });
let seed: StatsScenario;

test.beforeAll(async () => {
  // More failures than any demo task has in an hour, so the task tops "Top tasks by failures" on 1h.
  seed = await seedStatsScenario(sql, { failed: 40, succeeded: 6, replays: 2 });
});

test.afterAll(async () => {
  await sql.end({ timeout: 5 });
});

test("the full overview on the demo data: counts, chart, duplicates, top tasks and servers", async ({ page }, testInfo) => {
  const overview = new OverviewPage(page);
  await overview.goto();
  await expect(overview.heading()).toHaveText("Overview");
  await overview.waitForPanels();
  await expect(overview.chartBars().first()).toBeVisible();

  expect(await overview.count("all")).toBeGreaterThan(0);
  expect(await overview.count("succeeded")).toBeGreaterThan(0);
  expect(await overview.count("failed")).toBeGreaterThanOrEqual(40);
  expect(await overview.chartBars().count()).toBeGreaterThan(5);
  await expect(overview.outcome("payload_mismatch")).toBeVisible();
  expect(Number((await page.getByTestId("duplicates-total").locator("span").first().innerText()).replace(/,/g, ""))).toBeGreaterThan(0);
  await expect(overview.health("postgres")).toContainText("connected");
  await expect(overview.health("redis")).toContainText("connected");
  await expect(overview.health("postgres")).toContainText(/\d+\.\d ms/);
  // The demo has a crashed worker's run: running, lease expired.
  expect(await overview.count("stuck")).toBeGreaterThan(0);
  await attachScreenshot(page, testInfo, "overview-full");
});

test("the numbers link into the runs and duplicates lists, filtered the same way", async ({ page }, testInfo) => {
  const overview = new OverviewPage(page);
  await overview.goto({ window: "1h" });
  await overview.waitForPanels();

  const row = overview.failingTaskRow(seed.task);
  await expect(row).toBeVisible();
  await expect(row.getByTestId("failed-count")).toHaveText("40");
  await expect(row.getByRole("cell").nth(2)).toHaveText("46");
  await attachScreenshot(page, testInfo, "overview-1h-seeded");

  await row.getByTestId("failed-count").click();
  await page.waitForURL((url) => url.pathname === "/runs");
  const runsUrl = new URL(page.url());
  expect(runsUrl.searchParams.get("status")).toBe("failed");
  expect(runsUrl.searchParams.get("task")).toBe(seed.task);
  const from = runsUrl.searchParams.get("from");
  expect(from).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000Z$/);
  expect(Date.now() - Date.parse(from!)).toBeLessThanOrEqual(3600_000);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Runs");
  await expect(page.getByTestId("run-row")).toHaveCount(40);

  await overview.goto({ window: "1h" });
  await overview.waitForPanels();
  await overview.card("stuck").click();
  await page.waitForURL((url) => url.pathname === "/runs" && url.searchParams.get("status") === "stuck");

  await overview.goto({ window: "1h" });
  await overview.waitForPanels();
  await overview.outcome("payload_mismatch").click();
  await page.waitForURL((url) => url.pathname === "/duplicates" && url.searchParams.get("outcome") === "payload_mismatch");
  await expect(page.getByTestId("duplicate-row").first()).toBeVisible();
  const outcomes = await page.getByTestId("duplicate-row").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-outcome")));
  expect(new Set(outcomes)).toEqual(new Set(["payload_mismatch"]));
  await expect(page.getByTestId("duplicate-row").filter({ hasText: seed.task })).toHaveCount(1);
});

test("switching the window changes the range, the chart's buckets and the URL", async ({ page }, testInfo) => {
  const overview = new OverviewPage(page);
  await overview.goto();
  await overview.waitForPanels();
  await expect(overview.windowLink("24h")).toHaveAttribute("aria-current", "page");
  await expect(overview.description()).toContainText("the last 24 hours");
  await expect(overview.panel("Runs created per hour, by status")).toBeVisible();

  await overview.windowLink("7d").click();
  await page.waitForURL(/\?window=7d$/);
  await overview.waitForPanels();
  await expect(overview.description()).toContainText("the last 7 days");
  await expect(overview.windowLink("7d")).toHaveAttribute("aria-current", "page");
  await expect(overview.chartBars().first()).toBeVisible();
  const week = await overview.count("all");
  await attachScreenshot(page, testInfo, "overview-7d");

  await overview.windowLink("1h").click();
  await page.waitForURL(/\?window=1h$/);
  await overview.waitForPanels();
  await expect(overview.panel("Runs created per minute, by status")).toBeVisible();
  await expect(overview.chartBars().first()).toBeVisible();
  expect(await overview.count("all")).toBeLessThanOrEqual(week);
  await attachScreenshot(page, testInfo, "overview-1h");

  await overview.windowLink("30d").click();
  await page.waitForURL(/\?window=30d$/);
  await overview.waitForPanels();
  await expect(overview.panel("Runs created per 6 hours, by status")).toBeVisible();
  expect(await overview.count("all")).toBeGreaterThanOrEqual(week);
});

test("auto-refresh brings in new runs without a reload, can be switched off, and pauses while the tab is hidden", async ({ page }, testInfo) => {
  const overview = new OverviewPage(page);
  await overview.goto({ window: "1h", refresh: "5" });
  await overview.waitForPanels();
  await expect(overview.refreshSwitch()).toHaveAttribute("aria-checked", "true");
  await expect(overview.refreshInterval()).toHaveValue("5");
  await expect(overview.refreshStatus()).toHaveText(/^(Updated|Refreshing)/);

  // New failures under a new task, written after the page rendered: they appear by themselves.
  const late = await seedStatsScenario(sql, { failed: 45, succeeded: 1, tag: uniqueTag("e2e_late") });
  await expect(overview.failingTaskRow(late.task)).toBeVisible({ timeout: 20_000 });
  expect(new URL(page.url()).searchParams.get("refresh")).toBe("5");

  await overview.setTabHidden(true);
  await expect(overview.refreshStatus()).toHaveText("Paused while the tab is hidden");
  await attachScreenshot(page, testInfo, "overview-refresh-paused");
  await overview.setTabHidden(false);
  await expect(overview.refreshStatus()).toHaveText(/^(Updated|Refreshing)/);

  await overview.refreshSwitch().click();
  await page.waitForURL((url) => url.searchParams.get("refresh") === "off");
  await expect(overview.refreshSwitch()).toHaveAttribute("aria-checked", "false");
  await expect(overview.refreshStatus()).toHaveText(/^Auto-refresh off/);
  await attachScreenshot(page, testInfo, "overview-refresh-off");

  // Back on, at the interval it had; then another interval from the menu.
  await overview.refreshSwitch().click();
  await page.waitForURL((url) => url.searchParams.get("refresh") === "5");
  await overview.refreshInterval().selectOption("30");
  await page.waitForURL((url) => url.searchParams.get("refresh") === "30");
  await expect(overview.refreshSwitch()).toHaveAttribute("aria-checked", "true");
  // The window was kept through all of it.
  expect(new URL(page.url()).searchParams.get("window")).toBe("1h");
});

test("bad parameters get a 400 page that names the parameter", async ({ page }, testInfo) => {
  const overview = new OverviewPage(page);
  for (const [query, message] of [
    [{ window: "2h" }, "window: must be one of 1h, 6h, 24h, 7d, 30d"],
    [{ refresh: "7" }, "refresh: must be one of off, 5, 15, 30, 60 (seconds)"],
  ] as const) {
    const response = await overview.goto(query);
    expect(response?.status()).toBe(400);
    await expect(page.getByTestId("bad-request-message")).toHaveText(message);
  }
  await attachScreenshot(page, testInfo, "overview-400");
});

test.describe("on a console of its own", () => {
  test.use(signedInAs("anonymous"));

  async function signIn(browser: Browser, baseURL: string, viewer: { username: string; password: string }) {
    const context = await browser.newContext({ baseURL });
    const page = await context.newPage();
    const login = new LoginPage(page);
    await login.goto();
    await login.signIn(viewer.username, viewer.password);
    await page.waitForURL((url) => url.pathname === "/");
    return { context, page };
  }

  test("a fresh database: what to do first, then the first runs, loading skeletons and a panel that cannot read", async ({ browser }, testInfo) => {
    const viewer = { username: "fresh-viewer", password: "fresh-viewer-password" };
    const fresh = await startFreshConsole(viewer);
    const freshSql = postgres(fresh.databaseUrl, { max: 2, onnotice: () => undefined });
    try {
      const { context, page } = await signIn(browser, fresh.baseURL, viewer);
      const overview = new OverviewPage(page);
      await expect(overview.emptyState()).toBeVisible();
      await expect(overview.emptyState()).toContainText("No runs yet");
      await expect(overview.emptyState()).toContainText("createLedger");
      await expect(overview.emptyState()).toContainText("npm run demo");
      await expect(overview.emptyState()).toContainText("Using the SDK in a worker");
      await expect(overview.card("all")).toHaveCount(0);
      await expect(overview.health("postgres")).toContainText("connected");
      await attachScreenshot(page, testInfo, "overview-empty");

      // The first runs show up by themselves: the empty page keeps refreshing.
      await overview.refreshInterval().selectOption("5");
      await page.waitForURL((url) => url.searchParams.get("refresh") === "5");
      await seedStatsScenario(freshSql, { failed: 1, succeeded: 2 });
      await expect(overview.card("all").getByTestId("count")).toHaveText("3", { timeout: 20_000 });
      // The console folds the rollup's journal by itself (instrumentation.ts), every few seconds.
      await expect
        .poll(async () => Number((await freshSql<Array<{ n: string }>>`SELECT count(*)::text AS n FROM idem.run_stats_journal`)[0]?.n), { timeout: 20_000 })
        .toBe(0);
      const [folded] = await freshSql<Array<{ n: string }>>`SELECT sum(runs)::text AS n FROM idem.run_stats_hour`;
      expect(Number(folded?.n)).toBe(3);

      // Loading: while something holds the hour rollup locked, the panels that read it wait in their
      // skeletons and the others stream in.
      const blocker = postgres(fresh.databaseUrl, { max: 1, onnotice: () => undefined });
      const release = gate();
      const locked = gate();
      const holding = blocker.begin(async (tx) => {
        await tx`LOCK TABLE idem.run_stats_hour IN ACCESS EXCLUSIVE MODE`;
        locked.open();
        await release.opened;
      });
      try {
        await locked.opened;
        await page.goto("/?refresh=off", { waitUntil: "commit" });
        await expect(page.getByRole("region", { name: "Runs by status (loading)" })).toBeVisible();
        await expect(page.getByRole("region", { name: "Runs created per hour, by status (loading)" })).toBeVisible();
        await expect(overview.outcome("payload_mismatch")).toBeVisible();
        await attachScreenshot(page, testInfo, "overview-loading");
      } finally {
        release.open();
        await holding;
        await blocker.end({ timeout: 5 });
      }
      await expect(overview.card("all").getByTestId("count")).toHaveText("3");

      // A panel whose read fails says so inside itself; the rest of the page still works.
      await freshSql`ALTER TABLE idem.run_stats_hour RENAME TO run_stats_hour_away`;
      try {
        await page.goto("/?refresh=off");
        await expect(page.getByText("Could not read the run counts.")).toBeVisible();
        await expect(overview.panel("Runs created per hour, by status")).toContainText("Could not read the runs chart.");
        await expect(overview.panel("Top tasks by failures")).toContainText("Could not read the failing tasks.");
        await expect(overview.outcome("payload_mismatch")).toContainText("1");
        await expect(overview.health("postgres")).toContainText("connected");
        await attachScreenshot(page, testInfo, "overview-panel-errors");
      } finally {
        await freshSql`ALTER TABLE idem.run_stats_hour_away RENAME TO run_stats_hour`;
      }
      await context.close();
    } finally {
      await freshSql.end({ timeout: 5 });
      await fresh.stop();
    }
  });

  test("with Redis down the overview and duplicates still read the ledger, and say Redis is unreachable", async ({ browser }, testInfo) => {
    const viewer = { username: "no-redis-viewer", password: "no-redis-viewer-password" };
    // A port nothing listens on.
    const fresh = await startFreshConsole(viewer, { redisUrl: `redis://127.0.0.1:${await getPort()}` });
    const freshSql = postgres(fresh.databaseUrl, { max: 1, onnotice: () => undefined });
    try {
      await seedStatsScenario(freshSql, { failed: 2, succeeded: 3, replays: 2 });
      const { context, page } = await signIn(browser, fresh.baseURL, viewer);
      const overview = new OverviewPage(page);
      await overview.waitForPanels();
      await expect(page.getByTestId("health-banner")).toContainText("Redis is unreachable.");
      await expect(overview.health("redis")).toContainText("unreachable");
      await expect(overview.health("postgres")).toContainText("connected");
      await expect(overview.card("all").getByTestId("count")).toHaveText("5");
      await expect(overview.card("failed").getByTestId("count")).toHaveText("2");
      await expect(overview.chartBars().first()).toBeVisible();
      await attachScreenshot(page, testInfo, "overview-redis-down");

      await page.goto("/duplicates");
      await expect(page.getByTestId("duplicate-row")).toHaveCount(3);
      await context.close();
    } finally {
      await freshSql.end({ timeout: 5 });
      await fresh.stop();
    }
  });
});
