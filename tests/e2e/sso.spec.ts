import type { Server } from "node:http";
import getPort from "get-port";
import Provider from "oidc-provider";
import postgres from "postgres";
import { attachScreenshot, expect, signedInAs, test } from "./fixtures";
import { startFreshConsole, type FreshConsole } from "./fresh-console";
import { LoginPage } from "./pages/login.page";

/**
 * Single sign-on against a real OpenID Connect provider (panva's oidc-provider, the certified
 * implementation, with its development login and consent pages) on a port of its own, and a console
 * configured for it. The provider accepts any login name; the console decides who gets in.
 */
const account = { username: "alice@example.com", password: "alice-password-unused" };
const clientSecret = "e2e-sso-client-secret";
let fresh: FreshConsole;
let provider: Server;
let sql: postgres.Sql;

const sessionCount = async () => (await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM idem.sessions`)[0]?.n ?? 0;

test.use(signedInAs("anonymous"));

test.beforeAll(async () => {
  const providerPort = await getPort();
  const issuer = `http://127.0.0.1:${providerPort}`;
  fresh = await startFreshConsole(account, {
    env: { IDEM_OIDC_ISSUER: issuer, IDEM_OIDC_CLIENT_ID: "idem-console", IDEM_OIDC_CLIENT_SECRET: clientSecret, IDEM_OIDC_NAME: "Example ID" },
  });
  sql = postgres(fresh.databaseUrl, { max: 1, onnotice: () => undefined });
  const oidc = new Provider(issuer, {
    clients: [{ client_id: "idem-console", client_secret: clientSecret, redirect_uris: [`${fresh.baseURL}/api/auth/oidc/callback`] }],
    claims: { openid: ["sub"], email: ["email", "email_verified"] },
    // Whatever is typed at the provider's login page becomes the subject and the email address.
    // "unverified..." logins get email_verified: false, "unvouched..." none at all.
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: id, email: id, ...(id.startsWith("unvouched") ? {} : { email_verified: !id.startsWith("unverified") }) }),
    }),
  });
  provider = oidc.listen(providerPort);
});

test.afterAll(async () => {
  await new Promise((resolve) => provider?.close(resolve));
  await sql?.end();
  await fresh?.stop();
});

async function signInAtProvider(page: import("@playwright/test").Page, login: string) {
  await page.locator("input[name=login]").fill(login);
  await page.locator("input[name=password]").fill("anything");
  await page.getByRole("button", { name: "Sign-in" }).click();
  await page.getByRole("button", { name: "Continue" }).click();
}

test("an account signs in through the identity provider and lands where it was going", async ({ page }, testInfo) => {
  await page.goto(`${fresh.baseURL}/runs?status=failed`);
  await expect(page).toHaveURL(/\/login\?next=/);
  const login = new LoginPage(page);
  await attachScreenshot(page, testInfo, "login-with-sso");
  await login.signInWithSso("Example ID");
  await expect(page).toHaveURL(/127\.0\.0\.1:\d+\/(auth|interaction)/);
  await signInAtProvider(page, "Alice@Example.com");

  await expect(page).toHaveURL(`${fresh.baseURL}/runs?status=failed`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Runs");
  await expect(page.getByText(account.username, { exact: true })).toBeVisible();
  const cookies = await page.context().cookies(fresh.baseURL);
  expect(cookies.find((c) => c.name === "idem_session")).toMatchObject({ httpOnly: true, sameSite: "Lax" });
  // The flow cookie is spent once the callback has run.
  expect(cookies.find((c) => c.name === "idem_oidc")).toBeUndefined();
  const [attempt] = await sql<{ username: string; succeeded: boolean }[]>`SELECT username, succeeded FROM idem.login_attempts ORDER BY id DESC LIMIT 1`;
  expect(attempt).toEqual({ username: account.username, succeeded: true });
});

/** From the console's sign-in page through the provider and back; the page object to read the outcome. */
async function signInFromLoginPage(page: import("@playwright/test").Page, login: string): Promise<LoginPage> {
  const loginPage = new LoginPage(page);
  await page.goto(`${fresh.baseURL}/login`);
  await loginPage.signInWithSso("Example ID");
  await signInAtProvider(page, login);
  return loginPage;
}

test("an identity with no console account is refused with a clear message, and nobody is signed in", async ({ page }, testInfo) => {
  const sessionsBefore = await sessionCount();
  const login = await signInFromLoginPage(page, "mallory@example.com");

  await expect(page).toHaveURL(`${fresh.baseURL}/login?sso=unknown_account`);
  await expect(login.ssoError()).toContainText("no enabled console account has that name");
  await attachScreenshot(page, testInfo, "login-sso-unknown-account");
  expect((await page.context().cookies(fresh.baseURL)).find((c) => c.name === "idem_session")).toBeUndefined();
  expect(await sessionCount()).toBe(sessionsBefore);
  const [attempt] = await sql<{ username: string; succeeded: boolean }[]>`SELECT username, succeeded FROM idem.login_attempts ORDER BY id DESC LIMIT 1`;
  expect(attempt).toEqual({ username: "mallory@example.com", succeeded: false });
});

test("an email address the provider has not verified names no account", async ({ page }) => {
  await sql`INSERT INTO idem.users (username, password_hash, role) VALUES ('unverified@example.com', 'scrypt$unusable', 'viewer')`;
  const login = await signInFromLoginPage(page, "unverified@example.com");
  await expect(page).toHaveURL(`${fresh.baseURL}/login?sso=unverified`);
  await expect(login.ssoError()).toContainText("has not verified this email address");
});

test("an email address without an email_verified claim names no account either (no nOAuth takeover)", async ({ page }) => {
  await sql`INSERT INTO idem.users (username, password_hash, role) VALUES ('unvouched@example.com', 'scrypt$unusable', 'admin')`;
  const sessionsBefore = await sessionCount();
  const login = await signInFromLoginPage(page, "unvouched@example.com");
  await expect(page).toHaveURL(`${fresh.baseURL}/login?sso=unverified`);
  await expect(login.ssoError()).toContainText("has not verified this email address");
  expect(await sessionCount()).toBe(sessionsBefore);
});

test("a callback this browser did not start (forged, replayed or expired) signs nobody in", async ({ page, request }) => {
  const sessionsBefore = await sessionCount();
  const forged = await request.get(`${fresh.baseURL}/api/auth/oidc/callback?code=stolen&state=guessed`, { maxRedirects: 0 });
  expect(forged.status()).toBe(303);
  expect(forged.headers()["location"]).toBe("/login?sso=expired");
  expect(forged.headers()["set-cookie"] ?? "").not.toContain("idem_session=");

  // A flow cookie of this browser, but a state from someone else's flow.
  const login = new LoginPage(page);
  await page.goto(`${fresh.baseURL}/login`);
  const started = await page.request.get(`${fresh.baseURL}/api/auth/oidc/start?next=/`, { maxRedirects: 0 });
  expect(started.status()).toBe(303);
  expect(started.headers()["location"]).toContain("code_challenge_method=S256");
  await page.goto(`${fresh.baseURL}/api/auth/oidc/callback?code=stolen&state=guessed`);
  await expect(page).toHaveURL(`${fresh.baseURL}/login?sso=rejected`);
  await expect(login.ssoError()).toContainText("did not check out");
  expect(await sessionCount()).toBe(sessionsBefore);
});

test("a return address that leaves the console is dropped, and garbage in the page's sso parameter is ignored", async ({ page }) => {
  const started = await page.request.get(`${fresh.baseURL}/api/auth/oidc/start?next=${encodeURIComponent("//evil.example/steal")}`, { maxRedirects: 0 });
  expect(started.status()).toBe(303);
  await page.goto(`${fresh.baseURL}/login?next=${encodeURIComponent("https://evil.example/")}&sso=${encodeURIComponent("<script>alert(1)</script>")}`);
  const login = new LoginPage(page);
  await expect(login.ssoError()).toHaveCount(0);
  await login.signInWithSso("Example ID");
  await signInAtProvider(page, account.username);
  await expect(page).toHaveURL(`${fresh.baseURL}/`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Overview");
});
