import { describe, expect, it } from "vitest";
import { parseCli } from "./cli";
import { keySequence, median, percentile, roundSpread } from "./measure";
import { connectionArgs, parseCsv } from "./redis-benchmark";
import { replaceSection } from "./report";

describe("docs sections", () => {
  const doc = "# Benchmarks\n\nintro\n\n<!-- bench:a:start -->\nold a\n<!-- bench:a:end -->\n\n<!-- bench:b:start -->\nold b\n<!-- bench:b:end -->\n";

  it("rewrites only the suite's own section", () => {
    const next = replaceSection(doc, "a", "new a");
    expect(next).toContain("<!-- bench:a:start -->\nnew a\n<!-- bench:a:end -->");
    expect(next).toContain("old b");
    expect(next).not.toContain("old a");
    expect(next.startsWith("# Benchmarks\n\nintro")).toBe(true);
  });

  it("appends a section whose markers are missing", () => {
    const next = replaceSection(doc, "c", "new c");
    expect(next.endsWith("<!-- bench:c:start -->\nnew c\n<!-- bench:c:end -->\n")).toBe(true);
    expect(next).toContain("old a");
  });

  it("refuses half a pair of markers rather than guess", () => {
    expect(() => replaceSection("<!-- bench:a:start -->\nx", "a", "y")).toThrow(/markers/);
  });
});

describe("key sequences", () => {
  it("with fresh keys, every key is new", () => {
    const { keys, distinct } = keySequence("k", 100, 0, 1);
    expect(distinct).toBe(100);
    expect(new Set(keys).size).toBe(100);
  });

  it("with 80% duplicates, one op in five brings a new key and the others repeat an earlier one", () => {
    const { keys, distinct } = keySequence("k", 1000, 0.8, 7);
    expect(new Set(keys).size).toBe(distinct);
    expect(distinct).toBeGreaterThanOrEqual(200);
    expect(distinct).toBeLessThanOrEqual(201);
    const seen = new Set<string>();
    for (const key of keys) {
      const index = Number(key.slice(1));
      // A key is either the next new one or one seen before: duplicates never run ahead.
      expect(seen.has(key) || index === seen.size).toBe(true);
      seen.add(key);
    }
  });

  it("is the same sequence for the same seed, so every contender gets the same keys", () => {
    expect(keySequence("k", 500, 0.8, 3).keys).toEqual(keySequence("k", 500, 0.8, 3).keys);
    expect(keySequence("k", 500, 0.8, 3).keys).not.toEqual(keySequence("k", 500, 0.8, 4).keys);
  });
});

describe("statistics", () => {
  it("nearest-rank percentiles, medians and round spread", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 0.5)).toBe(50);
    expect(percentile(sorted, 0.99)).toBe(99);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(roundSpread([90, 100, 110])).toBeCloseTo(0.1);
    expect(roundSpread([100])).toBeNaN();
  });
});

describe("command line", () => {
  const suites = ["submit", "cycle", "locks"];

  it("runs every suite in full mode and writes the docs by default", () => {
    expect(parseCli([], suites)).toMatchObject({ suites, mode: "full", rounds: 5, concurrency: [1, 8, 32], write: true });
  });

  it("quick mode is one round and prints only, unless told to write", () => {
    expect(parseCli(["cycle", "--quick"], suites)).toMatchObject({ suites: ["cycle"], mode: "quick", rounds: 1, write: false });
    expect(parseCli(["--quick", "--write"], suites).write).toBe(true);
    expect(parseCli(["--no-write"], suites).write).toBe(false);
  });

  it("parses concurrency levels and rejects bad input with a clear message", () => {
    expect(parseCli(["--concurrency", "1, 4"], suites).concurrency).toEqual([1, 4]);
    expect(() => parseCli(["--concurrency", "0"], suites)).toThrow(/--concurrency must be at least 1/);
    expect(() => parseCli(["--concurrency", "2,x"], suites)).toThrow(/--concurrency/);
    expect(() => parseCli(["nope"], suites)).toThrow(/unknown suite "nope"/);
    expect(() => parseCli(["--rounds", "0"], suites)).toThrow(/--rounds must be at least 1/);
    expect(() => parseCli(["--frobnicate"], suites)).toThrow(/frobnicate/);
  });
});

describe("redis-benchmark", () => {
  it("reads rps and latency percentiles from --csv output", () => {
    const out =
      '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"\n' +
      '"SET k:__rand_int__ v NX PX 10000","71428.57","0.078","0.016","0.079","0.111","0.143","0.191"\n';
    expect(parseCsv(out)).toEqual({ rps: 71428.57, p50Ms: 0.079, p99Ms: 0.143, avgMs: 0.078 });
    expect(() => parseCsv("Could not connect")).toThrow(/no CSV/);
  });

  it("passes the URL's host, port, credentials and db, and never shows the password", () => {
    const { args, display } = connectionArgs("rediss://bench:s3cret@10.0.0.5:6380/2");
    expect(args).toEqual(["-h", "10.0.0.5", "-p", "6380", "--user", "bench", "-a", "s3cret", "--no-auth-warning", "--dbnum", "2", "--tls"]);
    expect(display.join(" ")).not.toContain("s3cret");
  });
});
