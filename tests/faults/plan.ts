import { randomInt, type Submission } from "./protocol";

/**
 * The fault suite's workload and chaos, both drawn from seeded PRNGs so that `--seed` reproduces them
 * (the timing of a run still varies with the machine).
 */

// ---------------------------------------------------------------------------------------------------
// The plan: keys, each delivered several times, to different workers, some copies close together (so
// they race: in_progress, lock_contended) and some seconds later (replayed, or a takeover if the first
// holder died).

export type Kind = "tx" | "fenced";

export interface PreparedKey {
  key: string;
  kind: Kind;
  copies: Array<{ sub: Submission; lateByMs: number | null; backOffset: number }>;
}

export class Plan {
  readonly keys = new Map<string, Kind>();
  private readonly queue: Submission[] = [];
  private readonly late: Array<{ releaseAt: number; sub: Submission }> = [];
  private readonly givenTo = new Map<string, Set<number>>();
  private nextKey = 0;
  private nextSub = 0;
  open = true;
  dispatched = 0;
  lateCopies = 0;
  redeliveries = 0;

  constructor(
    private readonly rng: () => number,
    private readonly targetQueue: number,
    /** --keys: no new keys once the plan holds this many; null: as many as the workers take. */
    private readonly maxKeys: number | null = null,
  ) {}

  /** Draws the next key and its deliveries without enqueuing them (so a lock can be planted first). */
  prepare(): PreparedKey {
    const rng = this.rng;
    const key = `k${String(this.nextKey++).padStart(6, "0")}`;
    const kind: Kind = rng() < 0.5 ? "tx" : "fenced";
    const count = 2 + (rng() < 0.5 ? 1 : 0) + (rng() < 0.25 ? 1 : 0);
    const lastIsLate = rng() < 0.5;
    const copies = Array.from({ length: count }, (_, index) => ({
      sub: {
        id: this.nextSub++,
        key,
        kind,
        leaseMs: randomInt(rng, 400, 1000),
        // Mostly short bodies; some outlive their lease and live on heartbeats alone.
        workMs: rng() < 0.06 ? randomInt(rng, 700, 1500) : randomInt(rng, 5, 150),
        effectFirst: rng() < 0.5,
        probe: false,
      },
      lateByMs: index === count - 1 && lastIsLate ? randomInt(rng, 1500, 6000) : null,
      backOffset: randomInt(rng, 0, 12),
    }));
    return { key, kind, copies };
  }

  enqueue(prepared: PreparedKey) {
    this.keys.set(prepared.key, prepared.kind);
    prepared.copies.forEach((copy, index) => {
      if (index === 0) this.queue.push(copy.sub);
      else if (copy.lateByMs !== null) {
        this.lateCopies++;
        this.late.push({ releaseAt: Date.now() + copy.lateByMs, sub: copy.sub });
      } else this.queue.splice(Math.max(0, this.queue.length - copy.backOffset), 0, copy.sub);
    });
  }

  /** The next delivery for a worker slot: preferably a key that slot has not been given before. */
  next(slot: number): Submission | null {
    const now = Date.now();
    for (let index = this.late.length - 1; index >= 0; index--) {
      const entry = this.late[index];
      if (entry && entry.releaseAt <= now) {
        this.queue.unshift(entry.sub);
        this.late.splice(index, 1);
      }
    }
    while (this.open && this.queue.length < this.targetQueue && (this.maxKeys === null || this.keys.size < this.maxKeys)) this.enqueue(this.prepare());
    if (this.queue.length === 0) return null;
    let pick = 0;
    for (let index = 0; index < Math.min(this.queue.length, 64); index++) {
      const sub = this.queue[index];
      if (sub && !this.givenTo.get(sub.key)?.has(slot)) {
        pick = index;
        break;
      }
    }
    const [sub] = this.queue.splice(pick, 1);
    if (!sub) return null;
    const given = this.givenTo.get(sub.key) ?? new Set<number>();
    given.add(slot);
    this.givenTo.set(sub.key, given);
    this.dispatched++;
    return sub;
  }

  /**
   * A queue's visibility timeout: a delivery not acknowledged in time (its worker is paused, dead or
   * slow) goes to another worker, as a fresh delivery of the same key.
   */
  redeliver(sub: Submission) {
    this.redeliveries++;
    this.queue.unshift({ ...sub, id: this.nextSub++, probe: false });
  }

  /**
   * A key for the stale-writer probe: one delivery, which holds before its last write (see
   * Submission.probe); its takeover is made by the orchestrator, not planned here.
   */
  addProbe(kind: Kind): Submission {
    const key = `probe-${kind}-${String(this.nextKey++).padStart(6, "0")}`;
    this.keys.set(key, kind);
    this.dispatched++;
    this.givenTo.set(key, new Set());
    return { id: this.nextSub++, key, kind, leaseMs: 600, workMs: 0, effectFirst: true, probe: true };
  }

  requeue(sub: Submission) {
    this.dispatched--;
    this.queue.unshift(sub);
  }

  /** Keys delivered at least once. */
  keysDelivered(): number {
    return this.givenTo.size;
  }

  /** --keys: every key planned and every copy sent (late ones included). */
  exhausted(): boolean {
    return this.maxKeys !== null && this.keys.size >= this.maxKeys && this.queue.length === 0 && this.late.length === 0;
  }

  undelivered(): number {
    return this.queue.length + this.late.length;
  }
}

// ---------------------------------------------------------------------------------------------------
// The chaos schedule, drawn up front from the seed.

export const ACTIONS = [
  "kill_worker",
  "pause_worker",
  "restart_redis",
  "pause_redis",
  "restart_postgres",
  "crash_postgres",
  "plant_stale_lock",
  "drop_connection",
] as const;
export type Action = (typeof ACTIONS)[number];
/**
 * How often each fault is drawn. drop_connection (one worker connection killed, the server staying up)
 * is on unless --no-drop-connections. It used to be off: with postgres.js 3.4.9 as released, a dropped
 * connection let an abandoned transaction callback write outside its transaction (porsager/postgres#1216),
 * breaking runOnceInTransaction's exactly-once. patches/postgres+3.4.9.patch applies the fix (#1215), and
 * runs with dropped connections have been clean since (docs/guarantees.md, section 7).
 */
export function chaosWeights(options: { dropConnections: boolean }): Record<Action, number> {
  return {
    kill_worker: 28,
    pause_worker: 30,
    restart_redis: 8,
    pause_redis: 6,
    restart_postgres: 6,
    crash_postgres: 6,
    plant_stale_lock: 6,
    drop_connection: options.dropConnections ? 12 : 0,
  };
}

export interface ChaosEvent {
  atMs: number;
  action: Action;
  target: number;
  /** pause length, server downtime, or respawn delay */
  durationMs: number;
  /** plant_stale_lock: 0 on a finished key, 1 on a key not yet delivered */
  variant: number;
}

function drawDuration(rng: () => number, action: Action): number {
  switch (action) {
    case "kill_worker":
      return randomInt(rng, 100, 1000);
    case "pause_worker":
      // Long enough, mostly, for the run to be taken over and finished by another worker meanwhile: the
      // paused one then writes after the newer attempt, which only fencing can refuse.
      return randomInt(rng, 1200, 4000);
    case "pause_redis":
      return randomInt(rng, 300, 1500);
    case "restart_redis":
    case "restart_postgres":
    case "crash_postgres":
      return randomInt(rng, 200, 1500);
    case "plant_stale_lock":
    case "drop_connection":
      return 0;
  }
}

/**
 * The whole chaos schedule, drawn up front: faults at random gaps around `meanGapMs`, each kind at
 * least `minimum` times, the last second left quiet so the final crash finds workers mid-flight.
 */
export function drawSchedule(
  rng: () => number,
  options: { durationMs: number; meanGapMs: number; weights: Record<Action, number>; minimum: Record<Action, number> },
): ChaosEvent[] {
  const { durationMs, meanGapMs, weights, minimum } = options;
  const total = Object.values(weights).reduce((sum, weight) => sum + weight, 0);
  const pick = (): Action => {
    let roll = rng() * total;
    for (const action of ACTIONS) {
      roll -= weights[action];
      if (roll < 0) return action;
    }
    return "kill_worker";
  };
  const event = (atMs: number, action: Action): ChaosEvent => ({
    atMs,
    action,
    target: randomInt(rng, 0, 1_000_000),
    durationMs: drawDuration(rng, action),
    variant: rng() < 0.5 ? 0 : 1,
  });
  const events: ChaosEvent[] = [];
  for (let at = 400 + rng() * meanGapMs; at < durationMs - 1000; at += meanGapMs * (0.3 + 1.4 * rng())) {
    events.push(event(Math.round(at), pick()));
  }
  // Every kind of fault at least `minimum` times: replace surplus worker faults, or add events.
  const count = (action: Action) => events.filter((e) => e.action === action).length;
  for (const action of ACTIONS) {
    while (count(action) < minimum[action]) {
      const replaceable = events
        .map((e, index) => ({ e, index }))
        .filter(({ e }) => (e.action === "kill_worker" || e.action === "pause_worker") && e.action !== action && count(e.action) > minimum[e.action]);
      const chosen = replaceable[Math.floor(rng() * replaceable.length)];
      if (chosen) events[chosen.index] = event(chosen.e.atMs, action);
      else events.push(event(Math.round(400 + rng() * (durationMs - 1400)), action));
    }
  }
  return spaceServerFaults(events.sort((a, b) => a.atMs - b.atMs), durationMs, minimum);
}

/** The faults that take a server down, by server: one runs at a time (run.ts queues them). */
const SERVER_FAULTS: Array<{ actions: Action[]; gapMs: number }> = [
  // Down for up to 1.5 s, then a start that takes about a second on a busy machine.
  { actions: ["restart_postgres", "crash_postgres"], gapMs: 3000 },
  // Down or stopped for up to 1.5 s; a restart is quick.
  { actions: ["restart_redis", "pause_redis"], gapMs: 2000 },
];

/**
 * Moves a server's faults apart so that each finds the server up, not still coming back from the
 * previous one (it would wait for it, and the faults would pile up at the end). A fault pushed past the
 * chaos is dropped if its kind has more than its minimum, else kept at the end.
 */
function spaceServerFaults(events: ChaosEvent[], durationMs: number, minimum: Record<Action, number>): ChaosEvent[] {
  const last = Math.max(0, durationMs - 1000);
  const dropped = new Set<ChaosEvent>();
  for (const { actions, gapMs } of SERVER_FAULTS) {
    let previous = -Infinity;
    for (const event of events) {
      if (!actions.includes(event.action)) continue;
      const at = Math.max(event.atMs, previous + gapMs);
      const kept = events.filter((e) => e.action === event.action && !dropped.has(e)).length;
      if (at > last && kept > minimum[event.action]) {
        dropped.add(event);
        continue;
      }
      event.atMs = Math.round(at);
      previous = at;
    }
  }
  return events.filter((event) => !dropped.has(event)).sort((a, b) => a.atMs - b.atMs);
}
