import { describe, expect, it } from "vitest";
import nextConfig from "@/next.config";
import { ACTION_BODY_MAX_BYTES, checkActionRequest, isSameOrigin } from "./action-request";

const host = "console.example:3000";
const origin = `http://${host}`;

function form(entries: Array<[string, string]>): FormData {
  const data = new FormData();
  for (const [name, value] of entries) data.append(name, value);
  return data;
}

/** A POST as the browser sends a server action: Origin, next-action, multipart with row "0". */
function actionRequest(init: { headers?: Record<string, string>; body?: BodyInit | null; method?: string } = {}): Request {
  return new Request(`${origin}/runs/1`, {
    method: init.method ?? "POST",
    headers: { origin, "next-action": "7f00", ...init.headers },
    body: init.body === undefined ? form([["_1_runId", "1"], ["0", '[null,"$K1"]']]) : init.body,
  });
}

describe("isSameOrigin", () => {
  it("compares scheme-less host and port, and refuses what is not an origin", () => {
    expect(isSameOrigin(origin, host)).toBe(true);
    expect(isSameOrigin("https://console.example:3000", host)).toBe(true);
    expect(isSameOrigin("http://console.example:3001", host)).toBe(false);
    expect(isSameOrigin("https://evil.example", host)).toBe(false);
    expect(isSameOrigin("null", host)).toBe(false);
    expect(isSameOrigin(null, host)).toBe(false);
    expect(isSameOrigin(origin, null)).toBe(false);
  });
});

describe("checkActionRequest", () => {
  it("lets through what React sends: a multipart action, a JSON-text action, a form posted before hydration", async () => {
    expect(await checkActionRequest(actionRequest(), host)).toBeNull();
    expect(await checkActionRequest(actionRequest({ headers: { "content-type": "text/plain;charset=UTF-8" }, body: "[]" }), host)).toBeNull();
    const mpa = new Request(`${origin}/runs/1`, { method: "POST", headers: { origin }, body: form([["$ACTION_ID_7f00", ""]]) });
    expect(await checkActionRequest(mpa, host)).toBeNull();
  });

  it("ignores reads", async () => {
    expect(await checkActionRequest(new Request(`${origin}/runs`), host)).toBeNull();
  });

  it("refuses another origin, the opaque null origin, and no origin with 403", async () => {
    for (const value of ["https://evil.example", "null"]) {
      expect(await checkActionRequest(actionRequest({ headers: { origin: value } }), host)).toMatchObject({ status: 403 });
    }
    const without = new Request(`${origin}/runs/1`, { method: "POST", headers: { "next-action": "7f00" }, body: form([["0", "[]"]]) });
    expect(await checkActionRequest(without, host)).toMatchObject({ status: 403 });
  });

  it("refuses types React does not send with 415", async () => {
    for (const type of ["application/json", "application/x-www-form-urlencoded", ""]) {
      expect(await checkActionRequest(actionRequest({ headers: { "content-type": type }, body: "{}" }), host)).toMatchObject({ status: 415 });
    }
  });

  it("refuses a body over the limit with 413, declared or not", async () => {
    const big = form([["_1_reason", "x".repeat(ACTION_BODY_MAX_BYTES)], ["0", '[null,"$K1"]']]);
    expect(await checkActionRequest(actionRequest({ body: big }), host)).toMatchObject({ status: 413 });
    // A stream has no Content-Length: the bytes are counted as they come.
    const chunk = new Uint8Array(64 * 1024);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > ACTION_BODY_MAX_BYTES) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const chunked = new Request(`${origin}/runs/1`, {
      method: "POST",
      headers: { origin, "next-action": "7f00", "content-type": "text/plain" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(await checkActionRequest(chunked, host)).toMatchObject({ status: 413 });
  });

  it("refuses a body React could not have sent with 400", async () => {
    const bad = [
      { "content-type": "multipart/form-data; boundary=zzz", body: "garbage" },
      { "content-type": "text/plain", body: "not json" },
      { "content-type": "text/plain", body: "" },
    ];
    for (const { body, ...headers } of bad) expect(await checkActionRequest(actionRequest({ headers, body }), host)).toMatchObject({ status: 400 });
    expect(await checkActionRequest(actionRequest({ body: form([["_1_runId", "1"]]) }), host)).toMatchObject({ status: 400 });
    expect(await checkActionRequest(actionRequest({ body: form([["0", "{not json"]]) }), host)).toMatchObject({ status: 400 });
  });

  it("uses the same limit as next.config.ts", () => {
    expect(nextConfig.experimental?.serverActions?.bodySizeLimit).toBe("2mb");
    expect(ACTION_BODY_MAX_BYTES).toBe(2 * 1024 * 1024);
  });
});
