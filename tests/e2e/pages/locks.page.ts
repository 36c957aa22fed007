import type { Locator, Page } from "@playwright/test";

const cssString = (text: string) => text.replace(/\\/g, "\\\\").replace(/"/g, '\\"');

export class LocksPage {
  constructor(private readonly page: Page) {}

  async goto(params: Record<string, string> = {}) {
    const query = new URLSearchParams(params).toString();
    await this.page.goto(query ? `/locks?${query}` : "/locks");
  }

  heading() {
    return this.page.getByRole("heading", { level: 1 });
  }

  locksPanel() {
    return this.page.getByRole("region", { name: "Locks" });
  }

  row(key: string): Locator {
    return this.page.locator(`tr[data-lock-key="${cssString(key)}"]`);
  }

  releaseButton(key: string) {
    return this.row(key).getByRole("button", { name: "Release", exact: true });
  }

  releaseButtons() {
    return this.page.getByRole("button", { name: "Release", exact: true });
  }

  selectCheckbox(key: string) {
    return this.row(key).getByRole("checkbox");
  }

  classChip(label: string) {
    return this.page.getByRole("navigation", { name: "Lock classes" }).getByRole("link", { name: new RegExp(`^${label} \\d`) });
  }

  /** The open confirmation dialog (closed ones are not visible, so not matched). */
  dialog() {
    return this.page.getByRole("dialog");
  }

  confirm(label: RegExp | string) {
    return this.dialog().getByRole("button", { name: label });
  }

  cancel() {
    return this.dialog().getByRole("button", { name: "Cancel" });
  }

  dialogAlert() {
    return this.dialog().getByRole("alert");
  }

  typedKey() {
    return this.dialog().getByLabel(/^Type /);
  }

  reason() {
    return this.dialog().getByLabel(/^Reason/);
  }

  bulkBar() {
    return this.page.getByRole("region", { name: "Bulk release" });
  }

  toast() {
    return this.page.getByTestId("toaster");
  }

  emptyState() {
    return this.page.getByRole("status").filter({ hasText: /No locks/ });
  }

  inventoryError() {
    return this.page.getByRole("alert").filter({ hasText: "The lock inventory cannot be read" });
  }
}
