/**
 * The transport checks every server action request gets in proxy.ts, before Next decodes it: same
 * origin, a body React could have sent, at most ACTION_BODY_MAX_BYTES. Next refuses most of these
 * itself, but by throwing (the client gets a 500), and lets a request without Origin through; here each
 * is a clear 4xx and never reaches the action. defineAction checks the origin again, for requests that
 * do not pass through the proxy. Pure Web APIs, so the proxy can run it.
 */

/**
 * The server action body limit: next.config.ts sets the same for Next (a unit test keeps them equal).
 * Twice the largest payload a run may have (lib/ledger/spec.ts), so a retry with an edited payload
 * near that limit still fits with the form around it.
 */
export const ACTION_BODY_MAX_BYTES = 2 * 1024 * 1024;

/** Whether `origin` (the Origin header) names the host the request was sent to. "null" and garbage do not. */
export function isSameOrigin(origin: string | null, host: string | null): boolean {
  if (!origin || !host) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

export interface ActionRefusal {
  status: 400 | 403 | 413 | 415;
  message: string;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Reads the body, giving up (null) as soon as it is longer than `limit`, whatever Content-Length said. */
async function readAtMost(request: Request, limit: number): Promise<Uint8Array<ArrayBuffer> | null> {
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a write to a console page (a server action: every non-API POST is one) must be refused, or null.
 * `host` is where the request was sent (X-Forwarded-Host or Host, as Next compares it).
 */
export async function checkActionRequest(request: Request, host: string | null): Promise<ActionRefusal | null> {
  if (SAFE_METHODS.has(request.method)) return null;
  if (!isSameOrigin(request.headers.get("origin"), host)) {
    return { status: 403, message: "Refused: this request did not come from the console's own pages." };
  }
  const type = request.headers.get("content-type") ?? "";
  const multipart = type.toLowerCase().startsWith("multipart/form-data");
  // React sends an action's arguments as multipart form data, or as JSON text when there is no form.
  if (!multipart && !type.toLowerCase().startsWith("text/plain")) {
    return { status: 415, message: "Refused: a console form is sent as multipart/form-data." };
  }
  const tooLarge: ActionRefusal = { status: 413, message: `Refused: the request body is larger than ${ACTION_BODY_MAX_BYTES} bytes.` };
  if (Number(request.headers.get("content-length") ?? 0) > ACTION_BODY_MAX_BYTES) return tooLarge;
  const body = await readAtMost(request, ACTION_BODY_MAX_BYTES);
  if (body === null) return tooLarge;

  const malformed: ActionRefusal = { status: 400, message: "Refused: the request body is not a form the console sends." };
  // A fetch from a page carries the action id in a header and its arguments in row "0"; a form posted
  // before the page hydrated carries everything in its fields.
  const fetchAction = request.headers.has("next-action");
  if (!multipart) return fetchAction && isJson(new TextDecoder().decode(body)) ? null : malformed;
  let form: FormData;
  try {
    // The boundary is case-sensitive: the header as sent.
    form = await new Response(body, { headers: { "content-type": type } }).formData();
  } catch {
    return malformed;
  }
  if (!fetchAction) return null;
  const root = form.get("0");
  return typeof root === "string" && isJson(root) ? null : malformed;
}
