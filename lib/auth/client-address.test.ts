import { describe, expect, it } from "vitest";
import { clientAddress, forwardedTransport } from "./client-address";

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
