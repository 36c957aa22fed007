import { createHash } from "node:crypto";
import postgres from "postgres";
import { attachScreenshot, expect, signedInAs, state, test } from "./fixtures";
import { LoginPage } from "./pages/login.page";
import { TokensSettingsPage, UsersSettingsPage } from "./pages/settings.page";

const sql = postgres(state.databaseUrl, { max: 2, onnotice: () => undefined });
test.afterAll(async () => {
  await sql.end({ timeout: 5 });
});

test.describe("as an admin", () => {
  test.use(signedInAs("admin"));

  test("disabling a user signs them out everywhere at once", async ({ page, browser }, testInfo) => {
    const users = new UsersSettingsPage(page);
    await users.goto();
    const name = `bob-${Date.now()}`;
    const password = "bobs-own-password";
    await users.addUser(name, "operator", password);
    await expect(users.row(name)).toContainText("operator");

    const bob = await browser.newContext({ storageState: { cookies: [], origins: [] } });
    const bobPage = await bob.newPage();
    const bobLogin = new LoginPage(bobPage);
    await bobLogin.goto();
    await bobLogin.signIn(name, password);
    await expect(bobPage.getByRole("heading", { level: 1 })).toHaveText("Overview");

    await users.setAccess(name, "disabled");
    await expect(users.row(name)).toContainText("disabled (signed out everywhere)");
    await attachScreenshot(page, testInfo, "user-disabled");
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM idem.sessions s JOIN idem.users u ON u.id = s.user_id WHERE u.username = ${name}`;
    expect(row?.n).toBe(0);
    // Bob's next click lands on the sign-in page, and his password no longer opens the console.
    await bobPage.goto("/runs");
    await bobPage.waitForURL(/\/login\?next=%2Fruns$/);
    await bobLogin.signIn(name, password);
    await expect(bobLogin.error()).toHaveText("Wrong username or password.");
    await bob.close();
  });

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
    const otherLogin = new LoginPage(other);
    await otherLogin.goto();
    await otherLogin.signIn(name, password ?? "");
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

    // Stored only as its sha256 and a short prefix to recognise it: nothing in the row is the secret.
    const [stored] = await sql<Record<string, unknown>[]>`SELECT * FROM idem.api_tokens WHERE name = ${name}`;
    expect(stored?.token_hash).toBe(createHash("sha256").update(token).digest("hex"));
    expect(Object.values(stored ?? {}).filter((value) => typeof value === "string" && value.includes(token.slice(6)))).toEqual([]);
    expect(String(stored?.prefix).length).toBeLessThan(token.length / 2);

    const row = tokens.row(name);
    await page.reload();
    await expect(row.getByRole("cell").nth(tokens.lastUsedColumn)).toHaveText("never");
    const me = await request.get("/api/v1/me", { headers: { authorization: `Bearer ${token}` } });
    expect(me.status()).toBe(200);
    expect(await me.json()).toEqual({ name, role: "viewer", via: "api" });

    await page.reload();
    await expect(row.getByRole("cell").nth(tokens.lastUsedColumn)).not.toHaveText("never");
    await expect(row.getByRole("cell").nth(tokens.lastUsedColumn)).toHaveText(/^(just now|\d+s ago)$/);
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
