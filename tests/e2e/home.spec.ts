import { attachScreenshot, expect, test } from "./fixtures";
import { HomePage } from "./pages/home.page";

test("the console answers on the demo workload", async ({ page }, testInfo) => {
  const home = new HomePage(page);
  await home.goto();
  await expect(home.heading()).toHaveText("Idem");
  await attachScreenshot(page, testInfo, "home");
});
