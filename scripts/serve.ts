import { createServer, type IncomingMessage } from "node:http";
import path from "node:path";
import { parseArgs } from "node:util";
import next from "next";
import type { TLSSocket } from "node:tls";
import { clientAddress, forwardedTransport } from "../lib/auth/client-address";

/**
 * `next start`, with one difference: the client address the console sees (X-Forwarded-For, used for
 * the per-IP sign-in limit and the audit trail) and whether it came over https (X-Forwarded-Proto and
 * -Host, for the cookie's Secure flag) are taken from the socket, not from whatever the client sent. Behind N trusted reverse proxies, pass --trusted-proxies N: the address the outermost trusted
 * proxy saw is used. Started by scripts/launch.ts; it reads no environment of its own.
 */
const { values } = parseArgs({
  options: {
    port: { type: "string" },
    hostname: { type: "string", default: "127.0.0.1" },
    "trusted-proxies": { type: "string", default: "0" },
  },
});
const port = Number(values.port);
const trustedProxies = Number(values["trusted-proxies"]);
if (!Number.isInteger(port) || port < 1 || !Number.isInteger(trustedProxies) || trustedProxies < 0) {
  console.error("usage: serve.ts --port <port> [--hostname <host>] [--trusted-proxies <n>]");
  process.exit(2);
}

const app = next({ dev: false, hostname: values.hostname, port, dir: path.resolve(import.meta.dirname, "..") });
const handle = app.getRequestHandler();
await app.prepare();
createServer((request: IncomingMessage, response) => {
  request.headers["x-forwarded-for"] = clientAddress(request.headers["x-forwarded-for"], request.socket.remoteAddress, trustedProxies);
  // Whether the browser used https decides the session cookie's Secure flag: only a trusted proxy says so.
  const transport = forwardedTransport(
    { proto: request.headers["x-forwarded-proto"], host: request.headers["x-forwarded-host"] },
    (request.socket as Partial<TLSSocket>).encrypted === true,
    trustedProxies,
  );
  request.headers["x-forwarded-proto"] = transport.proto;
  if (transport.host === undefined) delete request.headers["x-forwarded-host"];
  else request.headers["x-forwarded-host"] = transport.host;
  void handle(request, response);
}).listen(port, values.hostname, () => {
  console.log(`[idem] console ready on http://${values.hostname}:${port}`);
});
