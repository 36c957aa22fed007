import { unknownPath } from "@/lib/api/route";

export const dynamic = "force-dynamic";

/** Any /api path that is no route, by any method: a JSON 404 in the API's error shape, not the console's HTML page. */
export { unknownPath as GET, unknownPath as HEAD, unknownPath as POST, unknownPath as PUT, unknownPath as PATCH, unknownPath as DELETE, unknownPath as OPTIONS };
