import { consoleSuite } from "./console";
import { cycleSuite } from "./cycle";
import { locksSuite } from "./locks";
import { scanSuite } from "./scan";
import { submitSuite } from "./submit";
import type { Suite } from "./harness/types";

/**
 * Every suite `npm run bench` knows, in the order a bare `npm run bench` runs them. A new suite is a
 * file in bench/ exporting a Suite, added here; its name is the CLI argument and the id of its
 * section in docs/BENCHMARKS.md.
 */
export const suites: Suite[] = [submitSuite, cycleSuite, locksSuite, consoleSuite, scanSuite];
