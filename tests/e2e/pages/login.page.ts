import type { Page } from "@playwright/test";

export class LoginPage {
  constructor(private readonly page: Page) {}

  /** `base`: another address of the console (e.g. http://idem.test:<port>); the test's own by default. */
  async goto(next?: string, base = "") {
    await this.page.goto(`${base}/login${next ? `?next=${encodeURIComponent(next)}` : ""}`);
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

  /** What the page says, above the form, when the sign-in cookie could not be kept (plain http to another host). */
  transportWarning() {
    return this.page.locator("main > div > [role=alert]").filter({ hasText: "plain http" });
  }
}
