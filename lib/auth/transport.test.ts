import { describe, expect, it } from "vitest";
import { hostnameOf, isLoopbackHost, requestTransport } from "./transport";

const request = (host: string | null, forwardedProto: string | null = null, forwardedHost: string | null = null, publicUrl?: string) =>
  requestTransport({ host, forwardedProto, forwardedHost, publicUrl });

describe("request transport: the session cookie's Secure flag", () => {
  it("is off only for plain http to this machine", () => {
    for (const host of ["127.0.0.1:3000", "localhost:3000", "[::1]:3000", "localhost"]) {
      expect(request(host, "http")).toMatchObject({ https: false, secure: false, plainHttpRemote: false });
    }
  });

  it("is on for any other host, and plain http there is called out (the browser would drop the cookie)", () => {
    expect(request("192.168.1.20:3000", "http")).toMatchObject({ secure: true, plainHttpRemote: true, baseUrl: "http://192.168.1.20:3000" });
    expect(request("idem.example.com", "http")).toMatchObject({ secure: true, plainHttpRemote: true });
    // No forwarded proto at all is plain http, not an assumption of https.
    expect(request("idem.example.com")).toMatchObject({ https: false, secure: true, plainHttpRemote: true });
  });

  it("is on over https, wherever", () => {
    expect(request("127.0.0.1:3000", "https")).toMatchObject({ https: true, secure: true, plainHttpRemote: false, baseUrl: "https://127.0.0.1:3000" });
    expect(request("10.0.0.1:3000", "https", "idem.example.com")).toMatchObject({ https: true, secure: true, baseUrl: "https://idem.example.com" });
  });

  it("follows IDEM_PUBLIC_URL over the request when set: a proxy forwarding Host: 127.0.0.1 cannot turn Secure off", () => {
    expect(request("127.0.0.1:3000", "http", null, "https://idem.example.com")).toEqual({
      https: true,
      secure: true,
      plainHttpRemote: false,
      baseUrl: "https://idem.example.com",
      host: "idem.example.com",
    });
    expect(request("127.0.0.1:3000", null, null, "http://localhost:8080")).toMatchObject({ https: false, secure: false, baseUrl: "http://localhost:8080" });
  });
});

describe("loopback hosts", () => {
  it("knows this machine's names and addresses, not look-alikes", () => {
    for (const name of ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "[::1]", "app.localhost"]) expect(isLoopbackHost(name), name).toBe(true);
    for (const name of ["localhost.example.com", "127.0.0.1.nip.io", "10.0.0.1", "[::2]", "0.0.0.0", ""]) expect(isLoopbackHost(name), name).toBe(false);
  });

  it("strips a port from a Host header, IPv6 included", () => {
    expect(hostnameOf("[::1]:3000")).toBe("[::1]");
    expect(hostnameOf("example.com:443")).toBe("example.com");
    expect(hostnameOf("example.com")).toBe("example.com");
  });
});
