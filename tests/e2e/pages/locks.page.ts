import type { Locator, Page } from "@playwright/test";

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

  /**
   * Found by the key's bytes in base64: an HTML parser turns a CR LF in a server-rendered attribute
   * into LF, so a key with line breaks cannot be matched by its text in an attribute.
   */
  row(key: string): Locator {
    return this.page.locator(`tr[data-lock-key-base64="${Buffer.from(key, "utf8").toString("base64")}"]`);
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

  /** The chip's count: the number of locks of that class in the view (before the class filter). */
  classCount(label: string) {
    return this.classChip(label).locator("span.tabular-nums");
  }

  async filterByPattern(pattern: string) {
    const form = this.page.getByRole("search", { name: "Filter locks" });
    await form.getByLabel("Pattern").selectOption(pattern);
    await form.getByRole("button", { name: "Filter" }).click();
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
