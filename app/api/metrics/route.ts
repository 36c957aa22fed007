import { apiRoute, otherMethods } from "@/lib/api/route";
import { renderMetrics } from "@/lib/ops/metrics";

export const dynamic = "force-dynamic";

/** Prometheus scrape endpoint: `Authorization: Bearer idem_...` (any role). */
export const GET = apiRoute({
  role: "viewer",
  handler: async ({ sql }) => {
    const { body, contentType } = await renderMetrics(sql);
    return new Response(body, { headers: { "content-type": contentType, "cache-control": "no-store" } });
  },
});

export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");
