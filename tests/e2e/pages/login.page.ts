import type { Page } from "@playwright/test";

export class LoginPage {
  constructor(private readonly page: Page) {}

  async goto(next?: string) {
    await this.page.goto(next ? `/login?next=${encodeURIComponent(next)}` : "/login");
  }

  async signIn(username: string, password: string) {
    await this.page.getByLabel("Username").fill(username);
    await this.page.getByLabel("Password").fill(password);
    await this.page.getByRole("button", { name: "Sign in" }).click();
  }

  error() {
    return this.page.locator("form").getByRole("alert");
  }

  /** Starts single sign-on; the browser goes to the identity provider. */
  async signInWithSso(name: string) {
    await this.page.getByRole("link", { name: `Sign in with ${name}` }).click();
  }

  /** What the page says about a single sign-on that did not go through (outside the password form). */
  ssoError() {
    return this.page.locator("main > div > [role=alert]");
  }
}
