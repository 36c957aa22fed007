import { env } from "@/lib/env";
import { buildLockConfig, type LockConfig } from "./config";

let cached: LockConfig | null = null;

/** The console's lock configuration: IDEM_LOCK_PREFIX, IDEM_LOCK_PATTERNS, IDEM_LOCK_TEMPLATES, IDEM_LOCK_SCAN_MAX_KEYS. */
export function consoleLockConfig(): LockConfig {
  cached ??= buildLockConfig({
    sdkPrefix: env.IDEM_LOCK_PREFIX,
    patterns: env.IDEM_LOCK_PATTERNS,
    templates: env.IDEM_LOCK_TEMPLATES,
    maxKeys: env.IDEM_LOCK_SCAN_MAX_KEYS,
  });
  return cached;
}
