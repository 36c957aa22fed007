import { randomUUID } from "node:crypto";
import { NextResponse } from "next/server";
import { errorResponse } from "@/lib/api/route";
import { OIDC_COOKIE, OIDC_COOKIE_PATH, type OidcFailure } from "@/lib/auth/oidc";

/**
 * A redirect within the console by a relative Location, so the browser stays on the host it used
 * (the session cookie belongs to that host; Next's idea of its own URL may name another).
 */
export function redirectWithin(path: string): NextResponse {
  return new NextResponse(null, { status: 303, headers: { location: path, "cache-control": "no-store" } });
}

/** Back to the sign-in page, which says what went wrong in words (see app/login/page.tsx). */
export function backToLogin(failure: OidcFailure): NextResponse {
  return redirectWithin(`/login?${new URLSearchParams({ sso: failure })}`);
}

/** The flow cookie, set by the start (maxAge: the flow's lifetime) and spent by the callback (maxAge 0). */
export function setFlowCookie(response: NextResponse, value: string, secure: boolean, maxAge: number): void {
  response.cookies.set(OIDC_COOKIE, value, { httpOnly: true, sameSite: "lax", secure, path: OIDC_COOKIE_PATH, maxAge });
}

export function notConfigured(): Response {
  return errorResponse(404, "NOT_FOUND", "Single sign-on is not configured on this console (IDEM_OIDC_ISSUER is unset).", randomUUID());
}
