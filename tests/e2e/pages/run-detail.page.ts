import type { Locator, Page } from "@playwright/test";

/** One run: header, timeline, payloads, duplicates with their diff, lineage and the Redis lock. */
export class RunDetailPage {
  constructor(private readonly page: Page) {}

  async goto(id: number | string) {
    return this.page.goto(`/runs/${id}`);
  }

  /** Every panel streams in on its own; this waits until none is still loading. */
  async loaded() {
    await this.page.waitForFunction(() => document.querySelectorAll('[aria-busy="true"]').length === 0);
  }

  heading() {
    return this.page.getByRole("heading", { level: 1 });
  }

  status(): Locator {
    return this.page.getByTestId("run-status");
  }

  key(): Locator {
    return this.page.getByTestId("run-key");
  }

  actionsArea(): Locator {
    return this.page.getByTestId("run-actions");
  }

  timeline(): Locator {
    return this.page.getByTestId("run-timeline");
  }

  lanes(): Locator {
    return this.timeline().getByTestId("timeline-lane");
  }

  markers(kind: string): Locator {
    return this.timeline().getByTestId(`timeline-marker-${kind}`);
  }

  events(): Locator {
    return this.page.getByTestId("run-events");
  }

  errorStack(): Locator {
    return this.page.getByTestId("run-error-stack");
  }

  payloadDiff(): Locator {
    return this.page.getByTestId("payload-diff");
  }

  diffEntry(path: string): Locator {
    return this.payloadDiff().getByTestId("diff-entry").filter({ has: this.page.getByRole("cell", { name: path, exact: true }) });
  }

  duplicateRows(): Locator {
    return this.page.getByTestId("duplicate-row");
  }

  lineage(): Locator {
    return this.page.getByRole("region", { name: "Lineage" });
  }

  lineageNode(id: number): Locator {
    return this.lineage().locator(`[data-testid="lineage-node"][data-run-id="${id}"]`).first();
  }

  lockPanel(): Locator {
    return this.page.getByRole("region", { name: "Redis lock" });
  }

  notFound(): Locator {
    return this.page.getByTestId("run-not-found");
  }

  // Run operations (components/runs/run-actions.tsx): each opens a confirmation dialog.

  retryButton(): Locator {
    return this.actionsArea().getByRole("button", { name: "Retry…" });
  }

  abandonButton(): Locator {
    return this.actionsArea().getByRole("button", { name: "Mark abandoned…" });
  }

  cancelRunButton(): Locator {
    return this.actionsArea().getByRole("button", { name: "Cancel run…" });
  }

  /** The open confirmation dialog (closed ones are not visible, so not matched). */
  dialog(): Locator {
    return this.page.getByRole("dialog");
  }

  confirm(label: RegExp | string): Locator {
    return this.dialog().getByRole("button", { name: label });
  }

  dismiss(): Locator {
    return this.dialog().getByRole("button", { name: /^(Cancel|Close)$/ });
  }

  reason(): Locator {
    return this.dialog().getByLabel(/^Reason/);
  }

  dialogStatus(): Locator {
    return this.dialog().getByRole("status");
  }

  dialogAlert(): Locator {
    return this.dialog().getByRole("alert");
  }

  editPayload(): Locator {
    return this.dialog().getByLabel("Edit the payload before retrying");
  }

  payloadEditor(): Locator {
    return this.dialog().getByLabel("Payload (JSON)");
  }

  payloadDiffEntries(): Locator {
    return this.dialog().getByTestId("retry-diff-entry");
  }

  childLink(): Locator {
    return this.dialog().getByTestId("retry-child-link");
  }
}
