import { describe, expect, it } from "vitest";
import { parseEnv } from "./env";

describe("environment", () => {
  it("leaves unset and blank variables to their defaults (the embedded servers for the URLs)", () => {
    const env = parseEnv({ DATABASE_URL: "", PORT: " " });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.REDIS_URL).toBeUndefined();
    expect(env.PORT).toBe(3000);
    expect(env.IDEM_LOCK_PREFIX).toBe("idem:lock:");
  });

  it("names every bad variable and says what it must be", () => {
    expect(() => parseEnv({ DATABASE_URL: "mysql://db", REDIS_URL: "localhost:6379", PORT: "http", IDEM_DB_POOL_MAX: "0" })).toThrow(
      /DATABASE_URL: must be a URL like postgres:.*\n.*REDIS_URL: must be a URL like redis:.*\n.*PORT: must be a port number.*\n.*IDEM_DB_POOL_MAX: must be a whole number/s,
    );
  });

  it("takes the OIDC settings together or not at all, naming what is missing", () => {
    expect(parseEnv({}).IDEM_OIDC_ISSUER).toBeUndefined();
    const oidc = parseEnv({ IDEM_OIDC_ISSUER: "https://id.example.com", IDEM_OIDC_CLIENT_ID: "idem", IDEM_OIDC_CLIENT_SECRET: "s3cret" });
    expect(oidc).toMatchObject({ IDEM_OIDC_USERNAME_CLAIM: "email", IDEM_OIDC_NAME: "single sign-on" });
    expect(() => parseEnv({ IDEM_OIDC_ISSUER: "https://id.example.com" })).toThrow(
      /IDEM_OIDC_CLIENT_ID: is required when any of .*\n.*IDEM_OIDC_CLIENT_SECRET: is required/s,
    );
    expect(() => parseEnv({ IDEM_OIDC_ISSUER: "id.example.com", IDEM_OIDC_CLIENT_ID: "idem", IDEM_OIDC_CLIENT_SECRET: "s" })).toThrow(/IDEM_OIDC_ISSUER: must be a URL/);
    expect(() => parseEnv({ IDEM_OIDC_USERNAME_CLAIM: "email; drop" })).toThrow(/IDEM_OIDC_USERNAME_CLAIM: must be a claim name/);
  });

  it("takes IDEM_PUBLIC_URL over https, or plain http only for this machine", () => {
    expect(parseEnv({}).IDEM_PUBLIC_URL).toBeUndefined();
    expect(parseEnv({ IDEM_PUBLIC_URL: "https://idem.example.com" }).IDEM_PUBLIC_URL).toBe("https://idem.example.com");
    expect(parseEnv({ IDEM_PUBLIC_URL: "http://localhost:3000" }).IDEM_PUBLIC_URL).toBe("http://localhost:3000");
    expect(() => parseEnv({ IDEM_PUBLIC_URL: "http://192.168.1.20:3000" })).toThrow(/IDEM_PUBLIC_URL: must be https/);
    expect(() => parseEnv({ IDEM_PUBLIC_URL: "idem.example.com" })).toThrow(/IDEM_PUBLIC_URL: must be a URL/);
  });

  it("splits lock patterns on commas", () => {
    expect(parseEnv({ IDEM_LOCK_PATTERNS: "lock:*, task:* ,," }).IDEM_LOCK_PATTERNS).toEqual(["lock:*", "task:*"]);
  });
});
