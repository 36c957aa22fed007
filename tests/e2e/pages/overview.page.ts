import type { Locator, Page } from "@playwright/test";

export type StatusCard = "all" | "succeeded" | "failed" | "running" | "pending" | "cancelled" | "stuck";

/** The Overview screen: status cards, the runs chart, the duplicate and top-task panels, servers, auto-refresh. */
export class OverviewPage {
  constructor(private readonly page: Page) {}

  async goto(params: Record<string, string> = {}) {
    const query = new URLSearchParams(params).toString();
    return this.page.goto(query ? `/?${query}` : "/");
  }

  heading() {
    return this.page.getByRole("heading", { level: 1 });
  }

  description() {
    return this.heading().locator("xpath=following-sibling::div[1]");
  }

  /** Resolves when every panel has streamed in; the pointer is moved off the chart so no tooltip covers it. */
  async waitForPanels() {
    await this.page.waitForFunction(() => document.querySelectorAll('[aria-busy="true"]').length === 0);
    await this.page.mouse.move(0, 0);
  }

  card(key: StatusCard): Locator {
    return this.page.getByTestId(`status-card-${key}`);
  }

  async count(key: StatusCard): Promise<number> {
    return Number((await this.card(key).getByTestId("count").innerText()).replace(/,/g, ""));
  }

  chart(): Locator {
    return this.page.getByTestId("runs-chart");
  }

  chartBars(): Locator {
    return this.chart().locator(".recharts-bar-rectangle path");
  }

  panel(title: string): Locator {
    return this.page.getByRole("region", { name: title, exact: true });
  }

  topFailingTasks(): Locator {
    return this.page.getByTestId("top-failing-tasks");
  }

  topDuplicatedTasks(): Locator {
    return this.page.getByTestId("top-duplicated-tasks");
  }

  failingTaskRow(task: string): Locator {
    return this.topFailingTasks().getByRole("row").filter({ has: this.page.getByRole("link", { name: task, exact: true }) });
  }

  outcome(outcome: "replayed" | "in_progress" | "payload_mismatch" | "lock_contended"): Locator {
    return this.page.getByTestId(`outcome-${outcome}`);
  }

  windowLink(window: string): Locator {
    return this.page.getByRole("navigation", { name: "Time window" }).getByRole("link", { name: window, exact: true });
  }

  health(server: "postgres" | "redis"): Locator {
    return this.page.getByTestId(`health-${server}`);
  }

  emptyState(): Locator {
    return this.page.getByTestId("empty-overview");
  }

  refreshStatus(): Locator {
    return this.page.getByTestId("refresh-status");
  }

  refreshSwitch(): Locator {
    return this.page.getByRole("switch", { name: "Auto-refresh" });
  }

  refreshInterval(): Locator {
    return this.page.getByLabel("Refresh every");
  }

  /** Pretends the tab was hidden or shown again, as the browser reports it to the page. */
  async setTabHidden(hidden: boolean) {
    await this.page.evaluate((value) => {
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (value ? "hidden" : "visible") });
      Object.defineProperty(document, "hidden", { configurable: true, get: () => value });
      document.dispatchEvent(new Event("visibilitychange"));
    }, hidden);
  }
}
