import postgres from "postgres";
import { attachScreenshot, expect, signedInAs, state, test } from "./fixtures";
import { e2eLedger, failedRun, uniqueTask } from "./ops-seed";
import { AuditPage } from "./pages/audit.page";
import { RunDetailPage } from "./pages/run-detail.page";

/**
 * The audit log: every operator action with who, what, the target (linked), the state seen, the
 * outcome and why, filtered through the URL; read-only, for viewers too.
 */
const sql = postgres(state.databaseUrl, { max: 2, onnotice: () => undefined });
const ledger = e2eLedger(sql);
const task = uniqueTask("audit_probe");
let parentId: number;

test.beforeAll(async () => {
  // One done and one refused retry, by the operator, through the console.
  parentId = await failedRun(ledger, task, "audit-probe-1", { probe: 1 });
});

test.afterAll(async () => {
  await sql.end({ timeout: 5 });
});

test("lists operator actions with actor, action, linked target, precondition, outcome and reason; filters live in the URL", async ({ page }, testInfo) => {
  const run = new RunDetailPage(page);
  await run.goto(parentId);
  await run.loaded();
  await run.retryButton().click();
  await run.reason().fill("probe for the audit log");
  await run.confirm("Retry under a new key").click();
  await expect(run.dialogStatus()).toContainText("Retry created");
  await run.dismiss().click();
  // The lineage now has a pending retry of this run: a second retry is refused, and audited as such.
  await run.retryButton().click();
  await run.confirm("Retry under a new key").click();
  await expect(run.dialogAlert()).toContainText("still pending or running");

  const audit = new AuditPage(page);
  await audit.goto();
  await expect(audit.heading()).toHaveText("Audit log");
  const rows = audit.rowsFor(`run:${parentId}`);
  await expect(rows).toHaveCount(2);
  const [refused, done] = [rows.nth(0), rows.nth(1)];
  await expect(refused).toHaveAttribute("data-outcome", "refused");
  await expect(refused).toContainText("a retry of run");
  await expect(done).toHaveAttribute("data-outcome", "done");
  await expect(done).toContainText("operator");
  await expect(done).toContainText("run.retry");
  await expect(done).toContainText("probe for the audit log");
  await expect(done).toContainText('"retries":0');
  // Append-only: nothing on the screen edits or deletes an entry.
  await expect(page.getByTestId("audit-table").getByRole("button")).toHaveCount(0);
  await attachScreenshot(page, testInfo, "audit-list");

  await audit.filter({ actor: "operator", action: "run.retry", outcome: "refused" });
  await expect(page).toHaveURL(/actor=operator/);
  await expect(page).toHaveURL(/action=run\.retry/);
  await expect(page).toHaveURL(/outcome=refused/);
  await expect(audit.rowsFor(`run:${parentId}`)).toHaveCount(1);
  for (const outcome of await audit.rows().evaluateAll((els) => els.map((el) => el.getAttribute("data-outcome")))) expect(outcome).toBe("refused");
  await attachScreenshot(page, testInfo, "audit-filtered");

  // The time filter: the last hour has both rows, a window that ended before them has neither.
  await audit.goto();
  await audit.filter({ action: "run.retry", from: "1h" });
  await expect(page).toHaveURL(/from=1h/);
  await expect(audit.rowsFor(`run:${parentId}`)).toHaveCount(2);
  const before = new Date(Date.now() - 2 * 3600_000).toISOString();
  await audit.goto();
  await audit.filter({ action: "run.retry", to: before });
  await expect(page).toHaveURL(/to=/);
  await expect(audit.rowsFor(`run:${parentId}`)).toHaveCount(0);
  await audit.goto();
  await audit.filter({ action: "run.retry", from: new Date(Date.now() + 3600_000).toISOString() });
  await expect(audit.empty()).toContainText("No actions match these filters.");
  await attachScreenshot(page, testInfo, "audit-time-filter-empty");

  // The target links to the run.
  await audit.goto({ actor: "operator", action: "run.retry", outcome: "refused" });
  await audit.rowsFor(`run:${parentId}`).getByRole("link", { name: `run #${parentId}` }).click();
  await page.waitForURL(new RegExp(`/runs/${parentId}$`));

  await audit.goto({ actor: "nobody-by-this-name" });
  await expect(audit.empty()).toContainText("No actions match these filters.");
  await attachScreenshot(page, testInfo, "audit-empty-filter");
});

test("pages with a keyset cursor, newest first", async ({ page }) => {
  const audit = new AuditPage(page);
  await audit.goto({ pageSize: "1" });
  await expect(audit.rows()).toHaveCount(1);
  const newest = Number(await audit.rows().first().getAttribute("data-id"));
  await audit.olderLink().click();
  await expect(page).toHaveURL(/cursor=/);
  await expect(audit.rows()).toHaveCount(1);
  const older = Number(await audit.rows().first().getAttribute("data-id"));
  expect(older).toBeLessThan(newest);
});

test("bad filters are a 400 with the reason", async ({ page }) => {
  const response = await page.goto("/audit?outcome=maybe");
  expect(response?.status()).toBe(400);
  await expect(page.getByText("outcome: must be one of done, refused, error")).toBeVisible();
  const cursor = await page.goto("/audit?cursor=not-a-cursor");
  expect(cursor?.status()).toBe(400);
});

test.describe("as a viewer", () => {
  test.use(signedInAs("viewer"));

  test("a viewer reads the audit log", async ({ page }) => {
    const audit = new AuditPage(page);
    await audit.goto({ action: "run.retry" });
    await expect(audit.heading()).toHaveText("Audit log");
    await expect(audit.rows().first()).toBeVisible();
  });
});
