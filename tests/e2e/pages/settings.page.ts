import type { Page } from "@playwright/test";

export class UsersSettingsPage {
  constructor(private readonly page: Page) {}

  async goto() {
    return this.page.goto("/settings/users");
  }

  async addUser(username: string, role: "viewer" | "operator" | "admin", password?: string) {
    await this.page.getByLabel("Username").fill(username);
    await this.page.getByLabel("Role", { exact: true }).selectOption(role);
    if (password) await this.page.getByLabel("Password").fill(password);
    await this.page.getByRole("button", { name: "Add user" }).click();
  }

  shownSecret() {
    return this.page.getByTestId("shown-once-secret").locator("code");
  }

  /** Enables or disables an account from its row, as the admin would. */
  async setAccess(username: string, access: "active" | "disabled") {
    const row = this.row(username);
    await row.getByLabel(`Access of ${username}`).selectOption(access === "disabled" ? "true" : "false");
    await row.getByRole("button", { name: "Save" }).click();
  }

  row(username: string) {
    return this.page.getByRole("row").filter({ hasText: username });
  }
}

export class TokensSettingsPage {
  /** The "Last used" cell of a row (Name, Token, Role, Created, Last used). */
  readonly lastUsedColumn = 4;

  constructor(private readonly page: Page) {}

  async goto() {
    return this.page.goto("/settings/tokens");
  }

  async createToken(name: string, role: "viewer" | "operator" | "admin") {
    await this.page.getByLabel("Name").fill(name);
    await this.page.getByLabel("Role").selectOption(role);
    await this.page.getByRole("button", { name: "Create token" }).click();
  }

  shownToken() {
    return this.page.getByTestId("shown-once-secret").locator("code");
  }

  row(name: string) {
    return this.page.getByRole("row").filter({ hasText: name });
  }
}
