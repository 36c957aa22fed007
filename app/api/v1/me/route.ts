import { apiRoute, otherMethods } from "@/lib/api/route";

export const dynamic = "force-dynamic";

/** Who the credentials belong to: lets automation check a token before relying on it. */
export const GET = apiRoute({
  role: "viewer",
  handler: async ({ actor }) => ({ name: actor.name, role: actor.role, via: actor.via }),
});

export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");
