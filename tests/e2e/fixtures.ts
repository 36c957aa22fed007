import { test as base, expect, type Page, type TestInfo } from "@playwright/test";
import { readState, type E2EState } from "./state";

export const state: E2EState = readState();

export const test = base.extend({
  baseURL: async ({}, use) => {
    await use(state.baseURL);
  },
});

/** Attaches a full-page screenshot to the test report under a readable name. */
export async function attachScreenshot(page: Page, testInfo: TestInfo, name: string) {
  const file = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  await testInfo.attach(name, { path: file, contentType: "image/png" });
}

export { expect };
