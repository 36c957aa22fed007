import postgres from "postgres";
import type { Worker } from "@/lib/ledger";
import { attachScreenshot, expect, signedInAs, state, test } from "./fixtures";
import { captureAction, clientFor, refusal, replayAction } from "./action-replay";
import { childrenOf, e2eLedger, failedRun, pendingRun, startTestWorker, stuckRun, uniqueTask } from "./ops-seed";
import { AuditPage } from "./pages/audit.page";
import { RunDetailPage } from "./pages/run-detail.page";
import { RunsPage } from "./pages/runs.page";

/**
 * Run operations from the run detail: retry under a new key (confirmation, the child running and
 * succeeding, lineage, audit, double submissions), abandon and cancel; and the runs list's bulk retry.
 */
const sql = postgres(state.databaseUrl, { max: 4, onnotice: () => undefined });
const ledger = e2eLedger(sql);
// The task the browser retries; a worker for it runs in this process (handlers that always succeed),
// so what the test watches does not depend on the demo's random faults.
const task = uniqueTask("send_receipt");
let worker: Worker;

test.beforeAll(async () => {
  worker = await startTestWorker(ledger, task);
});

test.afterAll(async () => {
  await worker.stop();
  await sql.end({ timeout: 5 });
});

/** The audit rows about a run, counted by outcome. */
async function auditOf(runId: number) {
  return sql<{ outcome: string; n: number }[]>`
    SELECT outcome, count(*)::int AS n FROM idem.operator_actions
    WHERE target_type = 'run' AND target_id = ${String(runId)} GROUP BY outcome ORDER BY outcome`;
}

/** Reloads until the run shows `status`: the detail page does not refresh itself. */
async function reloadUntilStatus(run: RunDetailPage, page: import("@playwright/test").Page, status: string) {
  await expect(async () => {
    await page.reload();
    await expect(run.status()).toHaveText(status, { timeout: 1000 });
  }).toPass({ timeout: 20_000 });
}

test("retry a failed run from its detail page: the child runs and succeeds, and both show in the lineage and the audit log", async ({ page }, testInfo) => {
  const parentId = await failedRun(ledger, task, "receipt-2026-0042", { order: 42, to: "ana@example.com", template: "receipt" });
  const run = new RunDetailPage(page);
  await run.goto(parentId);
  await run.loaded();
  await expect(run.status()).toHaveText("failed");

  // The confirmation is required: cancelling it creates nothing.
  await run.retryButton().click();
  await expect(run.dialog()).toBeVisible();
  await expect(run.dialog()).toContainText("receipt-2026-0042#retry-1");
  await expect(run.dialog()).toContainText("with no retries in its lineage");
  await attachScreenshot(page, testInfo, "retry-dialog");
  await run.dismiss().click();
  await expect(run.dialog()).toBeHidden();
  expect(await childrenOf(sql, parentId)).toEqual([]);

  await run.retryButton().click();
  await run.reason().fill("SMTP relay capacity raised");
  await run.confirm("Retry under a new key").click();
  await expect(run.dialogStatus()).toContainText(/Retry created: run #\d+ \(receipt-2026-0042#retry-1\) is pending/);
  const [child] = await childrenOf(sql, parentId);
  expect(child?.key).toBe("receipt-2026-0042#retry-1");
  await attachScreenshot(page, testInfo, "retry-done");

  // The child, executed by the worker for this task.
  await run.childLink().click();
  await page.waitForURL(new RegExp(`/runs/${child!.id}$`));
  await reloadUntilStatus(run, page, "succeeded");
  await run.loaded();
  await expect(run.lineageNode(parentId)).toContainText("failed");
  await expect(run.lineageNode(child!.id)).toContainText("succeeded");
  await expect(run.lineage().getByTestId("lineage-parent")).toHaveText(`#${parentId}`);
  await attachScreenshot(page, testInfo, "retry-child-succeeded");
  await run.lineage().screenshot({ path: testInfo.outputPath("retry-lineage.png") });
  await testInfo.attach("retry-lineage", { path: testInfo.outputPath("retry-lineage.png"), contentType: "image/png" });

  // The parent's lineage lists the child too, and the parent can no longer be retried.
  await run.goto(parentId);
  await run.loaded();
  await expect(run.lineage().getByTestId("lineage-child")).toHaveText(`#${child!.id}`);
  await run.retryButton().click();
  await run.confirm("Retry under a new key").click();
  await expect(run.dialogAlert()).toContainText(`a retry of run #${parentId} already succeeded (run #${child!.id})`);
  expect(await childrenOf(sql, parentId)).toHaveLength(1);

  // The audit log has both decisions: done, then refused with the reason why.
  const audit = new AuditPage(page);
  await audit.goto({ action: "run.retry" });
  const rows = audit.rowsFor(`run:${parentId}`, "run.retry");
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toHaveAttribute("data-outcome", "refused");
  await expect(rows.nth(0)).toContainText("already succeeded");
  await expect(rows.nth(1)).toHaveAttribute("data-outcome", "done");
  await expect(rows.nth(1)).toContainText("SMTP relay capacity raised");
  await expect(rows.nth(1)).toContainText('"status":"failed"');
  await expect(rows.nth(1).getByRole("link", { name: `run #${parentId}` })).toHaveAttribute("href", `/runs/${parentId}`);
  // ... and the child it created, linked from the same row.
  const created = rows.nth(1).getByTestId("audit-created").getByRole("link", { name: `run #${child!.id}` });
  await expect(created).toHaveAttribute("href", `/runs/${child!.id}`);
  await attachScreenshot(page, testInfo, "retry-audit-log");
  await created.click();
  await page.waitForURL(new RegExp(`/runs/${child!.id}$`));
  await expect(run.key()).toHaveText("receipt-2026-0042#retry-1");
});

test("a double click on confirm creates one child, and a second tab on the same view is told it was already retried", async ({ page, context }, testInfo) => {
  const parentId = await failedRun(ledger, task, "receipt-2026-0043", { order: 43 });
  const run = new RunDetailPage(page);
  const otherTab = await context.newPage();
  const other = new RunDetailPage(otherTab);
  await Promise.all([run.goto(parentId), other.goto(parentId)]);
  await run.loaded();

  // A double click in the browser: whatever reaches the server, one child and one "done" row.
  await run.retryButton().click();
  await run.confirm("Retry under a new key").dblclick();
  await expect(run.dialogStatus()).toContainText(/Retry created|Already submitted/);
  expect(await childrenOf(sql, parentId)).toHaveLength(1);
  expect(await auditOf(parentId)).toEqual([{ outcome: "done", n: 1 }]);

  // The other tab still shows the run with no retries: the same view derives the same key.
  await other.loaded();
  await other.retryButton().click();
  await other.confirm("Retry under a new key").click();
  const [child] = await childrenOf(sql, parentId);
  await expect(other.dialogAlert()).toContainText(`Already retried as run #${child!.id} (receipt-2026-0043#retry-1)`);
  await attachScreenshot(otherTab, testInfo, "retry-second-tab-refused");
  expect(await childrenOf(sql, parentId)).toHaveLength(1);
  await otherTab.close();
});

test("the same retry submission reaching the server twice at once creates one child; both answers link it", async ({ page }) => {
  const parentId = await failedRun(ledger, task, "receipt-2026-0048", { order: 48 });
  const run = new RunDetailPage(page);
  await run.goto(parentId);
  await run.loaded();
  await run.retryButton().click();
  // The browser's submission, captured (and aborted) on its way out, then sent twice concurrently:
  // the two POSTs a double click makes when nothing in the page stops the second one.
  const action = await captureAction(page, () => run.confirm("Retry under a new key").click());
  expect(await childrenOf(sql, parentId)).toEqual([]);
  const operator = await clientFor("operator");
  try {
    const [first, second] = await Promise.all([replayAction(operator, action), replayAction(operator, action)]);
    const children = await childrenOf(sql, parentId);
    expect(children).toHaveLength(1);
    const data = { childRunId: children[0]!.id, childKey: "receipt-2026-0048#retry-1" };
    const answers = [first.state, second.state];
    for (const answer of answers) expect(answer).toMatchObject({ ok: true, data });
    const messages = answers.map((answer) => (answer?.ok ? answer.message : "")).sort();
    expect(messages[0]).toMatch(/^Already submitted: Retry created: run #\d+ \(receipt-2026-0048#retry-1\) is pending\.$/);
    expect(messages[1]).toMatch(/^Retry created: run #\d+/);
    expect(await auditOf(parentId)).toEqual([{ outcome: "done", n: 1 }]);

    // The same form under another request id (a second tab's submission) is a second request: refused.
    const tab = await replayAction(operator, action, { fields: { requestId: "another-tab-0048" } });
    expect(refusal(tab)).toMatch(new RegExp(`^Already retried as run #${children[0]!.id} \\(receipt-2026-0048#retry-1\\), now (pending|running|succeeded)\\.$`));
    expect(await childrenOf(sql, parentId)).toHaveLength(1);
    expect(await auditOf(parentId)).toEqual([
      { outcome: "done", n: 1 },
      { outcome: "refused", n: 1 },
    ]);
  } finally {
    await operator.dispose();
  }
});

test("an attempt refused by validation is audited as refused on its run, and the corrected submission still goes through", async ({ page }) => {
  const parentId = await failedRun(ledger, task, "receipt-2026-0049", { order: 49 });
  const run = new RunDetailPage(page);
  await run.goto(parentId);
  await run.loaded();
  await run.retryButton().click();
  await run.reason().fill("relay back");
  const action = await captureAction(page, () => run.confirm("Retry under a new key").click());
  const operator = await clientFor("operator");
  try {
    // The same dialog's request with a seen state the page never sends.
    const invalid = await replayAction(operator, action, { fields: { seenRetries: "-3" } });
    expect(refusal(invalid)).toMatch(/^seenRetries: /);
    expect(await childrenOf(sql, parentId)).toEqual([]);
    const rows = await sql<{ outcome: string; request_id: string; detail: { why?: string; field?: string } }[]>`
      SELECT outcome, request_id, outcome_detail AS detail FROM idem.operator_actions WHERE target_type = 'run' AND target_id = ${String(parentId)} ORDER BY id`;
    expect(rows).toEqual([{ outcome: "refused", request_id: expect.stringMatching(/\/invalid$/), detail: expect.objectContaining({ why: "invalid", field: "seenRetries" }) }]);

    // The corrected submission (the same request id) is not answered with that refusal: it retries.
    const corrected = await replayAction(operator, action);
    expect(corrected.state).toMatchObject({ ok: true, message: expect.stringMatching(/^Retry created/) });
    expect(await childrenOf(sql, parentId)).toHaveLength(1);

    const audit = new AuditPage(page);
    await audit.goto({ action: "run.retry" });
    const onRun = audit.rowsFor(`run:${parentId}`, "run.retry");
    await expect(onRun).toHaveCount(2);
    await expect(onRun.nth(1)).toHaveAttribute("data-outcome", "refused");
    await expect(onRun.nth(1)).toContainText("seenRetries");
    await expect(onRun.nth(0)).toHaveAttribute("data-outcome", "done");
  } finally {
    await operator.dispose();
  }
});

test("an edited payload is checked as JSON and its difference shown before confirming", async ({ page }, testInfo) => {
  const payload = { order: 44, to: "ana@example.com", template: "receipt", locale: "en" };
  const parentId = await failedRun(ledger, task, "receipt-2026-0044", payload);
  const run = new RunDetailPage(page);
  await run.goto(parentId);
  await run.loaded();
  await run.retryButton().click();
  await run.editPayload().check();

  // Not JSON: said so, and the browser will not submit it.
  await run.payloadEditor().fill('{ "order": 44, to: }');
  await expect(run.dialog().getByRole("alert")).toContainText("Not valid JSON");
  await run.confirm("Retry under a new key").click();
  await expect(run.dialog()).toBeVisible();
  expect(await childrenOf(sql, parentId)).toEqual([]);

  // The cc carries a right-to-left override: the diff shows it escaped, as the run's own diff does.
  await run.payloadEditor().fill(JSON.stringify({ ...payload, to: "ana.silva@example.com", locale: undefined, cc: "billing\u202E@example.com" }, null, 2));
  await expect(run.payloadDiffEntries()).toHaveCount(3);
  await expect(run.dialog().getByTestId("retry-payload-diff")).toContainText("3 changes from the failed run's payload");
  await expect(run.payloadDiffEntries().filter({ hasText: "cc" })).toContainText('"billing⟨RLO⟩@example.com"');
  await run.reason().fill("customer corrected the address");
  await attachScreenshot(page, testInfo, "retry-dialog-edited-payload");
  await run.confirm("Retry under a new key").click();
  await expect(run.dialogStatus()).toContainText("with the edited payload");
  const [child] = await childrenOf(sql, parentId);
  expect(child?.payload).toEqual({ order: 44, to: "ana.silva@example.com", template: "receipt", cc: "billing\u202E@example.com" });
});

test("a run that changed since the page loaded is refused, and nothing is created", async ({ page }, testInfo) => {
  const parentId = await failedRun(ledger, task, "receipt-2026-0045", { order: 45 });
  const run = new RunDetailPage(page);
  await run.goto(parentId);
  await run.loaded();
  await run.retryButton().click();
  // While the dialog is open, the run changes under the operator (a late correction of the row).
  await sql`UPDATE idem.task_runs SET updated_at = now() WHERE id = ${parentId}`;
  await run.confirm("Retry under a new key").click();
  await expect(run.dialogAlert()).toContainText(`Refused: run #${parentId} changed since you loaded the page`);
  await attachScreenshot(page, testInfo, "retry-refused-stale");
  expect(await childrenOf(sql, parentId)).toEqual([]);
});

test("the demo's worker executes a retry of a demo task made in the console", async ({ page }) => {
  // send_email is one of the demo's tasks; its executor (scripts/demo/executor.ts) runs the retry.
  const parentId = await failedRun(ledger, "send_email", `e2e-${Date.now()}-welcome`, { to: "lena.novak@example.org", template: "welcome" });
  const run = new RunDetailPage(page);
  await run.goto(parentId);
  await run.loaded();
  await run.retryButton().click();
  await run.confirm("Retry under a new key").click();
  await expect(run.dialogStatus()).toContainText("Retry created");
  const [child] = await childrenOf(sql, parentId);
  await run.childLink().click();
  // It succeeds or fails at the demo's usual fault rate; either way it ran, on the demo's executor.
  await expect(async () => {
    await page.reload();
    await expect(run.status()).toHaveText(/succeeded|failed/, { timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  const [ran] = await childrenOf(sql, parentId);
  expect(ran).toMatchObject({ id: child!.id, lease_owner: "executor-2e6a" });
});

test("mark a stuck run abandoned (after a confirmation), then retry it", async ({ page }, testInfo) => {
  const stuckId = await stuckRun(ledger, task, "receipt-2026-0046");
  const run = new RunDetailPage(page);
  await run.goto(stuckId);
  await run.loaded();
  await expect(run.status()).toHaveText("running · lease expired");

  await run.abandonButton().click();
  await expect(run.dialog()).toContainText("Marking it abandoned ends it as failed");
  await attachScreenshot(page, testInfo, "abandon-dialog");
  await run.dismiss().click();
  const [still] = await sql<{ status: string }[]>`SELECT status::text FROM idem.task_runs WHERE id = ${stuckId}`;
  expect(still!.status).toBe("running");

  await run.abandonButton().click();
  await run.reason().fill("host i-0abc123 terminated by the autoscaler");
  await run.confirm("Mark abandoned").click();
  // The page re-renders with the run failed, so the dialog that asked is gone; the toast says what happened.
  await expect(page.getByTestId("toaster")).toContainText(`Run #${stuckId} marked abandoned`);
  await expect(run.status()).toHaveText("failed");
  await expect(page.getByText("Marked abandoned by operator: host i-0abc123 terminated by the autoscaler").first()).toBeVisible();
  await attachScreenshot(page, testInfo, "run-abandoned");

  await run.retryButton().click();
  await expect(run.dialog()).toContainText("keeps its abandonment");
  await run.confirm("Retry under a new key").click();
  await expect(run.dialogStatus()).toContainText("receipt-2026-0046#retry-1");
});

test("cancel a pending run, after a confirmation that asks why", async ({ page }, testInfo) => {
  const pendingTask = uniqueTask("nightly_export");
  const pendingId = await pendingRun(ledger, pendingTask, "export-2026-11-23");
  const run = new RunDetailPage(page);
  await run.goto(pendingId);
  await run.loaded();
  await expect(run.status()).toHaveText("pending");

  await run.cancelRunButton().click();
  await attachScreenshot(page, testInfo, "cancel-dialog");
  await run.dismiss().click();
  await expect(run.dialog()).toBeHidden();
  expect((await sql<{ status: string }[]>`SELECT status::text FROM idem.task_runs WHERE id = ${pendingId}`)[0]!.status).toBe("pending");

  await run.cancelRunButton().click();
  // The reason is required: the browser keeps the dialog open without one.
  await run.confirm("Cancel the run").click();
  await expect(run.dialog()).toBeVisible();
  await run.reason().fill("export superseded by the manual run");
  await run.confirm("Cancel the run").click();
  await expect(page.getByTestId("toaster")).toContainText(`Run #${pendingId} cancelled`);
  await expect(run.status()).toHaveText("cancelled");
  await expect(run.dialog()).toBeHidden();
});

test("bulk retry: the operator ticks a subset of the page's failed runs, counted and listed before confirming", async ({ page }, testInfo) => {
  const bulkTask = uniqueTask("sync_contact");
  const ids = [];
  for (let i = 1; i <= 4; i++) ids.push(await failedRun(ledger, bulkTask, `contact-${i}`, { contact: i }));
  // A run that did not fail is on the same page but not offered.
  await ledger.runOnce({ task: bulkTask, key: "contact-ok", payload: { contact: 0 } }, () => "synced");
  const bulkWorker = await startTestWorker(ledger, bulkTask);
  try {
    const runs = new RunsPage(page);
    // No status filter: any page with failed runs offers them.
    await runs.goto({ task: bulkTask });
    const open = page.getByRole("button", { name: "Retry 4 failed runs…" });
    await open.click();
    const dialog = page.getByRole("dialog");
    await expect(dialog.getByTestId("bulk-retry-row")).toHaveCount(4);
    await expect(dialog.getByTestId("bulk-retry-count")).toHaveText("4 of 4 selected");
    await attachScreenshot(page, testInfo, "bulk-retry-dialog");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    for (const id of ids) expect(await childrenOf(sql, id)).toEqual([]);

    await open.click();
    // Untick the second and fourth: only the first and third are retried.
    await dialog.getByRole("checkbox", { name: `Retry run #${ids[1]}` }).uncheck();
    await dialog.getByRole("checkbox", { name: `Retry run #${ids[3]}` }).uncheck();
    await expect(dialog.getByTestId("bulk-retry-count")).toHaveText("2 of 4 selected");
    // "Select all" ticks every run again; unticked, none: the server refuses the empty selection and nothing happens.
    await dialog.getByRole("checkbox", { name: "Select all" }).check();
    await expect(dialog.getByTestId("bulk-retry-count")).toHaveText("4 of 4 selected");
    await dialog.getByRole("checkbox", { name: "Select all" }).uncheck();
    await expect(dialog.getByTestId("bulk-retry-count")).toContainText("0 of 4 selected");
    await dialog.getByLabel(/^Reason/).fill("CRM API quota reset");
    await dialog.getByRole("button", { name: "Retry the selected runs" }).click();
    await expect(dialog.getByRole("alert")).toContainText("select at least one run");
    for (const id of ids) expect(await childrenOf(sql, id)).toEqual([]);
    // The selection is kept after the refusal (the form's reset does not undo it).
    await expect(dialog.getByTestId("bulk-retry-count")).toContainText("0 of 4 selected");
    await dialog.getByRole("checkbox", { name: `Retry run #${ids[0]}` }).check();
    await dialog.getByRole("checkbox", { name: `Retry run #${ids[2]}` }).check();
    await expect(dialog.getByTestId("bulk-retry-count")).toHaveText("2 of 4 selected");
    await dialog.getByLabel(/^Reason/).fill("CRM API quota reset");
    await attachScreenshot(page, testInfo, "bulk-retry-subset");
    await dialog.getByRole("button", { name: "Retry the selected runs" }).click();
    await expect(dialog.getByRole("status")).toContainText("2 selected: 2 retried.");
    await expect(dialog.getByTestId("bulk-retry-results").getByRole("listitem")).toHaveCount(2);
    await attachScreenshot(page, testInfo, "bulk-retry-done");
    expect((await childrenOf(sql, ids[0]!)).map((c) => c.key)).toEqual(["contact-1#retry-1"]);
    expect((await childrenOf(sql, ids[2]!)).map((c) => c.key)).toEqual(["contact-3#retry-1"]);
    expect(await childrenOf(sql, ids[1]!)).toEqual([]);
    expect(await childrenOf(sql, ids[3]!)).toEqual([]);

    // The audit log: one row for the request (the frozen selection and the tally) and one per run, each linking its child.
    const audit = new AuditPage(page);
    await audit.goto({ action: "run.retry_bulk", outcome: "done" });
    const request = audit.rows().first();
    await expect(request).toContainText("2 selected: 2 retried.");
    await expect(request).toContainText("CRM API quota reset");
    await expect(request).toContainText(`"id":${ids[0]}`);
    await expect(request).toContainText(`"id":${ids[2]}`);
    await expect(request).not.toContainText(`"id":${ids[1]}`);
    await audit.goto({ action: "run.retry" });
    for (const id of [ids[0]!, ids[2]!]) {
      const row = audit.rowsFor(`run:${id}`, "run.retry");
      await expect(row).toHaveCount(1);
      await expect(row).toHaveAttribute("data-outcome", "done");
      await expect(row).toContainText('"bulk":');
      const [child] = await childrenOf(sql, id);
      await expect(row.getByTestId("audit-created").getByRole("link")).toHaveAttribute("href", `/runs/${child!.id}`);
    }
    await expect(audit.rowsFor(`run:${ids[1]}`)).toHaveCount(0);
  } finally {
    await bulkWorker.stop();
  }
});

test.describe("as a viewer", () => {
  test.use(signedInAs("viewer"));

  test("a viewer sees a failed run but no operations", async ({ page }) => {
    const parentId = await failedRun(ledger, task, "receipt-2026-0047", { order: 47 });
    const run = new RunDetailPage(page);
    await run.goto(parentId);
    await run.loaded();
    await expect(run.status()).toHaveText("failed");
    await expect(run.actionsArea().getByRole("button")).toHaveCount(0);
  });
});
