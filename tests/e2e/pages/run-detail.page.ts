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
}
