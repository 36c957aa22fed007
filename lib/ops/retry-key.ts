/**
 * Retry keys, as lib/ops/retry.ts derives them in SQL: `<root key>#retry-<n>`, n = 1 + the retries
 * already in the lineage. Pure, for the console's dialogs to show the key before it exists.
 */
export function retryKeyFor(rootKey: string, retriesSeen: number): string {
  return `${rootKey}#retry-${retriesSeen + 1}`;
}

/**
 * The root's key from any run of the lineage: a root's own key, or a retry's key without the one
 * `#retry-<n>` suffix its creation appended (a root key that itself ends that way keeps it).
 */
export function rootKeyOf(run: { idempotencyKey: string; retryOf: number | null }): string {
  return run.retryOf === null ? run.idempotencyKey : run.idempotencyKey.replace(/#retry-\d+$/, "");
}
