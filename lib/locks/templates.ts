import { escapeGlob } from "./glob";

/**
 * Key templates map a lock that other code wrote to its run in the ledger (IDEM_LOCK_TEMPLATES).
 * A template is the key with placeholders, optionally followed by `=<task>`:
 *
 *   lock:order:{key}=charge_invoice   the run of task charge_invoice with idempotency key "42" for lock:order:42
 *   jobs:{task}:{key}                 task and key both taken from the lock key
 *   task:{id}                         the run whose id is in the key (task:1234)
 *
 * Each template is also a SCAN pattern (placeholders become `*`), so a template alone is enough to
 * have its locks inventoried. This module is pure: lib/env.ts validates the variable with it.
 */
export interface LockTemplate {
  /** As configured, for display. */
  source: string;
  /** The SCAN pattern that finds this template's keys. */
  pattern: string;
  regex: RegExp;
  by: "task_key" | "id";
  /** A task fixed by `=<task>`; null when the key carries it ({task}) or the template maps by id. */
  task: string | null;
  groups: Array<"task" | "key" | "id">;
}

export type TemplateMatch = { by: "task_key"; task: string; key: string } | { by: "id"; runId: number };

const TASK_NAME = /^[A-Za-z0-9_.\-/]{1,200}$/;
const PLACEHOLDER = /\{(task|key|id)\}/g;

const captures: Record<"task" | "key" | "id", string> = {
  // Task names cannot contain ':' (the ledger's rule), so {task} never swallows a separator.
  task: "([A-Za-z0-9_.\\-/]{1,200})",
  key: "(.+)",
  // Run ids are positive bigints; 16 digits keeps them exact as JS numbers.
  id: "([1-9][0-9]{0,15})",
};

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function parseLockTemplate(text: string): LockTemplate {
  const source = text.trim();
  if (!source) throw new Error("a template cannot be empty");
  let template = source;
  let task: string | null = null;
  const eq = source.lastIndexOf("=");
  if (eq !== -1) {
    task = source.slice(eq + 1).trim();
    template = source.slice(0, eq).trim();
    if (!TASK_NAME.test(task)) {
      throw new Error(`"${source}": the task after "=" must be a task name (letters, digits, _ . - /; no ":")`);
    }
  }
  const names = [...template.matchAll(PLACEHOLDER)].map((m) => m[1] as "task" | "key" | "id");
  const leftover = template.replace(PLACEHOLDER, "");
  if (/[{}]/.test(leftover)) throw new Error(`"${source}": the only placeholders are {task}, {key} and {id}`);
  for (const name of new Set(names)) {
    if (names.filter((n) => n === name).length > 1) throw new Error(`"${source}": {${name}} can appear only once`);
  }
  const has = (name: "task" | "key" | "id") => names.includes(name);
  if (has("id") && (has("key") || has("task") || task)) {
    throw new Error(`"${source}": a template with {id} names the run itself; it takes no {key}, {task} or "=task"`);
  }
  if (!has("id") && !has("key")) throw new Error(`"${source}": needs {key} (with {task} or "=task") or {id}`);
  if (has("key") && !has("task") && !task) throw new Error(`"${source}": {key} needs the task, as {task} in the key or "=task" at the end`);
  if (has("task") && task) throw new Error(`"${source}": give the task either as {task} or as "=task", not both`);
  if (!leftover) throw new Error(`"${source}": needs some fixed text besides the placeholders, or it would match every key`);

  let regex = "";
  let pattern = "";
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    const literal = template.slice(last, m.index);
    regex += escapeRegex(literal) + captures[m[1] as "task" | "key" | "id"];
    pattern += `${escapeGlob(literal)}*`;
    last = m.index + m[0].length;
  }
  const tail = template.slice(last);
  regex += escapeRegex(tail);
  pattern += escapeGlob(tail);
  return { source, pattern, regex: new RegExp(`^${regex}$`, "s"), by: has("id") ? "id" : "task_key", task, groups: names };
}

export function matchTemplate(template: LockTemplate, lockKey: string): TemplateMatch | null {
  const m = template.regex.exec(lockKey);
  if (!m) return null;
  const value = (name: "task" | "key" | "id") => m[template.groups.indexOf(name) + 1]!;
  if (template.by === "id") {
    const runId = Number(value("id"));
    return Number.isSafeInteger(runId) ? { by: "id", runId } : null;
  }
  const task = template.task ?? value("task");
  const key = value("key");
  // The ledger's key rule: 1 to 512 bytes.
  if (Buffer.byteLength(key) > 512) return null;
  return { by: "task_key", task, key };
}
