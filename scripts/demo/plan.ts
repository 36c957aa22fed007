import type { Json } from "@/lib/ledger";
import { cronPayload, TASKS, type TaskName } from "./catalog";
import { PERMANENT_FAULTS, type FaultKind } from "./fakes";
import type { WorkerName } from "./fleet";
import { createRng, type Rng } from "./random";

/**
 * A job is everything that happens to one idempotency key: the first delivery and whatever races it,
 * the retries, later redeliveries and a reuse of the key for a different operation. The executor
 * (execute.ts) plays it through the SDK; the plan decides it up front so the backfill is reproducible.
 */
export interface AttemptPlan {
  /** Who delivers this attempt (attempt 1: the job's worker; later ones: the queue's redelivery). */
  worker: WorkerName;
  durationMs: number;
  /** Thrown by the simulated downstream system; null: the attempt succeeds. */
  fault: FaultKind | null;
}

export interface Job {
  task: TaskName;
  key: string;
  payload: Json;
  /** When it happened, in epoch ms: the target of the backfill's time shift; now for live jobs. */
  at: number;
  /** Cron tasks: the slot, which is also the key. */
  slot: Date | null;
  worker: WorkerName;
  /** By the run's attempt number. A fault on the last planned attempt fails the run. */
  attempts: AttemptPlan[];
  /** After attempt 1 fails, nobody redelivers: the run stays pending (the queue lost the retry). */
  leavePending: boolean;
  /** Deliveries racing the first: a double-click, a second cron instance, a broker delivering twice. */
  racers: Array<{ worker: WorkerName; delayMs: number }>;
  /** A redelivery while attempt 1 is still running (queue visibility timeout shorter than the task). */
  midRun: WorkerName | null;
  /** Redeliveries after the run finished; they get the stored outcome. */
  redeliveries: WorkerName[];
  /** The key reused for a different operation (an invoice edited after it was submitted). */
  mismatch: { worker: WorkerName; payload: Json } | null;
  /** The first worker stalls past its lease (a long GC pause) and this worker takes the run over. */
  stall: WorkerName | null;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * Submissions per task at scale 1, over the whole grid (the history days plus today, of which only
 * the part already past is written). Cron tasks come from their schedules.
 */
export const HISTORY_COUNTS: Partial<Record<TaskName, number>> = {
  send_email: 1500,
  resize_image: 750,
  webhook_deliver: 750,
  charge_invoice: 520,
  record_payment: 450,
  transcode_file: 100,
};

export const HISTORY_DAYS = 3;

// Relative volume by hour of day (UTC): a working-day curve with a lunch dip and a few quiet night hours.
const HOUR_WEIGHT = [0.22, 0.14, 0.05, 0.03, 0.03, 0.07, 0.2, 0.45, 0.75, 0.95, 1.0, 0.95, 0.8, 0.9, 1.0, 0.98, 0.9, 0.75, 0.6, 0.5, 0.45, 0.4, 0.33, 0.27];

function weightAt(at: number): number {
  return HOUR_WEIGHT[new Date(at).getUTCHours()] ?? 0.5;
}

/**
 * The history is planned on a grid of whole UTC days ending at the next midnight, so the plan (keys,
 * times, outcomes) is the same all day: a later start finds the runs it already wrote at the same
 * instants, and writes only the part of the grid that has become past since (the hours the demo was
 * down). On the next day the grid moves by a day and that repeats; nothing is ever written twice.
 */
export function historyGrid(anchor: number, days: number = HISTORY_DAYS): { start: number; end: number } {
  const now = new Date(anchor);
  const end = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return { start: end - (days + 1) * DAY, end };
}

/** The demo's incident: 75 minutes of webhook 502s and payment gateway timeouts, 14:00 UTC yesterday. */
export function incidentWindow(anchor: number): { start: number; end: number } {
  const start = historyGrid(anchor).end - 2 * DAY + 14 * HOUR;
  return { start, end: start + 75 * MINUTE };
}

function sampleTime(rng: Rng, start: number, end: number): number {
  for (;;) {
    const at = start + rng.next() * (end - start);
    if (rng.next() < weightAt(at)) return Math.floor(at);
  }
}

function otherWorker(rng: Rng, workers: readonly WorkerName[], not: WorkerName): WorkerName {
  const others = workers.filter((worker) => worker !== not);
  return others.length ? rng.pick(others) : not;
}

function pickFault(rng: Rng, task: TaskName, incident: boolean): FaultKind {
  const def = TASKS[task];
  if (incident && def.incidentFault) return def.incidentFault;
  const total = def.faults.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = rng.next() * total;
  for (const [fault, weight] of def.faults) {
    roll -= weight;
    if (roll < 0) return fault;
  }
  return def.faults[0]?.[0] ?? "http_502";
}

function planAttempts(rng: Rng, task: TaskName, worker: WorkerName, incident: boolean): AttemptPlan[] {
  const def = TASKS[task];
  const [min, max] = def.durationMs;
  const attempts: AttemptPlan[] = [];
  let fault: FaultKind | null = null;
  for (let attempt = 1; attempt <= def.maxAttempts; attempt++) {
    const rate = attempt === 1 ? (incident ? def.incidentFaultRate : def.faultRate) : incident ? def.incidentFaultRate * 0.85 : 0.35;
    // A permanent fault comes back on every attempt; a transient one may clear.
    fault = fault && PERMANENT_FAULTS.has(fault) ? fault : rng.chance(rate) ? pickFault(rng, task, incident) : null;
    attempts.push({ worker: attempt === 1 ? worker : rng.pick(def.workers), durationMs: rng.int(min, max), fault });
    if (!fault) break;
    // The step-by-step workers fail a permanent error for good (failRun with retryable: false).
    if (def.style === "steps" && PERMANENT_FAULTS.has(fault)) break;
  }
  return attempts;
}

/** One submission of a non-cron task at `at`: who delivers it, how it goes, which duplicates it meets. */
export function planJob(rng: Rng, task: TaskName, key: string, payload: Json, at: number, incident = false): Job {
  const def = TASKS[task];
  const worker = rng.pick(def.workers);
  const other = otherWorker(rng, def.workers, worker);
  const job: Job = {
    task,
    key,
    payload,
    at,
    slot: null,
    worker,
    attempts: planAttempts(rng, task, worker, incident),
    leavePending: false,
    racers: [],
    midRun: null,
    redeliveries: [],
    mismatch: null,
    stall: null,
  };
  switch (task) {
    case "charge_invoice":
      // "Pay now" clicked twice: both web servers submit the same invoice within milliseconds.
      if (rng.chance(0.1)) job.racers.push({ worker: other, delayMs: rng.int(0, 40) });
      if (rng.chance(0.03)) job.redeliveries.push(other);
      break;
    case "send_email":
      // The broker hands the same message to two workers, or redelivers it after an unacked restart.
      if (rng.chance(0.03)) job.racers.push({ worker: other, delayMs: rng.int(0, 15) });
      if (rng.chance(0.07)) for (let i = rng.int(1, 2); i > 0; i--) job.redeliveries.push(rng.pick(def.workers));
      break;
    case "record_payment":
      // The charge's success event is consumed at least once: now and then twice.
      if (rng.chance(0.05)) job.redeliveries.push(rng.pick(def.workers));
      break;
    case "webhook_deliver":
      if (rng.chance(0.1)) job.redeliveries.push(rng.pick(def.workers));
      break;
    case "transcode_file":
      // The SQS visibility timeout is shorter than a long transcode: the message comes back mid-run.
      if (rng.chance(0.3)) job.midRun = other;
      break;
    case "resize_image":
      if (rng.chance(0.04)) job.racers.push({ worker: other, delayMs: rng.int(0, 10) });
      if (rng.chance(0.04)) job.redeliveries.push(rng.pick(def.workers));
      break;
    default:
      break;
  }
  return job;
}

/** One firing of a cron slot; a second scheduler instance fires it too, a little later. */
export function planCronJob(rng: Rng, task: TaskName, slot: Date, at: number, bothInstances: boolean): Job {
  const def = TASKS[task];
  const worker = rng.pick(def.workers);
  return {
    task,
    key: slot.toISOString(),
    payload: cronPayload(task, slot),
    at,
    slot,
    worker,
    attempts: planAttempts(rng, task, worker, false),
    leavePending: false,
    racers: bothInstances ? [{ worker: otherWorker(rng, def.workers, worker), delayMs: rng.int(0, 400) }] : [],
    midRun: null,
    redeliveries: [],
    mismatch: null,
    stall: null,
  };
}

function taskSeed(task: string): number {
  let hash = 0x811c9dc5;
  for (const char of task) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return hash;
}

const OUTCOME_SEED = 0x1de3_2026;

/**
 * The history: a few thousand submissions over the last days, with a working-day shape, quiet night
 * hours, an incident, cron slots, and the scenarios the console is built to explain. Only jobs already
 * in the past (before `anchor` minus two minutes) are returned. Keys come from one seeded stream per
 * task, and everything else from one seeded stream over the day grid, so the plan does not depend on
 * the time of day it is made at.
 */
export function planHistory(options: { anchor: number; scale?: number; days?: number }): Job[] {
  const scale = options.scale ?? 1;
  const grid = historyGrid(options.anchor, options.days);
  const past = options.anchor - 2 * MINUTE;
  const incident = incidentWindow(options.anchor);
  const inIncident = (at: number) => at >= incident.start && at < incident.end;
  const rng = createRng(OUTCOME_SEED);
  const byTask = new Map<TaskName, Job[]>();

  for (const [task, count] of Object.entries(HISTORY_COUNTS) as Array<[TaskName, number]>) {
    const keys = createRng(taskSeed(task));
    const list: Job[] = [];
    for (let i = 0; i < Math.max(12, Math.round(count * scale)); i++) {
      const { key, payload } = TASKS[task].make(keys);
      // The incident gets its own burst of traffic on top of the curve (customers retrying by hand).
      const at = Math.floor(
        task === "webhook_deliver" && i % 12 === 0 ? incident.start + rng.next() * (incident.end - incident.start) : sampleTime(rng, grid.start, grid.end),
      );
      list.push(planJob(rng, task, key, payload, at, inIncident(at)));
    }
    byTask.set(
      task,
      list.filter((job) => job.at <= past).sort((a, b) => a.at - b.at),
    );
  }

  // A couple of keys reused with a different amount or template: payload_mismatch, for the console's diff.
  const charges = byTask.get("charge_invoice") ?? [];
  for (const index of [Math.floor(charges.length * 0.35), Math.floor(charges.length * 0.8)]) {
    const job = charges[index];
    if (!job || typeof job.payload !== "object" || job.payload === null || Array.isArray(job.payload)) continue;
    const cents = typeof job.payload.amountCents === "number" ? job.payload.amountCents : 0;
    job.attempts = [{ ...job.attempts[0]!, fault: null }];
    job.mismatch = { worker: otherWorker(rng, TASKS.charge_invoice.workers, job.worker), payload: { ...job.payload, amountCents: cents + 1000 } };
  }
  const emails = byTask.get("send_email") ?? [];
  const email = emails[Math.floor(emails.length * 0.6)];
  if (email && typeof email.payload === "object" && email.payload !== null && !Array.isArray(email.payload)) {
    email.attempts = [{ ...email.attempts[0]!, fault: null }];
    email.mismatch = { worker: email.worker, payload: { ...email.payload, template: "order_delayed" } };
  }

  // Two transcodes whose worker stalled past its lease: another worker took over, the late write was refused.
  const transcodes = byTask.get("transcode_file") ?? [];
  for (const index of [Math.floor(transcodes.length * 0.5), Math.floor(transcodes.length * 0.9)]) {
    const job = transcodes[index];
    if (!job) continue;
    job.attempts = [{ ...job.attempts[0]!, fault: null }];
    job.midRun = null;
    job.stall = otherWorker(rng, TASKS.transcode_file.workers, job.worker);
  }

  // The latest few webhooks failed once and their retry was never delivered: pending, waiting for an executor.
  for (const job of (byTask.get("webhook_deliver") ?? []).slice(-3)) {
    job.attempts = [
      { ...job.attempts[0]!, fault: "http_conn_refused" },
      { worker: job.worker, durationMs: 100, fault: null },
    ];
    job.leavePending = true;
    job.redeliveries = [];
  }

  const jobs = [...byTask.values()].flat();
  for (const task of ["sync_crm", "daily_report"] as const) {
    const every = TASKS[task].everyMs ?? HOUR;
    for (let slot = grid.start; slot < grid.end; slot += every) {
      // The second instance fires every hourly report but only some of the frequent CRM syncs.
      const both = task === "daily_report" || rng.chance(0.5);
      const job = planCronJob(rng, task, new Date(slot), slot + rng.int(150, 2500), both);
      if (slot <= past - MINUTE) jobs.push(job);
    }
  }
  return jobs.sort((a, b) => a.at - b.at);
}

const LIVE_MIX: ReadonlyArray<readonly [TaskName, number]> = [
  ["send_email", 35],
  ["record_payment", 10],
  ["resize_image", 18],
  ["webhook_deliver", 18],
  ["charge_invoice", 12],
  ["transcode_file", 3],
];

/** One live submission for the trickle: random keys, the same mix and the same kinds of duplicates. */
export function planLiveJob(rng: Rng, now: number): Job {
  const total = LIVE_MIX.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = rng.next() * total;
  let task: TaskName = "send_email";
  for (const [name, weight] of LIVE_MIX) {
    roll -= weight;
    if (roll < 0) {
      task = name;
      break;
    }
  }
  const { key, payload } = TASKS[task].make(rng);
  const job = planJob(rng, task, key, payload, now);
  if (task === "charge_invoice" && rng.chance(0.02) && typeof payload === "object" && payload !== null && !Array.isArray(payload)) {
    const cents = typeof payload.amountCents === "number" ? payload.amountCents : 0;
    job.attempts = [{ ...job.attempts[0]!, fault: null }];
    job.mismatch = { worker: otherWorker(rng, TASKS.charge_invoice.workers, job.worker), payload: { ...payload, amountCents: cents + 500 } };
  }
  return job;
}
