import type { Locator, Page } from "@playwright/test";

/** The Runs screen: its filter form, the table and the keyset pager. */
export class RunsPage {
  constructor(private readonly page: Page) {}

  async goto(params: Record<string, string> = {}) {
    const query = new URLSearchParams(params).toString();
    return this.page.goto(query ? `/runs?${query}` : "/runs");
  }

  heading() {
    return this.page.getByRole("heading", { level: 1 });
  }

  form(): Locator {
    return this.page.getByRole("search", { name: "Filter runs" });
  }

  field(label: string): Locator {
    return this.form().getByLabel(label, { exact: true });
  }

  async search(text: string) {
    await this.field("Search run id or key").fill(text);
  }

  async setStatus(value: string) {
    await this.field("Status").selectOption(value);
  }

  async setTask(task: string) {
    await this.field("Task").fill(task);
  }

  async setKey(key: string, match: "exact" | "prefix" = "exact") {
    await this.field("Key").fill(key);
    await this.field("Key match").selectOption(match);
  }

  async setWorker(worker: string) {
    await this.field("Worker").fill(worker);
  }

  async setRange(from: string, to = "") {
    await this.form().getByLabel(/from$/).fill(from);
    await this.form().getByLabel(/before$/).fill(to);
  }

  async setSort(sort: "created" | "finished", order: "desc" | "asc" = "desc") {
    await this.field("Sort by").selectOption(sort);
    await this.field("Order").selectOption(order);
  }

  async setPageSize(size: 25 | 50 | 100 | 200) {
    await this.field("Page size").selectOption(String(size));
  }

  async setOnly(option: "Has duplicates" | "Is a retry", checked: boolean) {
    await this.form().getByLabel(option).setChecked(checked);
  }

  /** Submits the form and waits for the address to show it (the filters live in the URL). */
  async apply(expected: RegExp | ((url: URL) => boolean)) {
    await this.form().getByRole("button", { name: "Apply filters" }).click();
    await this.page.waitForURL(expected);
    await this.page.waitForFunction(() => document.querySelectorAll('[aria-busy="true"]').length === 0);
  }

  async preset(span: string) {
    await this.form().getByRole("link", { name: `Last ${span}` }).click();
  }

  rows(): Locator {
    return this.page.getByTestId("run-row");
  }

  async rowIds(): Promise<number[]> {
    return (await this.rows().evaluateAll((rows) => rows.map((row) => Number(row.getAttribute("data-run-id")))));
  }

  row(id: number): Locator {
    return this.page.locator(`[data-testid="run-row"][data-run-id="${id}"]`);
  }

  empty(): Locator {
    return this.page.getByRole("status").filter({ hasText: "No runs match these filters." });
  }

  activeFilters(): Locator {
    return this.page.getByRole("list", { name: "Active filters" });
  }

  nextPage(): Locator {
    return this.page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Next page" });
  }

  previousPage(): Locator {
    return this.page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Previous page" });
  }

  exportCsv(): Locator {
    return this.page.getByTestId("export-csv");
  }

  async openRun(id: number) {
    await this.row(id).getByRole("link", { name: `#${id}` }).click();
  }
}
