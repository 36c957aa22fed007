import { attachScreenshot, expect, signedInAs, test } from "./fixtures";
import { TokensSettingsPage, UsersSettingsPage } from "./pages/settings.page";

test.describe("as an admin", () => {
  test.use(signedInAs("admin"));

  test("creates a user with a generated password that works once shown", async ({ page, browser }, testInfo) => {
    const users = new UsersSettingsPage(page);
    await users.goto();
    const name = `alice-${Date.now()}`;
    await users.addUser(name, "operator");
    const password = await users.shownSecret().textContent();
    expect(password?.length).toBeGreaterThanOrEqual(20);
    await expect(users.row(name)).toContainText("operator");
    await attachScreenshot(page, testInfo, "users");

    const fresh = await browser.newContext({ storageState: { cookies: [], origins: [] } });
    const other = await fresh.newPage();
    await other.goto("/login");
    await other.getByLabel("Username").fill(name);
    await other.getByLabel("Password").fill(password ?? "");
    await other.getByRole("button", { name: "Sign in" }).click();
    await expect(other.getByRole("heading", { level: 1 })).toHaveText("Overview");
    await fresh.close();
  });

  test("creates an API token, which works against the API until it is revoked after confirmation", async ({ page, request }, testInfo) => {
    const tokens = new TokensSettingsPage(page);
    await tokens.goto();
    const name = `ci-bot-${Date.now()}`;
    await tokens.createToken(name, "viewer");
    const token = (await tokens.shownToken().textContent()) ?? "";
    expect(token).toMatch(/^idem_/);
    await attachScreenshot(page, testInfo, "token-created");

    const me = await request.get("/api/v1/me", { headers: { authorization: `Bearer ${token}` } });
    expect(me.status()).toBe(200);
    expect(await me.json()).toEqual({ name, role: "viewer", via: "api" });

    await page.reload();
    const row = tokens.row(name);
    await row.getByRole("button", { name: "Revoke" }).click();
    const dialog = page.getByRole("dialog", { name: `Revoke token "${name}"?` });
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(row.getByRole("button", { name: "Revoke" })).toBeVisible();

    await row.getByRole("button", { name: "Revoke" }).click();
    await dialog.getByRole("button", { name: "Revoke token" }).click();
    await expect(page.getByTestId("toaster").getByRole("status")).toContainText(`Revoked token "${name}"`);
    await expect(row).toContainText("revoked");
    await attachScreenshot(page, testInfo, "token-revoked");
    const refused = await request.get("/api/v1/me", { headers: { authorization: `Bearer ${token}` } });
    expect(refused.status()).toBe(401);
  });
});

for (const role of ["viewer", "operator"] as const) {
  test.describe(`as ${role}`, () => {
    test.use(signedInAs(role));
    test(`the settings pages answer 403 and are not in the navigation`, async ({ page }, testInfo) => {
      const response = await page.goto("/settings/users");
      expect(response?.status()).toBe(403);
      await expect(page.getByRole("heading", { name: "Not allowed" })).toBeVisible();
      expect((await page.goto("/settings/tokens"))?.status()).toBe(403);
      await page.goto("/");
      await expect(page.getByRole("link", { name: "API tokens" })).toHaveCount(0);
      if (role === "viewer") await attachScreenshot(page, testInfo, "forbidden");
    });
  });
}
