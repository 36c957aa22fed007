import { auditParams } from "./audit";
import { locksParams } from "./locks";
import { duplicatesParams } from "./duplicates";
import { overviewParams } from "./overview";
import type { PageParams } from "./registry";
import { runDetailParams, runsListParams } from "./runs";

/** Every console page that takes query parameters; proxy.ts answers 400 when they do not parse. */
export const pageParams: PageParams[] = [overviewParams, runsListParams, runDetailParams, auditParams, locksParams, duplicatesParams];

export function pageParamsFor(pathname: string): PageParams | undefined {
  return pageParams.find((entry) => entry.pattern.test(pathname));
}
