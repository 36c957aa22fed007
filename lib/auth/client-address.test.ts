import { describe, expect, it } from "vitest";
import { clientAddress, forwardedTransport, throttleAddress } from "./client-address";

describe("client address", () => {
  it("ignores a client-sent X-Forwarded-For when no proxy is trusted", () => {
    expect(clientAddress("203.0.113.9", "127.0.0.1", 0)).toBe("127.0.0.1");
    expect(clientAddress(undefined, "::1", 0)).toBe("::1");
  });

  it("takes the address the outermost trusted proxy saw", () => {
    // client -> (spoofs 203.0.113.9) -> nginx (appends 198.51.100.7) -> console
    expect(clientAddress("203.0.113.9, 198.51.100.7", "10.0.0.2", 1)).toBe("198.51.100.7");
    expect(clientAddress("203.0.113.9, 198.51.100.7, 10.0.0.5", "10.0.0.2", 2)).toBe("198.51.100.7");
    expect(clientAddress(["198.51.100.7"], "10.0.0.2", 1)).toBe("198.51.100.7");
  });

  it("falls back to the leftmost address when fewer proxies appended than trusted", () => {
    expect(clientAddress("", "10.0.0.2", 3)).toBe("10.0.0.2");
    expect(clientAddress("198.51.100.7", "10.0.0.2", 5)).toBe("198.51.100.7");
  });
});

describe("forwarded transport (X-Forwarded-Proto / -Host)", () => {
  it("ignores what a client sent when no proxy is trusted: the socket says http or https", () => {
    expect(forwardedTransport({ proto: "https", host: "idem.example.com" }, false, 0)).toEqual({ proto: "http", host: undefined });
    expect(forwardedTransport({ proto: "http", host: undefined }, true, 0)).toEqual({ proto: "https", host: undefined });
  });

  it("keeps what a trusted proxy set (its first value)", () => {
    expect(forwardedTransport({ proto: "https", host: "idem.example.com" }, false, 1)).toEqual({ proto: "https", host: "idem.example.com" });
    expect(forwardedTransport({ proto: ["https, http"], host: undefined }, false, 2)).toEqual({ proto: "https", host: undefined });
    expect(forwardedTransport({ proto: undefined, host: undefined }, false, 1)).toEqual({ proto: "http", host: undefined });
  });
});

describe("throttle address", () => {
  it("counts IPv6 clients by their /64, whatever the notation", () => {
    expect(throttleAddress("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(throttleAddress("2001:0db8:0001:0002:ffff:0:0:1")).toBe("2001:db8:1:2::/64");
    expect(throttleAddress("2001:db8:1:2::abcd")).toBe("2001:db8:1:2::/64");
    expect(throttleAddress("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(throttleAddress("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
  });

  it("leaves IPv4, loopback and garbage as they are (IPv4-mapped IPv6 is IPv4)", () => {
    expect(throttleAddress("203.0.113.9")).toBe("203.0.113.9");
    expect(throttleAddress("::ffff:203.0.113.9")).toBe("203.0.113.9");
    expect(throttleAddress("::1")).toBe("::1");
    expect(throttleAddress("local")).toBe("local");
    expect(throttleAddress("1:2:3")).toBe("1:2:3");
    expect(throttleAddress("zz::1")).toBe("zz::1");
  });
});
