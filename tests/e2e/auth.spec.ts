import { attachScreenshot, expect, signedInAs, test } from "./fixtures";
import { LoginPage } from "./pages/login.page";
import { OverviewPage } from "./pages/overview.page";

test.describe("signed out", () => {
  test.use(signedInAs("anonymous"));

  test("an anonymous visitor is sent to sign in, and back to the page afterwards", async ({ page }, testInfo) => {
    await page.goto("/?window=7d");
    await expect(page).toHaveURL(/\/login\?next=%2F%3Fwindow%3D7d/);
    await attachScreenshot(page, testInfo, "login");
    const login = new LoginPage(page);
    await login.signIn("viewer", "idem-viewer");
    await expect(page).toHaveURL(/\/\?window=7d$/);
  });

  test("a wrong password says so without saying which part was wrong", async ({ page }, testInfo) => {
    const login = new LoginPage(page);
    await login.goto();
    await login.signIn("viewer", "not-the-password");
    await expect(login.error()).toHaveText("Wrong username or password.");
    await attachScreenshot(page, testInfo, "login-error");
  });

  test("the session cookie is HttpOnly and SameSite=Lax", async ({ page }) => {
    const login = new LoginPage(page);
    await login.goto();
    await login.signIn("viewer", "idem-viewer");
    await page.waitForURL("/");
    const cookie = (await page.context().cookies()).find((c) => c.name === "idem_session");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax" });
  });
});

test("a signed-in operator sees the console frame", async ({ page }, testInfo) => {
  const overview = new OverviewPage(page);
  await overview.goto();
  await expect(overview.heading()).toHaveText("Overview");
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
  await attachScreenshot(page, testInfo, "overview-shell");
});
