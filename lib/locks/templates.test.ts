import { describe, expect, it } from "vitest";
import { buildLockConfig, isInventoried, mapLockKey } from "./config";
import { matchTemplate, parseLockTemplate } from "./templates";

describe("parseLockTemplate", () => {
  it("a fixed task and a key from the lock key", () => {
    const t = parseLockTemplate("lock:order:{key}=charge_invoice");
    expect(t).toMatchObject({ pattern: "lock:order:*", by: "task_key", task: "charge_invoice" });
    expect(matchTemplate(t, "lock:order:42")).toEqual({ by: "task_key", task: "charge_invoice", key: "42" });
    expect(matchTemplate(t, "lock:order:")).toBeNull();
    expect(matchTemplate(t, "lock:orders:42")).toBeNull();
  });
  it("task and key both from the lock key", () => {
    const t = parseLockTemplate("jobs:{task}:{key}");
    expect(matchTemplate(t, "jobs:send_email:user:7")).toEqual({ by: "task_key", task: "send_email", key: "user:7" });
  });
  it("a run id", () => {
    const t = parseLockTemplate("task:{id}");
    expect(t.pattern).toBe("task:*");
    expect(matchTemplate(t, "task:1234")).toEqual({ by: "id", runId: 1234 });
    expect(matchTemplate(t, "task:7f9c2d1e-5b3a")).toBeNull();
    expect(matchTemplate(t, "task:0")).toBeNull();
  });
  it("glob characters in the fixed text are escaped in the pattern", () => {
    expect(parseLockTemplate("l*ck:[x]:{id}").pattern).toBe("l\\*ck:\\[x\\]:*");
  });
  it.each([
    ["", "empty"],
    ["lock:{key}", "needs the task"],
    ["lock:{id}=charge", "takes no"],
    ["lock:{task}:{key}=charge", "either"],
    ["lock:order", "needs {key}"],
    ["lock:{key}:{key}=t", "only once"],
    ["lock:{name}=t", "only placeholders"],
    ["lock:{key}=bad:task", "task name"],
    ["{id}", "fixed text"],
  ])("%j is refused (%s)", (text, message) => {
    expect(() => parseLockTemplate(text)).toThrow(message);
  });
});

describe("buildLockConfig / mapLockKey", () => {
  const config = buildLockConfig({
    sdkPrefix: "t:idem:lock:",
    patterns: ["t:lock:*", "t:task:*"],
    templates: ["t:lock:order:{key}=charge_invoice", "t:task:{id}"],
  });
  it("scans the SDK prefix first, then the patterns and the templates' patterns, once each", () => {
    expect(config.patterns).toEqual(["t:idem:lock:*", "t:lock:*", "t:task:*", "t:lock:order:*"]);
  });
  it("maps SDK keys, template keys, and nothing else", () => {
    expect(mapLockKey(config, "t:idem:lock:send_email:k1")).toEqual({ source: "sdk", by: "task_key", task: "send_email", key: "k1" });
    expect(mapLockKey(config, "t:lock:order:42")).toMatchObject({ source: "template", task: "charge_invoice", key: "42" });
    expect(mapLockKey(config, "t:task:99")).toMatchObject({ source: "template", by: "id", runId: 99 });
    expect(mapLockKey(config, "t:lock:report:daily")).toBeNull();
  });
  it("only keys under a configured pattern are the console's to release", () => {
    expect(isInventoried(config, "t:lock:report:daily")).toBe(true);
    expect(isInventoried(config, "t:session:abc")).toBe(false);
    expect(isInventoried(config, "idem:lock:send_email:k1")).toBe(false);
  });
});
