/**
 * Simulated downstream systems of the demo's tasks. A planned fault is thrown from inside the client
 * method, as a real driver would throw it, so the ledger stores real stacks with meaningful frames
 * (`at SmtpClient.send`, `at PaymentGateway.confirm`, ...) rather than a stack that ends in a helper.
 */

export type FaultKind =
  | "smtp_timeout"
  | "smtp_rejected"
  | "card_declined"
  | "gateway_timeout"
  | "http_502"
  | "http_conn_refused"
  | "ffmpeg_invalid"
  | "image_unsupported"
  | "s3_slowdown"
  | "crm_rate_limited"
  | "report_timeout"
  | "deadlock"
  | "health_503";

/** Faults that will not go away by trying again; the demo fails these without using up retries where it can. */
export const PERMANENT_FAULTS: ReadonlySet<FaultKind> = new Set(["smtp_rejected", "card_declined", "ffmpeg_invalid", "image_unsupported"]);

abstract class DemoError extends Error {
  abstract readonly permanent: boolean;
}

export class SmtpTimeoutError extends DemoError {
  readonly permanent = false;
  readonly code = "ETIMEDOUT";
  constructor(host: string) {
    super(`connect ETIMEDOUT ${host}:587`);
    this.name = "SmtpTimeoutError";
  }
}

export class SmtpRecipientRejectedError extends DemoError {
  readonly permanent = true;
  readonly responseCode = 550;
  constructor(to: string) {
    super(`550 5.1.1 <${to}>: Recipient address rejected: User unknown in virtual mailbox table`);
    this.name = "SmtpRecipientRejectedError";
  }
}

export class CardDeclinedError extends DemoError {
  readonly permanent = true;
  constructor(chargeId: string, declineCode: string) {
    super(`Your card was declined. (decline_code: ${declineCode}, charge: ${chargeId})`);
    this.name = "CardDeclinedError";
  }
}

export class GatewayTimeoutError extends DemoError {
  readonly permanent = false;
  constructor(url: string, ms: number) {
    super(`Request to ${url} timed out after ${ms} ms`);
    this.name = "GatewayTimeoutError";
  }
}

export class HttpError extends DemoError {
  readonly permanent = false;
  constructor(
    readonly status: number,
    statusText: string,
    url: string,
  ) {
    super(`HTTP ${status} ${statusText} from ${url}`);
    this.name = "HttpError";
  }
}

export class FetchError extends DemoError {
  readonly permanent = false;
  readonly code = "ECONNREFUSED";
  constructor(url: string, address: string) {
    super(`request to ${url} failed, reason: connect ECONNREFUSED ${address}:443`);
    this.name = "FetchError";
  }
}

export class FfmpegError extends DemoError {
  readonly permanent = true;
  constructor(source: string) {
    super(`ffmpeg exited with code 1: ${source}: Invalid data found when processing input`);
    this.name = "FfmpegError";
  }
}

export class ImageDecodeError extends DemoError {
  readonly permanent = true;
  constructor(mime: string) {
    super(`Input buffer contains unsupported image format (${mime})`);
    this.name = "ImageDecodeError";
  }
}

export class S3SlowDownError extends DemoError {
  readonly permanent = false;
  constructor(bucket: string, requestId: string) {
    super(`SlowDown: Please reduce your request rate. (bucket: ${bucket}, request id: ${requestId})`);
    this.name = "S3SlowDownError";
  }
}

export class RateLimitError extends DemoError {
  readonly permanent = false;
  constructor(url: string, retryAfterS: number) {
    super(`HTTP 429 Too Many Requests from ${url} (retry-after: ${retryAfterS}s)`);
    this.name = "RateLimitError";
  }
}

export class QueryCanceledError extends DemoError {
  readonly permanent = false;
  readonly code = "57014";
  constructor() {
    super("canceling statement due to statement timeout");
    this.name = "QueryCanceledError";
  }
}

export class DeadlockDetectedError extends DemoError {
  readonly permanent = false;
  readonly code = "40P01";
  constructor(pid: number) {
    super(`deadlock detected: Process ${pid} waits for ShareLock on transaction ${pid * 31 + 7}; blocked by process ${pid + 17}.`);
    this.name = "DeadlockDetectedError";
  }
}

export class HealthCheckError extends DemoError {
  readonly permanent = false;
  constructor(url: string) {
    super(`GET ${url} returned 503 Service Unavailable`);
    this.name = "HealthCheckError";
  }
}

/** A failure of the simulated task itself, as opposed to a bug or a database error in the demo. */
export function isDemoFailure(error: unknown): error is DemoError {
  return error instanceof DemoError;
}

/** Whether an error should use up the run for good (the step-by-step workers pass this to failRun). */
export function isPermanent(error: unknown): boolean {
  return error instanceof DemoError && error.permanent;
}

/** Simulated work: waits, and stops early when the lease is lost (the SDK aborts the signal). */
export function work(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export interface Call {
  durationMs: number;
  fault: FaultKind | null;
  signal?: AbortSignal;
}

const SMTP_HOSTS = ["10.0.3.7", "10.0.3.8"];

export class SmtpClient {
  async send(message: { to: string; template: string; messageId: string }, call: Call): Promise<{ messageId: string; accepted: string[] }> {
    if (call.fault === "smtp_timeout") {
      // A connect timeout is slow by nature.
      await work(call.durationMs * 3, call.signal);
      throw new SmtpTimeoutError(SMTP_HOSTS[message.messageId.length % SMTP_HOSTS.length] ?? "10.0.3.7");
    }
    await work(call.durationMs, call.signal);
    if (call.fault === "smtp_rejected") throw new SmtpRecipientRejectedError(message.to);
    return { messageId: `<${message.messageId}@mail.acme-shop.example>`, accepted: [message.to] };
  }
}

export class PaymentGateway {
  async confirm(intent: { intentId: string; amountCents: number; currency: string }, call: Call): Promise<{ chargeId: string; status: string }> {
    const url = `https://api.stripe.com/v1/payment_intents/${intent.intentId}/confirm`;
    await work(call.durationMs, call.signal);
    const chargeId = `ch_${intent.intentId.slice(3)}`;
    if (call.fault === "gateway_timeout") throw new GatewayTimeoutError(url, 30_000);
    if (call.fault === "card_declined") {
      const codes = ["insufficient_funds", "do_not_honor", "expired_card", "card_velocity_exceeded"];
      throw new CardDeclinedError(chargeId, codes[intent.intentId.charCodeAt(intent.intentId.length - 1) % codes.length] ?? "generic_decline");
    }
    return { chargeId, status: "succeeded" };
  }
}

export class WebhookSender {
  async post(url: string, body: { event: string; id: string }, call: Call): Promise<{ status: number; durationMs: number }> {
    await work(call.durationMs, call.signal);
    if (call.fault === "http_502") throw new HttpError(502, "Bad Gateway", url);
    if (call.fault === "http_conn_refused") throw new FetchError(url, "203.0.113.9");
    return { status: body.event.startsWith("invoice.") ? 200 : 204, durationMs: call.durationMs };
  }
}

export class Ffmpeg {
  async transcode(job: { source: string; preset: string }, call: Call): Promise<{ output: string; bytes: number }> {
    await work(call.durationMs, call.signal);
    if (call.fault === "ffmpeg_invalid") throw new FfmpegError(job.source);
    const output = job.source.replace("/raw/", "/encoded/").replace(/\.\w+$/, `-${job.preset}.mp4`);
    return { output, bytes: 4_000_000 + (job.source.length * 7919) % 90_000_000 };
  }
}

export class ImageProcessor {
  async resize(image: { key: string; mime: string; width: number }, call: Call): Promise<{ key: string; width: number }> {
    await work(call.durationMs, call.signal);
    if (call.fault === "image_unsupported") throw new ImageDecodeError("image/heic");
    if (call.fault === "s3_slowdown") throw new S3SlowDownError("acme-media-prod", `${image.key.length}F4A1C2B9E7D3`);
    return { key: image.key.replace("originals/", `w${image.width}/`), width: image.width };
  }
}

export class CrmClient {
  async upsertContacts(batch: { since: string; count: number }, call: Call): Promise<{ upserted: number; since: string }> {
    await work(call.durationMs, call.signal);
    if (call.fault === "crm_rate_limited") throw new RateLimitError("https://api.hubapi.com/crm/v3/objects/contacts/batch/upsert", 10);
    return { upserted: batch.count, since: batch.since };
  }
}

export class Warehouse {
  async buildReport(report: { name: string; date: string }, call: Call): Promise<{ rows: number; url: string }> {
    await work(call.durationMs, call.signal);
    if (call.fault === "report_timeout") throw new QueryCanceledError();
    return { rows: 1200 + (report.date.charCodeAt(9) * 37) % 800, url: `s3://acme-reports/${report.name}/${report.date}.csv` };
  }
}

export class PaymentBook {
  async post(entry: { invoiceId: string; amountCents: number; account: string }, call: Call): Promise<{ entries: number; account: string }> {
    await work(call.durationMs, call.signal);
    if (call.fault === "deadlock") throw new DeadlockDetectedError(20_000 + (entry.invoiceId.charCodeAt(5) * 97) % 9000);
    return { entries: 2, account: entry.account };
  }
}

export class StatusProbe {
  async check(url: string, call: Call): Promise<{ ok: true; latencyMs: number }> {
    await work(call.durationMs, call.signal);
    if (call.fault === "health_503") throw new HealthCheckError(url);
    return { ok: true, latencyMs: call.durationMs };
  }
}
