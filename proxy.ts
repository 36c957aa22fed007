import { NextResponse, type NextRequest } from "next/server";
import { checkActionRequest } from "@/lib/auth/action-request";
import { transportOf } from "@/lib/auth/transport";
import { postgresReachable } from "@/lib/db";
import { env } from "@/lib/env";
import { pageParamsFor } from "@/lib/params";
import { errorPageHtml } from "@/lib/params/error-page";
import { describeIssue, searchParamsToObject } from "@/lib/params/registry";

/**
 * Runs before every page and API route: a fresh CSP nonce per request (Next applies it to its own
 * scripts, so no inline script runs without it), the security headers, the request path for server
 * components that send anonymous visitors to sign in and back, and a 4xx for server action requests
 * that are cross-origin, oversized or malformed. Authorisation itself is checked in every page, action
 * and route handler, never only here.
 */
export async function proxy(request: NextRequest) {
  const nonce = btoa(crypto.randomUUID());
  // React needs eval in development only, to rebuild server error stacks in the browser.
  const dev = env.NODE_ENV === "development";
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    // React and the chart library set style attributes; inline styles cannot run code.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");

  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("x-nonce", nonce);
  requestHeaders.set("content-security-policy", csp);
  requestHeaders.set("x-idem-path", `${request.nextUrl.pathname}${request.nextUrl.search}`);

  const response =
    badParameters(request) ??
    (await refusedAction(request)) ??
    (await postgresDown(request)) ??
    NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("content-security-policy", csp);
  response.headers.set("x-frame-options", "DENY");
  response.headers.set("x-content-type-options", "nosniff");
  response.headers.set("referrer-policy", "same-origin");
  response.headers.set("permissions-policy", "camera=(), microphone=(), geolocation=()");
  response.headers.set("cross-origin-opener-policy", "same-origin");
  // Over https (as IDEM_PUBLIC_URL or a trusted proxy says; serve.ts drops a client's own claim), browsers
  // should never try plain http again, where the session cookie would not be sent anyway.
  const transport = transportOf(request.headers, env.IDEM_PUBLIC_URL);
  if (transport.https) response.headers.set("strict-transport-security", "max-age=31536000");
  return response;
}

/**
 * A page request whose query does not parse is answered 400, with the reason, before the page renders.
 * The answer is a small HTML page of its own: Next keeps neither a rewrite's status nor lets a page set
 * one, so a rewrite to /bad-request would say 400 in the page but 200 on the wire.
 */
function badParameters(request: NextRequest): NextResponse | null {
  const { pathname, searchParams } = request.nextUrl;
  const entry = pageParamsFor(pathname);
  if (!entry) return null;
  const parsed = entry.schema.safeParse(searchParamsToObject(searchParams));
  if (parsed.success) return null;
  const html = errorPageHtml({
    status: 400,
    title: "Bad request",
    message: describeIssue(parsed.error),
    backHref: pathname,
    backLabel: "Open the page without the bad parameters",
  });
  return new NextResponse(html, { status: 400, headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } });
}

/**
 * A write to a console page is a server action: from another origin, without Origin, of a type React
 * does not send, too large or malformed, it is answered here with a 4xx (Next would throw: a 500).
 * The JSON API under /api authenticates with bearer tokens and checks its own bodies.
 */
async function refusedAction(request: NextRequest): Promise<NextResponse | null> {
  if (request.nextUrl.pathname.startsWith("/api/")) return null;
  const refusal = await checkActionRequest(request, request.headers.get("x-forwarded-host") ?? request.headers.get("host"));
  if (!refusal) return null;
  return new NextResponse(`${refusal.message}\n`, { status: refusal.status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });
}

/**
 * While Postgres is down nothing in the console can render (sessions and the ledger live there):
 * answer 503 with a page that says so and retries, and JSON for the API, rather than a 500 from
 * whichever query fails first. /api/health keeps answering on its own.
 */
async function postgresDown(request: NextRequest): Promise<NextResponse | null> {
  const { pathname, search } = request.nextUrl;
  if (pathname === "/api/health" || (await postgresReachable())) return null;
  const message = "Postgres is unreachable, so the console cannot read or change the ledger. This page tries again every 10 seconds; nothing was changed.";
  if (pathname.startsWith("/api/")) {
    return NextResponse.json(
      { error: { code: "UNAVAILABLE", message, requestId: crypto.randomUUID() } },
      { status: 503, headers: { "cache-control": "no-store", "retry-after": "10" } },
    );
  }
  const html = errorPageHtml({ status: 503, title: "Postgres is unreachable", message, backHref: `${pathname}${search}`, backLabel: "Try again now", refreshSeconds: 10 });
  return new NextResponse(html, { status: 503, headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "retry-after": "10" } });
}

export const config = {
  matcher: [
    // Prefetches too: skipping requests that carry a next-router-prefetch header would let a client
    // add that header to an action POST and bypass the checks above.
    { source: "/((?!_next/static|_next/image|favicon.ico).*)" },
  ],
};
