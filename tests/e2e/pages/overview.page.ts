import type { Page } from "@playwright/test";

export class OverviewPage {
  constructor(private readonly page: Page) {}

  async goto() {
    await this.page.goto("/");
  }

  heading() {
    return this.page.getByRole("heading", { level: 1 });
  }
}
