import "server-only";
import { cookies, headers } from "next/headers";
import { forbidden, redirect } from "next/navigation";
import { cache } from "react";
import { getSql } from "@/lib/db";
import { env } from "@/lib/env";
import { hasRole, type Role } from "./roles";
import { transportOf } from "./transport";
import { createSession, deleteSession, findSession, type Session } from "./sessions";
import type { User } from "./users";

export const SESSION_COOKIE = "idem_session";
/** Set by proxy.ts so server components know where to send the user back after sign-in. */
export const PATH_HEADER = "x-idem-path";

/** The signed-in session for this request, looked up once per request. */
export const getSession = cache(async (): Promise<Session | null> => {
  const token = (await cookies()).get(SESSION_COOKIE)?.value;
  if (!token || token.length > 200) return null;
  return findSession(getSql(), token);
});

export function safeNextPath(value: string | null | undefined): string {
  // Only same-site absolute paths: never "//evil.example" or "https://...", nor control characters,
  // which cannot go in a Location header.
  if (!value || !value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return "/";
  return value.length > 2000 || /[\u0000-\u001f\u007f]/.test(value) ? "/" : value;
}

/**
 * For pages: the signed-in user with at least `role`. Anonymous visitors are sent to sign in (and
 * back here afterwards); a signed-in user without the role gets the 403 page.
 */
export async function requireUser(role: Role = "viewer"): Promise<User> {
  const session = await getSession();
  if (!session) {
    const path = (await headers()).get(PATH_HEADER);
    redirect(`/login?next=${encodeURIComponent(safeNextPath(path))}`);
  }
  if (!hasRole(session.user.role, role)) forbidden();
  return session.user;
}

export interface RequestMeta {
  ip: string;
  userAgent: string | null;
  /** Cookies get the Secure flag everywhere except plain http on localhost (lib/auth/transport.ts). */
  secure: boolean;
  /** Plain http to another machine: a Secure cookie would be dropped, so sign-in says so instead. */
  plainHttpRemote: boolean;
  origin: string | null;
  host: string | null;
  /** This console as the browser addressed it, e.g. http://127.0.0.1:3000 (for redirect URIs). */
  baseUrl: string | null;
}

export async function requestMeta(): Promise<RequestMeta> {
  const h = await headers();
  const transport = transportOf(h, env.IDEM_PUBLIC_URL);
  return {
    // scripts/serve.ts sets X-Forwarded-For from the socket (or trusted proxies). `next dev` has no such
    // server in front, so a client's own header would pick its address: there, all share one.
    ip: env.NODE_ENV === "development" ? "development" : (h.get("x-forwarded-for") ?? "").split(",")[0]?.trim() || "local",
    userAgent: h.get("user-agent"),
    secure: transport.secure,
    plainHttpRemote: transport.plainHttpRemote,
    origin: h.get("origin"),
    // The Origin check compares with the Host the browser sent (through a trusted proxy, the one it forwarded).
    host: h.get("x-forwarded-host") ?? h.get("host"),
    baseUrl: transport.baseUrl,
  };
}

/**
 * Signs this browser in as `userId`: a new session every time (rotation), and the session this
 * browser had, if any, is ended. Password and single sign-on both come through here.
 */
export async function startSession(userId: number, meta: RequestMeta): Promise<void> {
  const sql = getSql();
  const jar = await cookies();
  const previous = jar.get(SESSION_COOKIE)?.value;
  if (previous && previous.length <= 200) await deleteSession(sql, previous);
  const session = await createSession(sql, userId, meta);
  jar.set(SESSION_COOKIE, session.token, { httpOnly: true, sameSite: "lax", secure: meta.secure, path: "/", expires: session.expiresAt });
}
