import type { Locator, Page } from "@playwright/test";

/** The audit log: every operator action, filtered by actor, action, outcome and time. */
export class AuditPage {
  constructor(private readonly page: Page) {}

  async goto(params: Record<string, string> = {}) {
    const query = new URLSearchParams(params).toString();
    return this.page.goto(query ? `/audit?${query}` : "/audit");
  }

  heading(): Locator {
    return this.page.getByRole("heading", { level: 1 });
  }

  rows(): Locator {
    return this.page.getByTestId("audit-row");
  }

  /** Rows about one target, e.g. `run:42` or `lock:idem:lock:x`. */
  rowsFor(target: string, action?: string): Locator {
    const byTarget = this.page.locator(`[data-testid="audit-row"][data-target="${target.replace(/"/g, '\\"')}"]`);
    return action ? byTarget.and(this.page.locator(`[data-action="${action}"]`)) : byTarget;
  }

  filters(): Locator {
    return this.page.getByRole("search", { name: "Filter the audit log" });
  }

  async filter(values: { actor?: string; action?: string; outcome?: string; from?: string; to?: string }) {
    const form = this.filters();
    if (values.actor !== undefined) await form.getByLabel("Actor").fill(values.actor);
    if (values.action !== undefined) await form.getByLabel("Action").selectOption(values.action);
    if (values.outcome !== undefined) await form.getByLabel("Outcome").selectOption(values.outcome);
    if (values.from !== undefined) await form.getByLabel("From").fill(values.from);
    if (values.to !== undefined) await form.getByLabel("Before").fill(values.to);
    await form.getByRole("button", { name: "Apply filters" }).click();
  }

  empty(): Locator {
    return this.page.getByRole("status").filter({ hasText: /No (operator )?actions/ });
  }

  olderLink(): Locator {
    return this.page.getByRole("link", { name: "Next page" });
  }
}
