import { createHash, randomBytes } from "node:crypto";
import type { BrowserContext, Page } from "@playwright/test";
import postgres from "postgres";
import { hashPassword } from "@/lib/auth/password";
import { captureSignIn } from "./action-cases";
import { clientFor, replayAction } from "./action-replay";
import { attachScreenshot, expect, signedInAs, state, test } from "./fixtures";
import { startFreshConsole } from "./fresh-console";
import { LoginPage } from "./pages/login.page";

/**
 * Sessions on the server: signing out deletes the session (the cookie alone is worthless after), a
 * sign-in always starts a new session id, and repeated failures throttle the account with a clear
 * message. Each test signs in as an account of its own, so the shared role sessions are never touched,
 * and the failed attempts it records are deleted afterwards, so the per-IP limit (every e2e request
 * comes from 127.0.0.1) is not spent for the rest of the suite.
 */
test.use(signedInAs("anonymous"));

const sql = postgres(state.databaseUrl, { max: 2, onnotice: () => undefined });
const accounts: Array<{ username: string; password: string }> = [];

async function account(): Promise<{ username: string; password: string }> {
  const created = { username: `session-${randomBytes(4).toString("hex")}`, password: `pw-${randomBytes(12).toString("hex")}` };
  await sql`INSERT INTO idem.users (username, password_hash, role, created_by) VALUES (${created.username}, ${await hashPassword(created.password)}, 'viewer', 'e2e')`;
  accounts.push(created);
  return created;
}

test.afterAll(async () => {
  await sql`DELETE FROM idem.login_attempts WHERE username = ANY(${accounts.map((a) => a.username)})`;
  await sql.end({ timeout: 5 });
});

const sessionOf = async (context: BrowserContext) => (await context.cookies()).find((c) => c.name === "idem_session")?.value;
const stored = async (token: string) =>
  (await sql`SELECT 1 FROM idem.sessions WHERE id = ${createHash("sha256").update(token).digest("hex")}`).length > 0;

/** What the server makes of a bare session cookie: the API's answer and the overview's. */
async function withCookie(token: string) {
  const client = await clientFor("anonymous");
  try {
    const headers = { cookie: `idem_session=${token}` };
    const me = await client.get("/api/v1/me", { headers, failOnStatusCode: false });
    const overview = await client.get("/", { headers, maxRedirects: 0, failOnStatusCode: false });
    return { me: me.status(), overview: overview.status(), location: overview.headers().location ?? null };
  } finally {
    await client.dispose();
  }
}

/** A new account signed in through the form: the session cookie's token. */
async function signInNewAccount(page: Page, context: BrowserContext): Promise<string> {
  const user = await account();
  const login = new LoginPage(page);
  await login.goto();
  await login.signIn(user.username, user.password);
  await page.waitForURL("/");
  return (await sessionOf(context))!;
}

test("signing out ends the session on the server: the old cookie no longer works", async ({ page, context }) => {
  const token = await signInNewAccount(page, context);
  expect(token).toBeTruthy();
  expect(await stored(token)).toBe(true);
  expect(await withCookie(token)).toMatchObject({ me: 200, overview: 200 });

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/login$/);
  expect(await sessionOf(context)).toBeUndefined();
  // Replayed by someone who kept a copy: the server no longer knows it.
  expect(await stored(token)).toBe(false);
  expect(await withCookie(token)).toEqual({ me: 401, overview: 307, location: "/login?next=%2F" });
});

test("an expired session sends the browser back to sign in, and the API refuses it", async ({ page, context }) => {
  const token = await signInNewAccount(page, context);
  // Twelve hours later, as far as the server is concerned (the browser's cookie is still there).
  await sql`UPDATE idem.sessions SET expires_at = now() - interval '1 second' WHERE id = ${createHash("sha256").update(token).digest("hex")}`;
  await page.goto("/runs");
  await page.waitForURL(/\/login\?next=%2Fruns$/);
  await expect(page.getByRole("heading", { name: "Sign in to the console" })).toBeVisible();
  expect(await withCookie(token)).toEqual({ me: 401, overview: 307, location: "/login?next=%2F" });
});

test("signing in always starts a new session id: a planted cookie and a live one are both replaced", async ({ page, context, browser }) => {
  const user = await account();
  // Session fixation: a value planted before sign-in must not become the session.
  await context.addCookies([{ name: "idem_session", value: "planted-by-someone-else", url: state.baseURL }]);
  const login = new LoginPage(page);
  await login.goto();
  await login.signIn(user.username, user.password);
  await page.waitForURL("/");
  const first = (await sessionOf(context))!;
  expect(first).not.toBe("planted-by-someone-else");
  expect(await stored(first)).toBe(true);

  // Signing in again from a browser that has a live session: a new id, and the old one is ended.
  const signIn = await captureSignIn(browser, state.baseURL);
  const client = await clientFor("anonymous");
  const again = await replayAction(client, signIn, { fields: { username: user.username, password: user.password }, headers: { cookie: `idem_session=${first}` } });
  await client.dispose();
  expect(again.redirect).toMatch(/^\/(;|$)/);
  const second = /^idem_session=([^;]+)/.exec(again.setCookies.find((c) => c.startsWith("idem_session=")) ?? "")?.[1];
  expect(second).toBeTruthy();
  expect(second).not.toBe(first);
  expect(again.setCookies.find((c) => c.startsWith("idem_session="))).toMatch(/HttpOnly/i);
  expect(again.setCookies.find((c) => c.startsWith("idem_session="))).toMatch(/SameSite=lax/i);
  expect(await withCookie(first)).toMatchObject({ me: 401 });
  expect(await withCookie(second!)).toMatchObject({ me: 200 });
});

test("the session cookie is Secure except over plain http to localhost, whatever X-Forwarded-Proto a client claims", async ({ browser }) => {
  const user = await account();
  const signIn = await captureSignIn(browser, state.baseURL);
  const client = await clientFor("anonymous");
  const sessionCookie = (result: { setCookies: string[] }) => result.setCookies.find((c) => c.startsWith("idem_session=")) ?? "";
  try {
    const local = await replayAction(client, signIn, { fields: { username: user.username, password: user.password } });
    expect(local.redirect).toMatch(/^\/(;|$)/);
    expect(sessionCookie(local)).toMatch(/HttpOnly/i);
    expect(sessionCookie(local)).not.toMatch(/;\s*Secure/i);
    // Only a trusted proxy's X-Forwarded-Proto/-Host count (IDEM_TRUSTED_PROXIES); a client's own are replaced.
    const claimed = await replayAction(client, signIn, {
      fields: { username: user.username, password: user.password },
      headers: { "x-forwarded-proto": "https", "x-forwarded-host": new URL(state.baseURL).host },
    });
    expect(sessionCookie(claimed)).toMatch(/^idem_session=/);
    expect(sessionCookie(claimed)).not.toMatch(/;\s*Secure/i);
  } finally {
    await client.dispose();
  }
});

test("configured with an https IDEM_PUBLIC_URL, the cookie is Secure even when the request looks local, and HSTS is sent", async ({ browser }) => {
  const viewer = { username: `secure-${randomBytes(4).toString("hex")}`, password: `pw-${randomBytes(12).toString("hex")}` };
  const fresh = await startFreshConsole(viewer, { env: { IDEM_PUBLIC_URL: "https://idem.example.com" } });
  const client = await clientFor("anonymous");
  try {
    const signIn = await captureSignIn(browser, state.baseURL);
    const result = await replayAction(client, { ...signIn, url: signIn.url.replace(state.baseURL, fresh.baseURL) }, { origin: fresh.baseURL, fields: viewer });
    const cookie = result.setCookies.find((c) => c.startsWith("idem_session=")) ?? "";
    expect(cookie).toMatch(/;\s*Secure/i);
    expect(cookie).toMatch(/HttpOnly/i);
    const page = await client.get(`${fresh.baseURL}/login`);
    expect(page.headers()["strict-transport-security"]).toBe("max-age=31536000");
    expect((await client.get("/login")).headers()["strict-transport-security"]).toBeUndefined();
  } finally {
    await client.dispose();
    await fresh.stop();
  }
});

test("over plain http to another host the sign-in page says why signing in cannot work, instead of looping back to it", async ({ playwright }, testInfo) => {
  const user = await account();
  const port = new URL(state.baseURL).port;
  // idem.test resolves to this machine, but to the browser it is another host reached over plain http.
  const browser = await playwright.chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP idem.test 127.0.0.1"] });
  try {
    const page = await browser.newPage();
    const login = new LoginPage(page);
    await login.goto(undefined, `http://idem.test:${port}`);
    await expect(login.transportWarning()).toContainText("opened over plain http at idem.test");
    await attachScreenshot(page, testInfo, "login-plain-http");
    await login.signIn(user.username, user.password);
    await expect(login.error()).toContainText("Browsers keep the sign-in cookie only over https");
    expect(page.url()).toContain("/login");
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM idem.sessions s JOIN idem.users u ON u.id = s.user_id WHERE u.username = ${user.username}`;
    expect(row?.n).toBe(0);
  } finally {
    await browser.close();
  }
});

// Last in this file: it records failed sign-ins (deleted again in afterAll).
test("the per-IP limit counts the socket's address, not an X-Forwarded-For the client sent", async ({ browser }) => {
  const { username } = await account();
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] }, extraHTTPHeaders: { "x-forwarded-for": "203.0.113.9" } });
  const page = await context.newPage();
  const login = new LoginPage(page);
  await login.goto();
  await login.signIn(username, "not-the-password");
  await expect(login.error()).toHaveText("Wrong username or password.");
  await context.close();
  const [attempt] = await sql<{ ip: string }[]>`SELECT ip FROM idem.login_attempts WHERE username = ${username}`;
  expect(attempt?.ip).not.toBe("203.0.113.9");
  expect(attempt?.ip).toMatch(/127\.0\.0\.1|::1/);
});

test("after twenty failed sign-ins from one address, every account is throttled from it with a clear message", async ({ page }, testInfo) => {
  const user = await account();
  const login = new LoginPage(page);
  await login.goto();
  await login.signIn(user.username, "not-the-password");
  await expect(login.error()).toHaveText("Wrong username or password.");
  const [first] = await sql<{ ip: string }[]>`SELECT ip FROM idem.login_attempts WHERE username = ${user.username}`;
  // Nineteen more failures from the same address, on other names (deleted again in afterAll).
  const names = Array.from({ length: 19 }, (_, i) => `per-ip-${randomBytes(3).toString("hex")}-${i}`);
  accounts.push(...names.map((username) => ({ username, password: "" })));
  await sql`INSERT INTO idem.login_attempts (username, ip, succeeded) SELECT unnest(${names}::text[]), ${first!.ip}, false`;
  await login.signIn(user.username, user.password);
  // The wait runs from the address's oldest failure in the window, and earlier tests fail sign-ins from
  // this address too: any wait up to the 15-minute window.
  await expect(login.error()).toHaveText(/^Too many failed sign-ins from this address\. Try again in ([1-9]|1[0-5]) minutes?\.$/);
  await attachScreenshot(page, testInfo, "login-throttled-ip");
  expect(page.url()).toContain("/login");
  // Cleared now, so the next test's sign-ins from this address are not throttled.
  await sql`DELETE FROM idem.login_attempts WHERE username = ANY(${[...names, user.username]})`;
});

test("after five failed sign-ins the account is throttled with a clear message, even for the right password", async ({ page, context }, testInfo) => {
  const user = await account();
  const login = new LoginPage(page);
  await login.goto();
  for (let attempt = 1; attempt <= 5; attempt++) {
    await login.signIn(user.username, `wrong-password-${attempt}`);
    await expect(login.error()).toHaveText("Wrong username or password.");
    await expect(page.getByRole("button", { name: "Sign in" })).toBeEnabled();
  }
  await login.signIn(user.username, user.password);
  await expect(login.error()).toHaveText(/^Too many failed sign-ins for this account\. Try again in 1[45] minutes\.$/);
  await attachScreenshot(page, testInfo, "login-throttled");
  expect(page.url()).toContain("/login");
  expect(await sessionOf(context)).toBeUndefined();
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM idem.sessions s JOIN idem.users u ON u.id = s.user_id WHERE u.username = ${user.username}`;
  expect(row?.n).toBe(0);

  // The limit is the account's: another account signs in from the same address.
  const other = await account();
  await login.signIn(other.username, other.password);
  await page.waitForURL("/");
});
