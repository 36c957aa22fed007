import { test as base, expect, type Page, type TestInfo } from "@playwright/test";
import { readState, storageStatePath, type E2EState, type E2ERole } from "./state";

export const state: E2EState = readState();

/** Tests run signed in as the operator unless they say otherwise with `test.use(signedInAs("viewer"))`. */
export const test = base.extend({
  baseURL: async ({}, use) => {
    await use(state.baseURL);
  },
  storageState: async ({}, use) => {
    await use(storageStatePath("operator"));
  },
});

export function signedInAs(role: E2ERole | "anonymous") {
  return { storageState: role === "anonymous" ? { cookies: [], origins: [] } : storageStatePath(role) };
}

/** Attaches a full-page screenshot to the test report under a readable name. */
export async function attachScreenshot(page: Page, testInfo: TestInfo, name: string) {
  const file = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  await testInfo.attach(name, { path: file, contentType: "image/png" });
}

export { expect };
