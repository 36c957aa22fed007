import { describe, expect, it } from "vitest";
import { parseEnv } from "@/lib/env";
import { isClusterUrl } from "@/lib/redis";

describe("lock settings in the environment", () => {
  it("templates are checked at start, naming the variable and the problem", () => {
    expect(() => parseEnv({ IDEM_LOCK_TEMPLATES: "lock:order:{key}" })).toThrow(/IDEM_LOCK_TEMPLATES: .*needs the task/);
    expect(() => parseEnv({ IDEM_LOCK_TEMPLATES: "lock:order:{key}=charge_invoice, task:{id}=x" })).toThrow(/IDEM_LOCK_TEMPLATES: .*takes no/);
    expect(parseEnv({ IDEM_LOCK_TEMPLATES: "lock:order:{key}=charge_invoice, task:{id}" }).IDEM_LOCK_TEMPLATES).toEqual([
      "lock:order:{key}=charge_invoice",
      "task:{id}",
    ]);
  });
  it("patterns must start with a fixed prefix: a bare * would make every key a releasable lock", () => {
    expect(() => parseEnv({ IDEM_LOCK_PATTERNS: "lock:*,*" })).toThrow(/IDEM_LOCK_PATTERNS: "\*" does not start with a fixed prefix/);
    expect(() => parseEnv({ IDEM_LOCK_PATTERNS: "?ession:*" })).toThrow(/IDEM_LOCK_PATTERNS/);
    expect(() => parseEnv({ IDEM_LOCK_PATTERNS: "[a-z]*" })).toThrow(/IDEM_LOCK_PATTERNS/);
    expect(parseEnv({ IDEM_LOCK_PATTERNS: "lock:*, task:*" }).IDEM_LOCK_PATTERNS).toEqual(["lock:*", "task:*"]);
  });
  it("the scan cap is bounded", () => {
    expect(parseEnv({}).IDEM_LOCK_SCAN_MAX_KEYS).toBe(10_000);
    expect(() => parseEnv({ IDEM_LOCK_SCAN_MAX_KEYS: "5" })).toThrow(/IDEM_LOCK_SCAN_MAX_KEYS/);
  });
  it("REDIS_URL may name a Redis Cluster seed node with ?cluster=1", () => {
    expect(parseEnv({ REDIS_URL: "redis://127.0.0.1:7000?cluster=1" }).REDIS_URL).toBe("redis://127.0.0.1:7000?cluster=1");
    expect(() => parseEnv({ REDIS_URL: "redis://127.0.0.1:7000?cluster=yes" })).toThrow(/REDIS_URL: cluster= must be 1 or 0/);
    expect(() => parseEnv({ REDIS_URL: "http://127.0.0.1:7000" })).toThrow(/REDIS_URL: must be a URL like/);
    expect(isClusterUrl("redis://127.0.0.1:7000?cluster=1")).toBe(true);
    expect(isClusterUrl("redis://127.0.0.1:7000?cluster=0")).toBe(false);
    expect(isClusterUrl("redis://127.0.0.1:7000")).toBe(false);
  });
});
