import { apiRoute, otherMethods } from "@/lib/api/route";
import { encodeCursor } from "@/lib/ledger/cursor";
import { listRuns } from "@/lib/ledger/queries";
import { runsListSchema, toRunListQuery } from "@/lib/params/runs";

export const dynamic = "force-dynamic";

/** The runs list with the console's filters and keyset pagination (`cursor` from `nextCursor`). */
export const GET = apiRoute({
  role: "viewer",
  query: runsListSchema,
  handler: async ({ sql, query }) => {
    const page = await listRuns(sql, toRunListQuery(query));
    return {
      runs: page.runs.map(({ sortAt: _sortAt, ...run }) => run),
      nextCursor: page.nextCursor ? encodeCursor(page.nextCursor) : null,
      prevCursor: page.prevCursor ? encodeCursor(page.prevCursor) : null,
    };
  },
});

export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");
