import type { Json } from "@/lib/ledger";
import {
  CrmClient,
  Ffmpeg,
  ImageProcessor,
  PaymentBook,
  PaymentGateway,
  SmtpClient,
  StatusProbe,
  Warehouse,
  WebhookSender,
  type Call,
  type FaultKind,
} from "./fakes";
import type { WorkerName } from "./fleet";
import type { Rng } from "./random";

/**
 * The demo's tasks: what their payloads look like, who runs them, how long they take and how they
 * fail. Shared by the backfill (seeded randomness, so keys repeat across starts), the live trickle and
 * the executor of pending runs (executor.ts), for which `runTask` is the handler of every task.
 */
export type TaskName =
  | "send_email"
  | "charge_invoice"
  | "record_payment"
  | "webhook_deliver"
  | "transcode_file"
  | "resize_image"
  | "sync_crm"
  | "daily_report"
  | "heartbeat_check";

/**
 * How a task's workers drive the SDK: `runOnce`, `runOnceInTransaction`, the step-by-step protocol
 * (`claimRun` / `completeRun` / `failRun`), or `runCronSlot`.
 */
export type Style = "runOnce" | "transaction" | "steps" | "cron";

export interface TaskDef {
  style: Style;
  workers: readonly WorkerName[];
  maxAttempts: number;
  leaseMs: number;
  durationMs: readonly [number, number];
  /** Cron tasks: the schedule. */
  everyMs?: number;
  /** Chance that an attempt fails, normally and during the demo's incident window. */
  faultRate: number;
  incidentFaultRate: number;
  faults: ReadonlyArray<readonly [FaultKind, number]>;
  incidentFault?: FaultKind;
  /** A new submission: its idempotency key and payload. Draws only from `rng`, so keys are reproducible. */
  make(rng: Rng): { key: string; payload: Json };
}

const MINUTE = 60_000;

const FIRST = ["maria", "james", "aiko", "lena", "omar", "sofia", "noah", "priya", "lucas", "chen", "fatima", "diego", "elena", "kwame", "ines", "tomas"];
const LAST = ["okafor", "smith", "tanaka", "novak", "haddad", "rossi", "berg", "sharma", "silva", "wei", "khan", "garcia", "petrov", "mensah", "costa", "muller"];
const DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com"];
const TEMPLATES = ["order_shipped", "password_reset", "receipt", "welcome", "invoice_due", "weekly_digest"];
const EVENTS = ["invoice.paid", "invoice.payment_failed", "order.created", "order.fulfilled", "customer.updated", "refund.created"];
const ENDPOINTS = [
  "https://hooks.example.com/idem/events",
  "https://api.partner-logistics.example.net/webhooks/acme",
  "https://erp.example.org/integrations/acme/notify",
  "https://hooks.slack.example.com/services/T024BE7LD/B08F3/acme",
];
const PRESETS = ["1080p", "720p", "480p"];
const WIDTHS = [320, 640, 1280];

export function emailAddress(rng: Rng): string {
  return `${rng.pick(FIRST)}.${rng.pick(LAST)}${rng.chance(0.3) ? rng.int(1, 99) : ""}@${rng.pick(DOMAINS)}`;
}

export const TASKS: Record<TaskName, TaskDef> = {
  send_email: {
    style: "runOnce",
    workers: ["worker-a-3f2c", "worker-a-7b19", "worker-b-91d0"],
    maxAttempts: 3,
    leaseMs: 30_000,
    durationMs: [25, 180],
    faultRate: 0.03,
    incidentFaultRate: 0.08,
    faults: [
      ["smtp_timeout", 3],
      ["smtp_rejected", 1],
    ],
    make(rng) {
      const template = rng.pick(TEMPLATES);
      const userId = rng.int(10_000, 99_999);
      const orderId = `ord_${rng.alnum(10)}`;
      const messageId = `msg_${rng.hex(16)}`;
      const key = template === "order_shipped" || template === "receipt" ? `${template}:${orderId}` : `${template}:user_${userId}:${rng.hex(6)}`;
      return { key, payload: { to: emailAddress(rng), template, userId, orderId, messageId, locale: rng.pick(["en-US", "en-GB", "de-DE", "fr-FR"]) } };
    },
  },
  charge_invoice: {
    style: "runOnce",
    workers: ["web-1", "web-2"],
    maxAttempts: 2,
    leaseMs: 45_000,
    durationMs: [90, 420],
    faultRate: 0.04,
    incidentFaultRate: 0.3,
    faults: [
      ["card_declined", 3],
      ["gateway_timeout", 2],
    ],
    incidentFault: "gateway_timeout",
    make(rng) {
      const invoiceId = `in_1Q${rng.alnum(14)}`;
      const amountCents = rng.pick([900, 1900, 2900, 4900, 9900, 14900]) + (rng.chance(0.4) ? rng.int(1, 40) * 100 : 0);
      return {
        key: `charge:${invoiceId}`,
        payload: {
          invoiceId,
          customerId: `cus_${rng.alnum(14)}`,
          intentId: `pi_3Q${rng.alnum(14)}`,
          amountCents,
          currency: rng.pick(["usd", "usd", "usd", "eur", "gbp"]),
          email: emailAddress(rng),
        },
      };
    },
  },
  record_payment: {
    // The payment's rows and the run's completion commit in one transaction: exactly-once in this
    // database. Kept short on purpose: a transaction must not stay open across a slow external call.
    style: "transaction",
    workers: ["bullmq-5c8e-1", "bullmq-5c8e-2"],
    maxAttempts: 3,
    leaseMs: 10_000,
    durationMs: [4, 30],
    faultRate: 0.01,
    incidentFaultRate: 0.01,
    faults: [["deadlock", 1]],
    make(rng) {
      const invoiceId = `in_1Q${rng.alnum(14)}`;
      return {
        key: `payment:${invoiceId}`,
        payload: {
          invoiceId,
          customerId: `cus_${rng.alnum(14)}`,
          chargeId: `ch_3Q${rng.alnum(14)}`,
          amountCents: rng.pick([900, 1900, 2900, 4900, 9900, 14900]),
          currency: rng.pick(["usd", "usd", "eur"]),
          ledgerAccount: rng.pick(["4000-sales", "4010-subscriptions", "4020-services"]),
        },
      };
    },
  },
  webhook_deliver: {
    style: "runOnce",
    workers: ["bullmq-5c8e-1", "bullmq-5c8e-2"],
    maxAttempts: 4,
    leaseMs: 15_000,
    durationMs: [20, 320],
    faultRate: 0.06,
    incidentFaultRate: 0.7,
    faults: [
      ["http_502", 3],
      ["http_conn_refused", 2],
    ],
    incidentFault: "http_502",
    make(rng) {
      const eventId = `evt_1Q${rng.alnum(14)}`;
      const endpoint = rng.pick(ENDPOINTS);
      return {
        key: `${eventId}:we_${endpoint.length.toString(36)}${rng.hex(4)}`,
        payload: { eventId, event: rng.pick(EVENTS), endpoint, objectId: `obj_${rng.alnum(12)}`, bodyBytes: rng.int(300, 4200) },
      };
    },
  },
  transcode_file: {
    style: "runOnce",
    workers: ["media-7d41-1", "media-7d41-2"],
    maxAttempts: 2,
    // Short enough that the heartbeats (every third of the lease) show on the timeline.
    leaseMs: 1_200,
    durationMs: [1_200, 3_000],
    faultRate: 0.04,
    incidentFaultRate: 0.04,
    faults: [["ffmpeg_invalid", 1]],
    make(rng) {
      const uploadId = `upl_${rng.alnum(12)}`;
      const preset = rng.pick(PRESETS);
      const ext = rng.pick(["mov", "mp4", "mkv", "webm"]);
      return {
        key: `${uploadId}:${preset}`,
        payload: { uploadId, source: `s3://acme-uploads/raw/${uploadId}.${ext}`, preset, durationS: rng.int(8, 1800), userId: rng.int(10_000, 99_999) },
      };
    },
  },
  resize_image: {
    style: "steps",
    workers: ["worker-a-3f2c", "worker-a-7b19", "worker-b-91d0"],
    maxAttempts: 2,
    leaseMs: 20_000,
    durationMs: [20, 150],
    faultRate: 0.03,
    incidentFaultRate: 0.03,
    faults: [
      ["image_unsupported", 3],
      ["s3_slowdown", 2],
    ],
    make(rng) {
      const sku = rng.int(10_000, 99_999);
      const width = rng.pick(WIDTHS);
      const image = `originals/products/sku-${sku}/${rng.pick(["main", "side", "detail", "box"])}-${rng.hex(6)}.jpg`;
      return { key: `${image}@${width}w`, payload: { key: image, mime: "image/jpeg", width, sku } };
    },
  },
  sync_crm: {
    style: "cron",
    workers: ["scheduler-1", "scheduler-2"],
    maxAttempts: 1,
    leaseMs: 60_000,
    durationMs: [120, 700],
    everyMs: 15 * MINUTE,
    faultRate: 0.05,
    incidentFaultRate: 0.05,
    faults: [["crm_rate_limited", 1]],
    make() {
      throw new Error("sync_crm is a cron task: its key is the slot");
    },
  },
  daily_report: {
    style: "cron",
    workers: ["scheduler-1", "scheduler-2"],
    maxAttempts: 1,
    leaseMs: 120_000,
    durationMs: [600, 1_800],
    everyMs: 60 * MINUTE,
    faultRate: 0.03,
    incidentFaultRate: 0.03,
    faults: [["report_timeout", 1]],
    make() {
      throw new Error("daily_report is a cron task: its key is the slot");
    },
  },
  heartbeat_check: {
    style: "cron",
    workers: ["scheduler-1", "scheduler-2"],
    maxAttempts: 1,
    leaseMs: 30_000,
    durationMs: [8, 60],
    everyMs: MINUTE,
    faultRate: 0.01,
    incidentFaultRate: 0.01,
    faults: [["health_503", 1]],
    make() {
      throw new Error("heartbeat_check is a cron task: its key is the slot");
    },
  },
};

/** The payload every instance firing a cron slot submits (the same for all, so they share a fingerprint). */
export function cronPayload(task: TaskName, slot: Date): Json {
  const key = slot.toISOString();
  if (task === "sync_crm") return { slot: key, objects: "contacts", since: new Date(slot.getTime() - 15 * MINUTE).toISOString() };
  if (task === "daily_report") return { slot: key, report: "revenue_by_region", date: key.slice(0, 10), refresh: "hourly" };
  return { slot: key, url: "https://status.acme-shop.internal/healthz" };
}

function field<T extends Json>(payload: Json, name: string, fallback: T): T {
  if (payload && typeof payload === "object" && !Array.isArray(payload) && name in payload) return payload[name] as T;
  return fallback;
}

const smtp = new SmtpClient();
const gateway = new PaymentGateway();
const webhooks = new WebhookSender();
const ffmpeg = new Ffmpeg();
const images = new ImageProcessor();
const crm = new CrmClient();
const warehouse = new Warehouse();
const books = new PaymentBook();
const probe = new StatusProbe();

/** The body of each task: calls its (simulated) downstream system and returns the run's result. */
export async function runTask(task: TaskName, payload: Json, call: Call): Promise<Json> {
  switch (task) {
    case "send_email": {
      const sent = await smtp.send(
        { to: field(payload, "to", ""), template: field(payload, "template", ""), messageId: field(payload, "messageId", "") },
        call,
      );
      return { ...sent, provider: "smtp" };
    }
    case "charge_invoice": {
      const charge = await gateway.confirm(
        { intentId: field(payload, "intentId", "pi_"), amountCents: field(payload, "amountCents", 0), currency: field(payload, "currency", "usd") },
        call,
      );
      return { ...charge, amountCents: field(payload, "amountCents", 0) };
    }
    case "record_payment":
      return books.post({ invoiceId: field(payload, "invoiceId", ""), amountCents: field(payload, "amountCents", 0), account: field(payload, "ledgerAccount", "") }, call);
    case "webhook_deliver":
      return webhooks.post(field(payload, "endpoint", ""), { event: field(payload, "event", ""), id: field(payload, "eventId", "") }, call);
    case "transcode_file":
      return ffmpeg.transcode({ source: field(payload, "source", ""), preset: field(payload, "preset", "") }, call);
    case "resize_image":
      return images.resize({ key: field(payload, "key", ""), mime: field(payload, "mime", ""), width: field(payload, "width", 0) }, call);
    case "sync_crm":
      return crm.upsertContacts({ since: field(payload, "since", ""), count: 40 + Math.floor(call.durationMs / 3) }, call);
    case "daily_report":
      return warehouse.buildReport({ name: field(payload, "report", ""), date: field(payload, "date", "") }, call);
    case "heartbeat_check":
      return probe.check(field(payload, "url", ""), call);
  }
}
