import http from "node:http";
import { request as playwrightRequest, type APIRequestContext, type Page, type Route } from "@playwright/test";
import type { ActionState } from "@/lib/action-state";
import { state } from "./fixtures";
import { storageStatePath, type E2ERole } from "./state";

/**
 * Server actions tested on the server, without their buttons: the role that has the button triggers
 * the action in a real browser, the POST is intercepted and aborted (so it never executes), and the
 * exact request (URL, next-action, router state tree, multipart body) is replayed with any cookies,
 * Origin and body. What the server answers then is what an attacker with those credentials gets.
 */
export type Who = E2ERole | "anonymous";

export interface CapturedAction {
  /** The page URL the action was posted to (server actions post to the page they live on). */
  url: string;
  /** The headers that make the POST a server action call: next-action, next-router-state-tree, accept. */
  headers: Record<string, string>;
  /** The multipart entries as the browser encoded them, in order (React prefixes form fields with `_<n>_`). */
  entries: Array<[string, string]>;
  /** An action called without a form (sign-out) sends its arguments as text instead: that body, as sent. */
  text: { body: string; contentType: string } | null;
  /** The prefix React gave the FormData argument's fields, e.g. `_1_`. */
  fieldPrefix: string;
}

const ACTION_HEADERS = ["next-action", "next-router-state-tree", "accept"] as const;

/**
 * Runs `trigger` (clicks that submit the action) and returns the action request it made, aborted
 * before it reached the server.
 */
export async function captureAction(page: Page, trigger: () => Promise<void>): Promise<CapturedAction> {
  let resolve!: (captured: CapturedAction) => void;
  let reject!: (error: Error) => void;
  const captured = new Promise<CapturedAction>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const handler = async (route: Route) => {
    const request = route.request();
    const headers = await request.allHeaders();
    if (request.method() !== "POST" || !headers["next-action"]) return route.fallback();
    await route.abort();
    try {
      const body = request.postDataBuffer() ?? Buffer.alloc(0);
      const contentType = headers["content-type"] ?? "";
      const entries: Array<[string, string]> = [];
      let text: CapturedAction["text"] = null;
      if (contentType.startsWith("multipart/form-data")) {
        const form = await new Response(new Uint8Array(body), { headers: { "content-type": contentType } }).formData();
        for (const [name, value] of form.entries()) entries.push([name, typeof value === "string" ? value : await value.text()]);
      } else {
        text = { body: body.toString("utf8"), contentType };
      }
      const prefix = entries.map(([name]) => /^(_?\d+_)/.exec(name)?.[1]).find(Boolean);
      const kept: Record<string, string> = {};
      for (const name of ACTION_HEADERS) if (headers[name] !== undefined) kept[name] = headers[name];
      resolve({ url: request.url(), headers: kept, entries, text, fieldPrefix: prefix ?? "_1_" });
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
  await page.route("**/*", handler);
  try {
    await trigger();
    return await captured;
  } finally {
    await page.unroute("**/*", handler);
  }
}

/**
 * The captured entries with some form fields replaced: a string or list replaces the field's values,
 * null removes it; names not in the form are added. Everything else (React's own entries) is kept.
 */
export function withFields(action: CapturedAction, changes: Record<string, string | string[] | null>): Array<[string, string]> {
  const changed = new Set(Object.keys(changes));
  const isField = ([name]: [string, string]) => name.startsWith(action.fieldPrefix);
  const fields = action.entries.filter((entry) => isField(entry) && !changed.has(entry[0].slice(action.fieldPrefix.length)));
  for (const [field, value] of Object.entries(changes)) {
    if (value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) fields.push([`${action.fieldPrefix}${field}`, item]);
  }
  // React decodes the form's fields when the row that refers to them ("0") arrives: they must come first.
  return [...fields, ...action.entries.filter((entry) => !isField(entry))];
}

const BOUNDARY = "----idemReplayBoundary7MA4YWxkTrZu0gW";

/** multipart/form-data by hand, so a test controls every byte (and can send 10 MB of it). */
export function multipartBody(entries: Array<[string, string]>, boundary = BOUNDARY): { body: Buffer; contentType: string } {
  const parts: Buffer[] = [];
  for (const [name, value] of entries) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name.replace(/"/g, "%22")}"\r\n\r\n`, "utf8"));
    parts.push(Buffer.from(value, "utf8"));
    parts.push(Buffer.from("\r\n"));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/**
 * An API client carrying `who`'s session cookie (none for anonymous). Dispose it after use. Always
 * this, never `playwright.request.newContext()` alone: that inherits the operator's cookie from the
 * config, and a sign-in sent with it ends the operator session every other test uses.
 */
export async function clientFor(who: Who): Promise<APIRequestContext> {
  return playwrightRequest.newContext({
    baseURL: state.baseURL,
    storageState: who === "anonymous" ? { cookies: [], origins: [] } : storageStatePath(who),
  });
}

/** Clients for every role, created once per test file. */
export async function clientsForAll(): Promise<Record<Who, APIRequestContext> & { dispose(): Promise<void> }> {
  const whos: Who[] = ["anonymous", "viewer", "operator", "admin"];
  const clients = Object.fromEntries(await Promise.all(whos.map(async (who) => [who, await clientFor(who)] as const))) as Record<Who, APIRequestContext>;
  return {
    ...clients,
    async dispose() {
      await Promise.all(whos.map((who) => clients[who].dispose()));
    },
  };
}

export interface ReplayOptions {
  /** The Origin header: the console's own by default; null sends none. */
  origin?: string | null;
  /** Replaces form fields (see withFields). */
  fields?: Record<string, string | string[] | null>;
  /** Replaces the whole body (and its content type), for bodies that are not a form at all. */
  raw?: { body: Buffer | string; contentType: string };
  /** Extra or replaced headers. */
  headers?: Record<string, string>;
}

export interface ReplayResult {
  status: number;
  /** The response body as text (React's flight format for an action). */
  text: string;
  /** The action's return value, when the server got as far as running it. */
  state: ActionState | undefined;
  /** A redirect the action asked for (sign-in, sign-out), from its x-action-redirect header. */
  redirect: string | null;
  /** The response's Set-Cookie headers. */
  setCookies: string[];
}

/** Replays a captured action with `client`'s cookies. */
export async function replayAction(client: APIRequestContext, action: CapturedAction, options: ReplayOptions = {}): Promise<ReplayResult> {
  const { body, contentType } = options.raw ?? (action.text && !options.fields ? action.text : multipartBody(options.fields ? withFields(action, options.fields) : action.entries));
  const origin = options.origin === undefined ? state.baseURL : options.origin;
  const headers: Record<string, string> = { ...action.headers, "content-type": contentType, ...(origin === null ? {} : { origin }), ...options.headers };
  const response = await client.post(action.url, { headers, data: body, maxRedirects: 0, failOnStatusCode: false, timeout: 30_000 });
  const text = await response.text();
  return {
    status: response.status(),
    text,
    state: actionState(text),
    redirect: response.headers()["x-action-redirect"] ?? null,
    setCookies: response.headersArray().filter((h) => h.name.toLowerCase() === "set-cookie").map((h) => h.value),
  };
}

/**
 * The action's return value from a flight response: row 0 points at it (`"a":"$@<row>"`), and the row
 * holds it as JSON. Undefined when the response is not an action result (an error page, a 413).
 */
export function actionState(text: string): ActionState | undefined {
  const rows = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([0-9a-f]+):(.*)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) rows.set(match[1], match[2]);
  }
  const root = rows.get("0");
  if (!root) return undefined;
  try {
    const parsed = JSON.parse(root) as { a?: unknown };
    const ref = typeof parsed.a === "string" ? /^\$@([0-9a-f]+)$/.exec(parsed.a)?.[1] : undefined;
    const row = ref === undefined ? undefined : rows.get(ref);
    if (row === undefined) return parsed.a === null ? null : undefined;
    return JSON.parse(row) as ActionState;
  } catch {
    return undefined;
  }
}

/** The error an action answered with, or "" when it answered ok (for messages in assertions). */
export function refusal(result: ReplayResult): string {
  const state = result.state;
  return state && !state.ok ? state.error : "";
}

/**
 * A POST with a chunked body (no Content-Length), which APIRequestContext cannot send: the server must
 * count the bytes as they come rather than trust a declared length.
 */
export function postChunked(url: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const request = http.request(url, { method: "POST", headers: { ...headers, "transfer-encoding": "chunked" } }, (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      response.on("error", reject);
    });
    // A server that answers before reading everything may close the connection under the writes.
    request.on("error", (error) => {
      if (!answered) reject(error);
    });
    for (let offset = 0; offset < body.length; offset += 64 * 1024) request.write(body.subarray(offset, offset + 64 * 1024));
    request.end();
  });
}
