import { apiRoute, otherMethods } from "@/lib/api/route";
import { runIdParams } from "@/lib/api/params";
import { AppError } from "@/lib/errors";
import { getLineage, getRun, listRunDuplicates, listRunEvents } from "@/lib/ledger/queries";

export const dynamic = "force-dynamic";

/** One run with its timeline (run_events), duplicate attempts and lineage. */
export const GET = apiRoute({
  role: "viewer",
  params: runIdParams,
  handler: async ({ sql, params }) => {
    const run = await getRun(sql, params.id);
    if (!run) throw new AppError("NOT_FOUND", `run ${params.id} does not exist`);
    const [events, duplicates, lineage] = await Promise.all([listRunEvents(sql, run.id), listRunDuplicates(sql, run.id), getLineage(sql, run)]);
    return { run, events, duplicates, lineage };
  },
});

export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");
