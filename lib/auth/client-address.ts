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
