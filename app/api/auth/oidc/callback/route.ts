import { otherMethods } from "@/lib/api/route";
import type { NextRequest, NextResponse } from "next/server";
import { requestMeta, safeNextPath, startSession } from "@/lib/auth/current";
import { OIDC_COOKIE, OidcSignInError, finishOidcSignIn, oidcSettings } from "@/lib/auth/oidc";
import { recordLoginAttempt } from "@/lib/auth/sessions";
import { findUserForLogin } from "@/lib/auth/users";
import { getSql } from "@/lib/db";
import { backToLogin, notConfigured, redirectWithin, setFlowCookie } from "../responses";

/**
 * The provider sends the browser back here with a code. Checked against this browser's flow cookie,
 * exchanged for an ID token, and the account it names is signed in; the flow cookie is spent either way.
 */
export async function GET(request: NextRequest) {
  const settings = oidcSettings();
  if (!settings) return notConfigured();
  const meta = await requestMeta();
  const sql = getSql();
  let response: NextResponse;
  try {
    if (!meta.baseUrl) throw new OidcSignInError("unavailable", "the request named no host");
    // The URL the provider redirected to, as this console is addressed (not as Next sees itself).
    const callbackUrl = new URL(`${meta.baseUrl}${request.nextUrl.pathname}${request.nextUrl.search}`);
    const { username, next } = await finishOidcSignIn(settings, callbackUrl, request.cookies.get(OIDC_COOKIE)?.value);
    const user = await findUserForLogin(sql, username);
    if (!user || user.disabledAt) {
      await recordLoginAttempt(sql, username, meta.ip, false);
      throw new OidcSignInError("unknown_account", `no enabled console account is named ${JSON.stringify(username)}`);
    }
    await recordLoginAttempt(sql, user.username, meta.ip, true);
    await startSession(user.id, meta);
    response = redirectWithin(safeNextPath(next));
  } catch (error) {
    if (error instanceof OidcSignInError) console.warn(`[idem] single sign-on refused (${error.failure}): ${error.message}`);
    else console.error("[idem] single sign-on failed", error);
    response = backToLogin(error instanceof OidcSignInError ? error.failure : "unavailable");
  }
  setFlowCookie(response, "", meta.secure, 0);
  return response;
}

export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");
