import { apiRoute, otherMethods } from "@/lib/api/route";
import { renderMetrics } from "@/lib/ops/metrics";

export const dynamic = "force-dynamic";

/**
 * Prometheus scrape endpoint: `Authorization: Bearer idem_...` (any role). Token-only, as the issue
 * asks: a scraper has a token, and a browser session has no business here.
 */
export const GET = apiRoute({
  role: "viewer",
  sessions: false,
  handler: async ({ sql }) => {
    const { body, contentType } = await renderMetrics(sql);
    return new Response(body, { headers: { "content-type": contentType, "cache-control": "no-store" } });
  },
});

export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");
