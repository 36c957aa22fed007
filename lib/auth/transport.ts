/**
 * How a request reached the console, for the session cookie's Secure flag, the sign-in page's warning
 * and OIDC redirect URIs. Pure, so lib/env.ts, proxy.ts and tests can use it.
 *
 * Only trustworthy inputs go in: IDEM_PUBLIC_URL when set (the console's address as browsers use it,
 * e.g. behind a TLS-terminating proxy); otherwise X-Forwarded-Proto / X-Forwarded-Host, which
 * scripts/serve.ts overwrites with the socket's own facts unless IDEM_TRUSTED_PROXIES says a proxy sets
 * them; and the Host header.
 */
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** This machine by name or loopback address: where plain http is acceptable (cookies, an OIDC provider). */
export function isLoopbackHost(hostname: string): boolean {
  const name = hostname.toLowerCase();
  return LOOPBACK_HOSTS.has(name) || name.endsWith(".localhost") || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** A host header's name without its port: `[::1]:3000` -> `[::1]`, `example.com:443` -> `example.com`. */
export function hostnameOf(host: string): string {
  return host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.replace(/:\d*$/, "");
}

export interface Transport {
  /** The browser reached the console over https (directly or through a trusted proxy). */
  https: boolean;
  /** Cookies get the Secure flag: everywhere except plain http to this machine. */
  secure: boolean;
  /** Plain http to another machine: the browser will drop a Secure cookie, so sign-in cannot work. */
  plainHttpRemote: boolean;
  /** This console as the browser addresses it, e.g. https://idem.example.com (for redirect URIs). */
  baseUrl: string | null;
  host: string | null;
}

export function requestTransport(input: { publicUrl?: string; forwardedProto: string | null; forwardedHost: string | null; host: string | null }): Transport {
  if (input.publicUrl) {
    const url = new URL(input.publicUrl);
    const https = url.protocol === "https:";
    return { https, secure: https || !isLoopbackHost(url.hostname), plainHttpRemote: false, baseUrl: url.origin, host: url.host };
  }
  const host = input.forwardedHost ?? input.host;
  const https = (input.forwardedProto ?? "http").split(",")[0]?.trim().toLowerCase() === "https";
  const loopback = host ? isLoopbackHost(hostnameOf(host)) : false;
  return {
    https,
    secure: https || !loopback,
    plainHttpRemote: !https && host !== null && !loopback,
    baseUrl: host ? `${https ? "https" : "http"}://${host}` : null,
    host,
  };
}

/** What the sign-in page says when a Secure cookie cannot be kept (plain http to another machine). */
export function plainHttpMessage(host: string | null): string {
  return `This console was opened over plain http${host ? ` at ${host}` : ""}. Browsers keep the sign-in cookie only over https (or on localhost), so signing in here cannot work. Open it over https (behind a proxy that terminates TLS, set IDEM_PUBLIC_URL or IDEM_TRUSTED_PROXIES), or at http://localhost on the console's own machine.`;
}

/** requestTransport from a request's headers (the caller passes IDEM_PUBLIC_URL: this file stays free of env). */
export function transportOf(headers: Pick<Headers, "get">, publicUrl: string | undefined): Transport {
  return requestTransport({
    publicUrl,
    forwardedProto: headers.get("x-forwarded-proto"),
    forwardedHost: headers.get("x-forwarded-host"),
    host: headers.get("host"),
  });
}
