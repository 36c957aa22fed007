import { otherMethods } from "@/lib/api/route";
import { openApiDocument } from "@/lib/api/openapi";

export const dynamic = "force-dynamic";

/**
 * The API's description, public like any API reference: it holds no data. Its server is "/", the
 * origin it was fetched from: the request's own URL names the address Next listens on (localhost),
 * and a Host header is the client's to choose, so neither belongs in a document caches may keep.
 */
export function GET() {
  return Response.json(openApiDocument("/"), { headers: { "cache-control": "public, max-age=300" } });
}

export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");
