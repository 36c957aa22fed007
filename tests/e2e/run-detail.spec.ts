import getPort from "get-port";
import postgres from "postgres";
import { chromium } from "@playwright/test";
import { createRedis } from "@/lib/redis";
import { startConsole } from "./console-process";
import { attachScreenshot, expect, state, test } from "./fixtures";
import { LoginPage } from "./pages/login.page";
import { RunDetailPage } from "./pages/run-detail.page";
import { RunsPage } from "./pages/runs.page";
import { seedRunsScenario, type RunsScenario } from "./runs-seed";
import playwrightConfig from "../../playwright.config";

/**
 * The Run detail screen: opened from the list, its timeline picture, a failure's stack, the payload
 * diff of a duplicate that reused the key, lineage, the Redis lock, and a console whose Redis is down.
 */
const sql = postgres(state.databaseUrl, { max: 2, onnotice: () => undefined });
const redis = createRedis(state.redisUrl, { name: "idem-e2e-run-detail" });
let seed: RunsScenario;

test.beforeAll(async () => {
  seed = await seedRunsScenario(sql, redis);
});

test.afterAll(async () => {
  redis.disconnect();
  await sql.end({ timeout: 5 });
});

test("opens a run from the list and draws its takeover on the timeline", async ({ page }, testInfo) => {
  const runs = new RunsPage(page);
  await runs.goto({ task: seed.chargeTask });
  await runs.openRun(seed.ids.takeover);
  await page.waitForURL(new RegExp(`/runs/${seed.ids.takeover}$`));

  const run = new RunDetailPage(page);
  await run.loaded();
  await expect(run.heading()).toHaveText(`Run #${seed.ids.takeover}`);
  await expect(run.status()).toHaveText("succeeded");
  await expect(run.key()).toHaveText("invoice-takeover");
  // The place later run operations render into is there, empty for now.
  await expect(run.actionsArea()).toBeAttached();

  // Two leases: A's (token 1), taken over by B (token 2) after it expired; A's late heartbeat refused.
  await expect(run.lanes()).toHaveCount(2);
  await expect(run.lanes().nth(0)).toHaveAttribute("data-fencing-token", "1");
  await expect(run.lanes().nth(1)).toHaveAttribute("data-fencing-token", "2");
  await expect(run.markers("takeover")).toHaveCount(1);
  await expect(run.markers("takeover")).toContainText("takeover #2");
  await expect(run.markers("stale_write_rejected")).toHaveCount(1);
  await expect(run.markers("succeeded")).toHaveCount(1);
  await expect(run.events()).toContainText("takeover");
  await expect(run.events()).toContainText("stale write rejected");
  await expect(run.events()).toContainText("2 heartbeats");
  await attachScreenshot(page, testInfo, "run-detail-takeover-timeline");

  // A two-hour run with 715 heartbeats: collapsed to the latest 500, one lane, readable ticks.
  await run.goto(seed.ids.long);
  await run.loaded();
  await expect(run.lanes()).toHaveCount(1);
  await expect(page.getByText("715 heartbeats; the latest 500 are drawn and listed.")).toBeVisible();
  await expect(run.timeline().locator("text").filter({ hasText: "+30m" })).toHaveCount(1);
  await attachScreenshot(page, testInfo, "run-detail-long-timeline");
});

test("a failed run shows its error and stack as text", async ({ page }, testInfo) => {
  const run = new RunDetailPage(page);
  await run.goto(seed.ids.failed);
  await run.loaded();
  await expect(run.status()).toHaveText("failed");
  await expect(page.getByTestId("run-error")).toContainText("card declined: insufficient funds");
  await expect(run.errorStack()).toContainText("Error: card declined: insufficient funds");
  await expect(run.errorStack()).toContainText("runs-seed.ts");
  await expect(run.markers("failed")).toHaveCount(1);
  await attachScreenshot(page, testInfo, "run-detail-failed-stack");
});

test("a duplicate that reused the key for another payload is diffed against the stored one", async ({ page }, testInfo) => {
  const run = new RunDetailPage(page);
  await run.goto(seed.ids.mismatch);
  await run.loaded();
  await expect(run.duplicateRows()).toHaveCount(2);
  await expect(run.payloadDiff()).toBeVisible();
  await expect(run.diffEntry("$.cents")).toContainText("changed");
  await expect(run.diffEntry("$.cents")).toContainText("1999");
  await expect(run.diffEntry("$.cents")).toContainText("2999");
  await expect(run.diffEntry("$.coupon")).toContainText("only in the duplicate");
  await expect(run.diffEntry("$.lines[0].qty")).toContainText("2");
  // Markup in a payload is shown as text, never parsed.
  await expect(run.diffEntry("$.note")).toContainText('"<img src=x onerror=alert(1)>"');
  await expect(run.payloadDiff().locator("img")).toHaveCount(0);
  await expect(run.payloadDiff().getByTestId("diff-entry")).toHaveCount(4);
  await attachScreenshot(page, testInfo, "run-detail-payload-diff");
});

test("follows lineage from a retry to its parent and back down", async ({ page }, testInfo) => {
  const run = new RunDetailPage(page);
  await run.goto(seed.ids.retry2);
  await run.loaded();
  await expect(run.lineageNode(seed.ids.retry2)).toHaveAttribute("data-run-id", String(seed.ids.retry2));
  await expect(run.lineage().getByTestId("lineage-node")).toHaveCount(4);
  await attachScreenshot(page, testInfo, "run-detail-lineage");

  await run.lineage().getByTestId("lineage-parent").click();
  await page.waitForURL(new RegExp(`/runs/${seed.ids.retry1}$`));
  await run.loaded();
  await expect(run.lineage().getByTestId("lineage-parent")).toHaveText(`#${seed.ids.failed}`);
  await expect(run.lineage().getByTestId("lineage-child")).toHaveText([`#${seed.ids.retry2}`]);

  await run.lineage().getByTestId("lineage-parent").click();
  await page.waitForURL(new RegExp(`/runs/${seed.ids.failed}$`));
  await run.loaded();
  await expect(run.lineage()).toContainText("The first run of its chain.");
  await expect(run.lineage().getByTestId("lineage-child")).toHaveText([`#${seed.ids.retry1}`, `#${seed.ids.retrySibling}`]);

  // A run outside any chain says so.
  await run.goto(seed.ids.takeover);
  await run.loaded();
  await expect(run.lineage().getByTestId("lineage-empty")).toBeVisible();
});

test("shows the key's Redis lock with its TTL and whether it is the run's lease", async ({ page }) => {
  const run = new RunDetailPage(page);
  await run.goto(seed.ids.live);
  await run.loaded();
  const token = (await sql<Array<{ lease_token: string }>>`SELECT lease_token FROM idem.task_runs WHERE id = ${seed.ids.live}`)[0]!.lease_token;
  await expect(run.lockPanel().getByTestId("lock-value")).toHaveText(token);
  await expect(run.lockPanel()).toContainText("matches the run's lease token");
  await expect(run.lockPanel().getByTestId("lock-ttl")).toContainText(/left$/);
  await expect(run.timeline().getByTestId("timeline-lease-expiry")).toContainText("lease expires");

  await run.goto(seed.ids.mismatch);
  await run.loaded();
  await expect(run.lockPanel().getByTestId("lock-state")).toContainText("Not held");
});

test("with Redis down: an amber banner, the runs list still works, and only the lock panel fails", async ({}, testInfo) => {
  test.setTimeout(300_000);
  // A port nothing listens on: this console's Redis is unreachable from the start.
  const deadRedis = `redis://127.0.0.1:${await getPort()}`;
  const second = await startConsole({ databaseUrl: state.databaseUrl, redisUrl: deadRedis, mode: "start" });
  const browser = await chromium.launch(playwrightConfig.use?.launchOptions);
  try {
    // No cookies: inside a test, new contexts take the config's signed-in storageState unless told otherwise.
    const context = await browser.newContext({ baseURL: second.baseURL, viewport: { width: 1440, height: 900 }, storageState: { cookies: [], origins: [] } });
    const page = await context.newPage();
    const login = new LoginPage(page);
    await login.goto("/runs");
    await login.signIn("viewer", "idem-viewer");
    await page.waitForURL(/\/runs$/);

    const banner = page.getByTestId("health-banner");
    await expect(banner).toContainText("Redis is unreachable.");
    await expect(banner).not.toContainText("Postgres is unreachable");

    const runs = new RunsPage(page);
    await runs.goto({ task: seed.chargeTask });
    await expect(runs.rows()).toHaveCount(9);
    await attachScreenshot(page, testInfo, "redis-down-runs");

    const run = new RunDetailPage(page);
    await run.goto(seed.ids.live);
    await run.loaded();
    await expect(run.heading()).toHaveText(`Run #${seed.ids.live}`);
    await expect(run.lanes()).toHaveCount(1);
    await expect(run.lockPanel().getByRole("alert")).toContainText("Redis is unreachable: the lock cannot be read.");
    await attachScreenshot(page, testInfo, "redis-down-run-detail");
    await context.close();
  } finally {
    await browser.close();
    await second.stop();
  }
});
