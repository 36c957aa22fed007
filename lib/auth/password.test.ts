import { randomBytes, scryptSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DUMMY_HASH, hashPassword, verifyPassword } from "./password";

describe("password hashing (scrypt)", () => {
  it("verifies the password it hashed, and nothing else", async () => {
    const stored = await hashPassword("correct horse battery staple");
    expect(await verifyPassword("correct horse battery staple", stored)).toBe(true);
    expect(await verifyPassword("correct horse battery stapl", stored)).toBe(false);
    expect(await verifyPassword("", stored)).toBe(false);
  });

  it("stores OWASP-strength parameters and a random salt with each hash, never the password", async () => {
    const [a, b] = await Promise.all([hashPassword("same password"), hashPassword("same password")]);
    expect(a).not.toBe(b);
    expect(a).not.toContain("same password");
    const [scheme, n, r, p, salt, key] = a.split("$");
    expect(scheme).toBe("scrypt");
    // OWASP: N=2^17,r=8,p=1 or N=2^15,r=8,p=3 (equal work), at least.
    expect(Number(n) * Number(p)).toBeGreaterThanOrEqual(2 ** 15 * 3);
    expect(Number(r)).toBeGreaterThanOrEqual(8);
    expect(Buffer.from(salt!, "base64url")).toHaveLength(16);
    expect(Buffer.from(key!, "base64url")).toHaveLength(32);
  });

  it("still verifies a hash made with earlier parameters (N=2^15, r=8, p=1)", async () => {
    const salt = randomBytes(16);
    const key = scryptSync("an older password".normalize("NFKC"), salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    const old = `scrypt$32768$8$1$${salt.toString("base64url")}$${key.toString("base64url")}`;
    expect(await verifyPassword("an older password", old)).toBe(true);
    expect(await verifyPassword("another password", old)).toBe(false);
  });

  it("compares passwords in NFKC, so the same text typed on another keyboard matches", async () => {
    const stored = await hashPassword("caf\u00e9-password");
    expect(await verifyPassword("cafe\u0301-password", stored)).toBe(true);
  });

  it("refuses malformed stored hashes instead of throwing", async () => {
    for (const stored of ["", "plain", "bcrypt$2$x$y$z$w", "scrypt$x$8$1$AAAA$AAAA", "scrypt$32768$8$1$$", "scrypt$-1$8$1$AAAA$AAAA"]) {
      expect(await verifyPassword("anything", stored), stored).toBe(false);
    }
  });

  it("the dummy hash used for unknown users costs a real verification and matches nothing", async () => {
    expect(DUMMY_HASH.split("$").slice(1, 4)).toEqual((await hashPassword("x")).split("$").slice(1, 4));
    expect(await verifyPassword("", DUMMY_HASH)).toBe(false);
    expect(await verifyPassword("password", DUMMY_HASH)).toBe(false);
  });
});
