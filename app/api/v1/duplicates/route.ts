import { apiRoute, otherMethods } from "@/lib/api/route";
import { encodeDuplicateCursor } from "@/lib/ledger/duplicate-cursor";
import { listDuplicateAttempts, topDuplicateKeys, topDuplicateSources } from "@/lib/ledger/duplicates";
import { DUPLICATES_PAGE_SIZE, duplicatesSchema, toDuplicateFilters } from "@/lib/params/duplicates";

export const dynamic = "force-dynamic";

/** Duplicate attempts with the console's filters: the list (keyset, `cursor` from `nextCursor`) or grouped by key or source. */
export const GET = apiRoute({
  role: "viewer",
  query: duplicatesSchema,
  handler: async ({ sql, query }) => {
    const filters = toDuplicateFilters(query);
    if (query.view === "keys") return { view: "keys", ...(await topDuplicateKeys(sql, filters)) };
    if (query.view === "sources") return { view: "sources", ...(await topDuplicateSources(sql, filters)) };
    const page = await listDuplicateAttempts(sql, { ...filters, cursor: query.cursor, pageSize: DUPLICATES_PAGE_SIZE });
    return {
      view: "list",
      attempts: page.attempts.map(({ attemptedAtText: _text, ...attempt }) => attempt),
      nextCursor: page.olderCursor ? encodeDuplicateCursor(page.olderCursor) : null,
      prevCursor: page.newerCursor ? encodeDuplicateCursor(page.newerCursor) : null,
    };
  },
});

export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");
