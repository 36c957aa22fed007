import { getSession } from "@/lib/auth/current";
import { getSql } from "@/lib/db";
import { csvLine } from "@/lib/export/csv";
import { exportColumns, streamRuns, type ExportRow } from "@/lib/ledger/queries";
import { describeIssue, searchParamsToObject } from "@/lib/params/registry";
import { exportSchema, runsListSchema, toRunListQuery } from "@/lib/params/runs";

export const dynamic = "force-dynamic";

const json = (status: number, body: Record<string, unknown>) => Response.json(body, { status, headers: { "cache-control": "no-store" } });

/**
 * GET /runs/export?<the runs list's filters>&format=csv|json&limit=N: the filtered runs as a download,
 * in list order, streamed from a server-side cursor (never more than one batch in memory) and bounded
 * by `limit` (default 10,000, at most 100,000). Signed-in users only.
 */
export async function GET(request: Request) {
  let session;
  try {
    session = await getSession();
  } catch {
    return json(503, { error: "The ledger database is unreachable; try again when it is back." });
  }
  if (!session) return json(401, { error: "Sign in to export runs." });

  const query = searchParamsToObject(new URL(request.url).searchParams);
  const { format: rawFormat, limit: rawLimit, ...filters } = query;
  const options = exportSchema.safeParse({ format: rawFormat, limit: rawLimit });
  if (!options.success) return json(400, { error: describeIssue(options.error) });
  // The page's cursor and size do not apply: an export starts at the top of the filter.
  delete filters.cursor;
  delete filters.pageSize;
  const parsed = runsListSchema.safeParse(filters);
  if (!parsed.success) return json(400, { error: describeIssue(parsed.error) });

  const { format, limit } = options.data;
  const runs = streamRuns(getSql(), toRunListQuery(parsed.data), limit);
  // The first batch is read before answering, so a failing query is a clear 503, not a broken download.
  let head: IteratorResult<ExportRow[]>;
  try {
    head = await runs.next();
  } catch (error) {
    console.error("runs export failed", error);
    return json(503, { error: "The export could not be read from the ledger; try again." });
  }
  const encoder = new TextEncoder();
  let first = true;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const rows = head.done ? "" : head.value.map((row) => encodeRow(row)).join("");
      controller.enqueue(encoder.encode(`${format === "csv" ? csvLine(exportColumns) : "[\n"}${rows}`));
    },
    // One batch per pull, so a slow client slows the cursor instead of filling memory.
    async pull(controller) {
      try {
        const next = await runs.next();
        if (next.done) {
          if (format === "json") controller.enqueue(encoder.encode(first ? "]\n" : "\n]\n"));
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(next.value.map((row) => encodeRow(row)).join("")));
      } catch (error) {
        console.error("runs export failed", error);
        controller.error(error);
      }
    },
    async cancel() {
      await runs.return(undefined);
    },
  });

  function encodeRow(row: ExportRow): string {
    if (format === "csv") return csvLine(exportColumns.map((column) => row[column]));
    const text = `${first ? "" : ",\n"}${JSON.stringify(row)}`;
    first = false;
    return text;
  }

  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return new Response(stream, {
    headers: {
      "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/json; charset=utf-8",
      "content-disposition": `attachment; filename="idem-runs-${stamp}.${format}"`,
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    },
  });
}
