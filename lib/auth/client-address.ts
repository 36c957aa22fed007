/**
 * The client's address for a request that reached the console's own HTTP server (scripts/serve.ts).
 * With no trusted proxy, the socket's address: an X-Forwarded-For the client sent itself is ignored,
 * so it cannot pick the address the per-IP sign-in limit counts. Behind `trusted` proxies that each
 * append the address they saw, the address the outermost trusted proxy saw.
 */
export function clientAddress(forwardedFor: string | string[] | undefined, socketAddress: string | undefined, trusted: number): string {
  const socket = socketAddress ?? "unknown";
  if (trusted === 0) return socket;
  const chain = [...(Array.isArray(forwardedFor) ? forwardedFor.join(",") : (forwardedFor ?? "")).split(","), socket]
    .map((entry) => entry.trim())
    .filter(Boolean);
  return chain[Math.max(0, chain.length - 1 - trusted)] ?? socket;
}

/**
 * The X-Forwarded-Proto / X-Forwarded-Host the console may believe. With no trusted proxy they are
 * the client's to invent (a client claiming https, or a proxy that forwards Host: 127.0.0.1 without
 * saying the browser used https), so the socket's own facts replace them: its TLS, and no forwarded
 * host. Behind trusted proxies, the headers the outermost one set are kept.
 */
export function forwardedTransport(
  headers: { proto: string | string[] | undefined; host: string | string[] | undefined },
  socketEncrypted: boolean,
  trusted: number,
): { proto: string; host: string | undefined } {
  if (trusted === 0) return { proto: socketEncrypted ? "https" : "http", host: undefined };
  const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)?.split(",")[0]?.trim() || undefined;
  return { proto: first(headers.proto) ?? (socketEncrypted ? "https" : "http"), host: first(headers.host) };
}

/**
 * The address the per-IP sign-in limit counts. IPv4 as it is; IPv6 by its /64, because one host
 * usually holds a whole /64 and could otherwise take a fresh address for every 20 guesses. Loopback
 * and anything unparseable stay as they are.
 */
export function throttleAddress(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(":") || ip === "::1") return ip;
  const [head = "", tail = ""] = ip.split("%")[0]!.toLowerCase().split("::") as [string?, string?];
  const left = head ? head.split(":") : [];
  const right = ip.includes("::") && tail ? tail.split(":") : [];
  if (!ip.includes("::") && left.length !== 8) return ip;
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return ip;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}
