import "server-only";
import { z } from "zod";
import { AppError, isAppError } from "@/lib/errors";
import { recordOperatorAction } from "@/lib/ops/audit";
import type { Operation, OperationContext } from "@/lib/ops/perform";
import { optionalReason } from "@/lib/ops/reason";
import { blankAsUnset } from "@/lib/params/fields";
import { lockClasses } from "./classify";
import type { RedisClient } from "./commands";
import type { LockConfig } from "./config";
import { displayBytes, MAX_VALUE_BYTES } from "./inventory";
import { describeOutcome, releaseInventoriedLock, releaseSelectedLocks, type BulkItem, type ReleaseOutcome } from "./release";

/**
 * The lock operations, defined once (lib/ops/perform.ts) so the console's server actions
 * (app/(console)/locks/actions.ts) and any API route get the same role, validation, release and audit.
 * Redis and the lock configuration are passed in, so tests run them against their own.
 */

/** Bulk releases carry at most this many locks; the screen refuses to select more. */
export const MAX_BULK_RELEASE = 200;

const MAX_KEY_BYTES = 4096;
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64");

/**
 * One lock as seen on screen (LockRef, lib/locks/view.ts): key and value as base64 of their exact bytes,
 * the class, and the PTTL and read time that let the release tell a lock set again with the same value.
 */
const lockRef = z
  .object({
    key: base64,
    value: base64,
    class: z.enum(lockClasses),
    pttlMs: z.number().int().min(-1).optional(),
    seenAt: z.number().int().positive().optional(),
  })
  .transform((ref, ctx) => {
    const keyRaw = Buffer.from(ref.key, "base64");
    const value = Buffer.from(ref.value, "base64");
    if (keyRaw.length === 0 || keyRaw.length > MAX_KEY_BYTES) {
      ctx.addIssue({ code: "custom", path: ["key"], message: `must be 1 to ${MAX_KEY_BYTES} bytes` });
      return z.NEVER;
    }
    // As shown and audited: the text, or the bytes escaped when the key is binary.
    const key = displayBytes(keyRaw);
    if (value.length > MAX_VALUE_BYTES) {
      ctx.addIssue({ code: "custom", path: ["value"], message: "is longer than the console releases" });
      return z.NEVER;
    }
    if ((ref.pttlMs === undefined) !== (ref.seenAt === undefined)) {
      ctx.addIssue({ code: "custom", path: ["seenAt"], message: "pttlMs and seenAt go together" });
      return z.NEVER;
    }
    const seen = ref.pttlMs === undefined || ref.seenAt === undefined ? null : { pttlMs: ref.pttlMs, atMs: ref.seenAt };
    return { key, keyRaw, value, class: ref.class, seen };
  });

/** A form field holds the LockRef as JSON; the JSON API passes the object. */
const lockRefField = z.preprocess((text) => {
  if (typeof text !== "string") return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}, lockRef);

const reason = optionalReason;

export const releaseLockSchema = z.object({
  lock: lockRefField,
  reason,
  confirmKey: z.preprocess(blankAsUnset, z.string().max(MAX_KEY_BYTES).optional()),
  expireLease: z.preprocess(blankAsUnset, z.literal("on").optional()).transform((v) => v === "on"),
  leaseToken: z.preprocess(blankAsUnset, z.uuid("must be a lease token (uuid)").optional()),
});

export const releaseLocksSchema = z.object({
  lock: z.preprocess(
    (value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]),
    z.array(lockRefField).min(1, "select at least one lock").max(MAX_BULK_RELEASE, `at most ${MAX_BULK_RELEASE} locks at a time`),
  ),
  reason,
});

/** A lock reference from plain text key and value (tests, and lib/api/schemas.ts for API callers that send text). */
export function textLockRef(input: { key: string; value: string; class: string; pttlMs?: number; seenAt?: number }) {
  return {
    key: Buffer.from(input.key, "utf8").toString("base64"),
    value: Buffer.from(input.value, "utf8").toString("base64"),
    class: input.class,
    ...(input.pttlMs !== undefined ? { pttlMs: input.pttlMs } : {}),
    ...(input.seenAt !== undefined ? { seenAt: input.seenAt } : {}),
  };
}

/** Redis or Postgres failing mid-release: say so plainly; whether the script ran is for the page to show. */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isAppError(error)) throw error;
    console.error("[idem] lock release failed", error);
    throw new AppError(
      "UNAVAILABLE",
      "Redis or Postgres did not answer, so the console cannot tell whether anything was released. Reload the page to see the lock's state.",
    );
  }
}

const actorName = (ctx: OperationContext) => (ctx.actor.via === "api" ? `token:${ctx.actor.name}` : ctx.actor.name);

export function lockOperations(deps: { redis: () => RedisClient; config: () => LockConfig }) {
  const release: Operation<typeof releaseLockSchema> = {
    name: "lock.release",
    role: "operator",
    schema: releaseLockSchema,
    target: (input) => ({ type: "lock", id: input.lock.key }),
    precondition: (input) => ({
      value: displayBytes(input.lock.value),
      class: input.lock.class,
      pttlSeen: input.lock.seen?.pttlMs ?? null,
      seenAt: input.lock.seen ? new Date(input.lock.seen.atMs).toISOString() : null,
      leaseToken: input.leaseToken ?? null,
      expireLease: input.expireLease,
    }),
    reason: (input) => input.reason,
    run: async (input, ctx) => {
      const outcome = await guarded(() =>
        releaseInventoriedLock(
          deps.redis(),
          ctx.sql,
          deps.config(),
          {
            key: input.lock.key,
            keyRaw: input.lock.keyRaw,
            valueSeen: input.lock.value,
            classSeen: input.lock.class,
            seen: input.lock.seen,
            reason: input.reason,
            confirmKey: input.confirmKey ?? null,
            expireLease: input.expireLease,
            leaseTokenSeen: input.leaseToken ?? null,
          },
          { actor: actorName(ctx), requestId: ctx.requestId },
        ),
      );
      const { message, detail } = describeOutcome(input.lock.key, input.lock.value, outcome);
      return outcome.result === "released" ? { outcome: "done", message, detail } : { outcome: "refused", message, detail };
    },
  };

  /**
   * Audit: performOperation writes one `lock.release_bulk` row for the request (who, what was selected,
   * the tally), and this writes one `lock.release` row per lock (request id `<request>/<n>`), shaped like
   * a single release's row, so "every attempt on this key" is one query whichever way it was released.
   */
  const releaseBulk: Operation<typeof releaseLocksSchema> = {
    name: "lock.release_bulk",
    role: "operator",
    schema: releaseLocksSchema,
    target: (input) => ({ type: "locks", id: `${input.lock.length} selected` }),
    precondition: (input) => ({ locks: input.lock.map((l) => ({ key: l.key, value: displayBytes(l.value), class: l.class, pttlSeen: l.seen?.pttlMs ?? null })) }),
    reason: (input) => input.reason,
    run: async (input, ctx) => {
      const items: BulkItem[] = input.lock.map((l) => ({ key: l.key, keyRaw: l.keyRaw, valueSeen: l.value, classSeen: l.class, seen: l.seen }));
      const tally: Record<ReleaseOutcome["result"], number> = { released: 0, changed: 0, gone: 0, refused: 0 };
      await guarded(() =>
        releaseSelectedLocks(
          deps.redis(),
          ctx.sql,
          deps.config(),
          items,
          input.reason,
          { actor: actorName(ctx), requestId: ctx.requestId },
          async (item, outcome, index) => {
            tally[outcome.result]++;
            const { message, detail } = describeOutcome(item.key, item.valueSeen, outcome);
            await recordOperatorAction(ctx.sql, {
              actor: actorName(ctx),
              actorRole: ctx.actor.role,
              action: "lock.release",
              targetType: "lock",
              targetId: item.key,
              precondition: { value: displayBytes(item.valueSeen), class: item.classSeen, pttlSeen: item.seen?.pttlMs ?? null, bulk: ctx.requestId },
              outcome: outcome.result === "released" ? "done" : "refused",
              outcomeDetail: { message, ...detail },
              reason: input.reason,
              requestId: `${ctx.requestId}/${index + 1}`,
            });
          },
        ),
      );
      const parts = [
        `${tally.released} released`,
        tally.changed ? `${tally.changed} changed since you looked (left alone)` : null,
        tally.gone ? `${tally.gone} already gone` : null,
        tally.refused ? `${tally.refused} refused` : null,
      ].filter(Boolean);
      const message = `${items.length} selected: ${parts.join(", ")}.`;
      const detail = { ...tally, selected: items.length };
      return tally.released > 0 ? { outcome: "done", message, detail } : { outcome: "refused", message, detail };
    },
  };

  return { release, releaseBulk };
}
