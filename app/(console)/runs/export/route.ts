import { randomUUID } from "node:crypto";
import { errorResponse, validationError } from "@/lib/api/route";
import { getSession } from "@/lib/auth/current";
import { getSql } from "@/lib/db";
import { csvLine } from "@/lib/export/csv";
import { exportColumns, streamRuns, type ExportRow } from "@/lib/ledger/queries";
import { searchParamsToObject } from "@/lib/params/registry";
import { exportSchema, runsListSchema, toRunListQuery } from "@/lib/params/runs";

export const dynamic = "force-dynamic";


/**
 * GET /runs/export?<the runs list's filters>&format=csv|json&limit=N: the filtered runs as a download,
 * in list order, streamed from a server-side cursor (never more than one batch in memory) and bounded
 * by `limit` (default 10,000, at most 100,000). Signed-in users only.
 */
export async function GET(request: Request) {
  // Failures answer in the JSON API's error shape, so a script downloading exports reads one format.
  const requestId = randomUUID();
  let session;
  try {
    session = await getSession();
  } catch {
    return errorResponse(503, "UNAVAILABLE", "The ledger database is unreachable; try again when it is back.", requestId);
  }
  if (!session) return errorResponse(401, "UNAUTHENTICATED", "Sign in to export runs.", requestId);

  const query = searchParamsToObject(new URL(request.url).searchParams);
  const { format: rawFormat, limit: rawLimit, ...filters } = query;
  const options = exportSchema.safeParse({ format: rawFormat, limit: rawLimit });
  if (!options.success) return validationError(options.error, "query", requestId);
  // The page's cursor and size do not apply: an export starts at the top of the filter.
  delete filters.cursor;
  delete filters.pageSize;
  const parsed = runsListSchema.safeParse(filters);
  if (!parsed.success) return validationError(parsed.error, "query", requestId);

  const { format, limit } = options.data;
  const runs = streamRuns(getSql(), toRunListQuery(parsed.data), limit);
  // The first batch is read before answering, so a failing query is a clear 503, not a broken download.
  let head: IteratorResult<ExportRow[]>;
  try {
    head = await runs.next();
  } catch (error) {
    console.error("runs export failed", error);
    return errorResponse(503, "UNAVAILABLE", "The export could not be read from the ledger; try again.", requestId);
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
