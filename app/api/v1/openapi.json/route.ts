import { openApiDocument } from "@/lib/api/openapi";

export const dynamic = "force-dynamic";

/** The API's description, public like any API reference: it holds no data. */
export function GET(request: Request) {
  const url = new URL(request.url);
  return Response.json(openApiDocument(url.origin), { headers: { "cache-control": "public, max-age=300" } });
}
