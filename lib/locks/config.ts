import { escapeGlob, globMatch } from "./glob";
import { DEFAULT_LOCK_PREFIX, parseLockKey } from "./locks";
import { matchTemplate, parseLockTemplate, type LockTemplate } from "./templates";

/**
 * What the console inventories and how it links a key to its run. Built from the environment for the
 * console (lib/locks/settings.ts) and by hand in tests and benchmarks, which use their own prefixes.
 */
export interface LockConfig {
  /** The SDK's lock prefix: `<prefix><task>:<key>`, the value being the run's lease token. */
  sdkPrefix: string;
  /** Every SCAN pattern, the SDK's first, without duplicates. */
  patterns: string[];
  templates: LockTemplate[];
  /** Keys examined per inventory at most, so one page view costs Redis a bounded amount of work. */
  maxKeys: number;
}

export const DEFAULT_MAX_KEYS = 10_000;

export function buildLockConfig(options: {
  sdkPrefix?: string;
  patterns?: string[];
  templates?: Array<string | LockTemplate>;
  maxKeys?: number;
}): LockConfig {
  const sdkPrefix = options.sdkPrefix ?? DEFAULT_LOCK_PREFIX;
  const templates = (options.templates ?? []).map((t) => (typeof t === "string" ? parseLockTemplate(t) : t));
  const patterns = [...new Set([`${escapeGlob(sdkPrefix)}*`, ...(options.patterns ?? []), ...templates.map((t) => t.pattern)])];
  return { sdkPrefix, patterns, templates, maxKeys: options.maxKeys ?? DEFAULT_MAX_KEYS };
}

/**
 * How a key leads to a run. `sdk`: the SDK's own key, whose value must be the run's lease token.
 * `template`: other code's key, whose value is whatever that code writes ("1", "processing"), so it
 * is never compared with the lease token. `none`: inventoried by a pattern, but nothing maps it.
 */
export type LockMapping =
  | { source: "sdk"; by: "task_key"; task: string; key: string }
  | { source: "template"; template: string; by: "task_key"; task: string; key: string }
  | { source: "template"; template: string; by: "id"; runId: number };

export function mapLockKey(config: LockConfig, lockKey: string): LockMapping | null {
  const sdk = parseLockKey(lockKey, config.sdkPrefix);
  if (sdk) return { source: "sdk", by: "task_key", task: sdk.task, key: sdk.key };
  for (const template of config.templates) {
    const match = matchTemplate(template, lockKey);
    if (match) return { source: "template", template: template.source, ...match };
  }
  return null;
}

/** Whether the console looks after this key at all: only such keys may be released from it. */
export function isInventoried(config: LockConfig, lockKey: string | Uint8Array): boolean {
  return config.patterns.some((pattern) => globMatch(pattern, lockKey));
}
