import { otherMethods } from "@/lib/api/route";
import { NextResponse, type NextRequest } from "next/server";
import { requestMeta, safeNextPath } from "@/lib/auth/current";
import { OIDC_FLOW_TTL_S, OidcSignInError, oidcSettings, startOidcSignIn } from "@/lib/auth/oidc";
import { backToLogin, notConfigured, setFlowCookie } from "../responses";

/** Sends the browser to the OpenID Connect provider; the flow's secrets ride in a short-lived cookie. */
export async function GET(request: NextRequest) {
  const settings = oidcSettings();
  if (!settings) return notConfigured();
  const meta = await requestMeta();
  const next = safeNextPath(request.nextUrl.searchParams.get("next"));
  if (!meta.baseUrl) return backToLogin("unavailable");
  try {
    const { url, cookie } = await startOidcSignIn(settings, `${meta.baseUrl}/api/auth/oidc/callback`, next);
    const response = NextResponse.redirect(url, 303);
    setFlowCookie(response, cookie, meta.secure, OIDC_FLOW_TTL_S);
    response.headers.set("cache-control", "no-store");
    return response;
  } catch (error) {
    console.error("[idem] single sign-on could not start", error);
    return backToLogin(error instanceof OidcSignInError ? error.failure : "unavailable");
  }
}

export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");
