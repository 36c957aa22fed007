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
import { MAX_VALUE_BYTES } from "./inventory";
import { describeOutcome, releaseInventoriedLock, releaseSelectedLocks, type BulkItem, type ReleaseOutcome } from "./release";

/**
 * The lock operations, defined once (lib/ops/perform.ts) so the console's server actions
 * (app/(console)/locks/actions.ts) and any API route get the same role, validation, release and audit.
 * Redis and the lock configuration are passed in, so tests run them against their own.
 */

/** Bulk releases carry at most this many locks; the screen refuses to select more. */
export const MAX_BULK_RELEASE = 200;

const lockKey = z.string().min(1, "is required").max(4096, "is too long");
// The exact value seen: a value the console can release is at most MAX_VALUE_BYTES of UTF-8.
const valueSeen = z.string().max(MAX_VALUE_BYTES, "is longer than the console releases");
const reason = optionalReason;

export const releaseLockSchema = z.object({
  key: lockKey,
  value: valueSeen,
  class: z.enum(lockClasses),
  reason,
  confirmKey: z.preprocess(blankAsUnset, z.string().max(4096).optional()),
  expireLease: z.preprocess(blankAsUnset, z.literal("on").optional()).transform((v) => v === "on"),
  leaseToken: z.preprocess(blankAsUnset, z.uuid("must be a lease token (uuid)").optional()),
});

const bulkItem = z.preprocess(
  (text) => {
    if (typeof text !== "string") return text;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  },
  z.object({ key: lockKey, value: valueSeen, class: z.enum(lockClasses) }, { error: "each lock must be {key, value, class}" }),
);

export const releaseLocksSchema = z.object({
  lock: z.preprocess(
    (value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]),
    z.array(bulkItem).min(1, "select at least one lock").max(MAX_BULK_RELEASE, `at most ${MAX_BULK_RELEASE} locks at a time`),
  ),
  reason,
});

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
    target: (input) => ({ type: "lock", id: input.key }),
    precondition: (input) => ({ value: input.value, class: input.class, leaseToken: input.leaseToken ?? null, expireLease: input.expireLease }),
    reason: (input) => input.reason,
    run: async (input, ctx) => {
      const outcome = await guarded(() =>
        releaseInventoriedLock(
          deps.redis(),
          ctx.sql,
          deps.config(),
          {
            key: input.key,
            valueSeen: input.value,
            classSeen: input.class,
            reason: input.reason,
            confirmKey: input.confirmKey ?? null,
            expireLease: input.expireLease,
            leaseTokenSeen: input.leaseToken ?? null,
          },
          { actor: actorName(ctx), requestId: ctx.requestId },
        ),
      );
      const { message, detail } = describeOutcome(input.key, input.value, outcome);
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
    precondition: (input) => ({ locks: input.lock.map((l) => ({ key: l.key, value: l.value, class: l.class })) }),
    reason: (input) => input.reason,
    run: async (input, ctx) => {
      const items: BulkItem[] = input.lock.map((l) => ({ key: l.key, valueSeen: l.value, classSeen: l.class }));
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
              precondition: { value: item.valueSeen, class: item.classSeen, bulk: ctx.requestId },
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
