import type { Locator, Page } from "@playwright/test";

/** The Duplicates screen: filters, the list / by key / by source views, and the keyset pager. */
export class DuplicatesPage {
  constructor(private readonly page: Page) {}

  async goto(params: Record<string, string> = {}) {
    const query = new URLSearchParams(params).toString();
    return this.page.goto(query ? `/duplicates?${query}` : "/duplicates");
  }

  heading() {
    return this.page.getByRole("heading", { level: 1 });
  }

  form(): Locator {
    return this.page.getByRole("search", { name: "Filter duplicate attempts" });
  }

  field(label: string): Locator {
    return this.form().getByLabel(label, { exact: true });
  }

  async setOutcome(value: "" | "replayed" | "in_progress" | "payload_mismatch" | "lock_contended") {
    await this.field("Outcome").selectOption(value);
  }

  async setTask(task: string) {
    await this.field("Task").fill(task);
  }

  async setSource(source: string) {
    await this.field("Source").fill(source);
  }

  /** Submits the form and waits for the address to show it (the filters live in the URL). */
  async apply(expected: RegExp | ((url: URL) => boolean)) {
    await this.form().getByRole("button", { name: "Apply filters" }).click();
    await this.page.waitForURL(expected);
    await this.waitForContent();
  }

  async waitForContent() {
    await this.page.waitForFunction(() => document.querySelectorAll('[aria-busy="true"]').length === 0);
  }

  tab(name: "All attempts" | "By key" | "By source and worker"): Locator {
    return this.page.getByRole("navigation", { name: "Views" }).getByRole("link", { name, exact: true });
  }

  rows(): Locator {
    return this.page.getByTestId("duplicate-row");
  }

  async rowOutcomes(): Promise<string[]> {
    return this.rows().evaluateAll((rows) => rows.map((row) => row.getAttribute("data-outcome") ?? ""));
  }

  keyGroups(): Locator {
    return this.page.getByTestId("key-group");
  }

  keyGroup(key: string): Locator {
    return this.keyGroups().filter({ hasText: key });
  }

  sourceGroups(): Locator {
    return this.page.getByTestId("source-groups").getByTestId("named-group");
  }

  workerGroups(): Locator {
    return this.page.getByTestId("worker-groups").getByTestId("named-group");
  }

  scanSummary(): Locator {
    return this.page.getByTestId("scan-summary");
  }

  pageLink(name: "Newest" | "Previous page" | "Next page"): Locator {
    return this.page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name });
  }

  pageCount(): Locator {
    return this.page.getByTestId("page-count");
  }

  empty(): Locator {
    return this.page.getByRole("status");
  }
}
