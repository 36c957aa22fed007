import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedisServer, type RedisServerHandle } from "@/lib/embedded/redis";
import { createRedis } from "@/lib/redis";
import type { Redis } from "ioredis";
import { escapeGlob, globMatch } from "./glob";

const cases: Array<[pattern: string, text: string]> = [
  ["*", ""],
  ["*", "anything"],
  ["lock:*", "lock:order:42"],
  ["lock:*", "lock:"],
  ["lock:*", "locks:x"],
  ["lock:*", "xlock:1"],
  ["task:?", "task:1"],
  ["task:?", "task:12"],
  ["task:?", "task:é"],
  ["task:??", "task:é"],
  ["a*b*c", "axxbyyc"],
  ["a*b*c", "axxbyy"],
  ["a*b*c", "abcbc"],
  ["*:order:*", "lock:order:42"],
  ["[abc]x", "bx"],
  ["[abc]x", "dx"],
  ["[^abc]x", "dx"],
  ["[^abc]x", "ax"],
  ["[a-c]x", "bx"],
  ["[c-a]x", "bx"],
  ["[a-c]x", "dx"],
  ["\\*x", "*x"],
  ["\\*x", "ax"],
  ["[\\]]", "]"],
  ["a\\", "a\\"],
  ["[abc", "a"],
  ["[abc", "d"],
  ["idem:lock:*", "idem:lock:send_email:k1"],
  ["**a", "bba"],
  ["a*", "a"],
  ["*a*", "xyz"],
];

describe("globMatch", () => {
  let server: RedisServerHandle;
  let redis: Redis;
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "idem-glob-"));
    server = await startRedisServer({ dir });
    redis = createRedis(server.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // Redis is the specification: every case is checked against a real server's KEYS.
  it.each(cases)("%s against %s agrees with Redis", async (pattern, text) => {
    await redis.flushdb(); // a private server started by this test, never the shared one
    await redis.set(text, "1");
    const redisSays = (await redis.keys(pattern)).includes(text);
    expect(globMatch(pattern, text)).toBe(redisSays);
  });

  it("escapeGlob makes a prefix match only itself", () => {
    const prefix = "weird*[prefix]?\\:";
    expect(globMatch(`${escapeGlob(prefix)}*`, `${prefix}task:key`)).toBe(true);
    expect(globMatch(`${escapeGlob(prefix)}*`, "weirdXXprefix]?\\:task")).toBe(false);
  });
});
