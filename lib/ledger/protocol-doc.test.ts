import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { canonicalJson, fingerprintOf, fingerprintOfCanonical, pickFields, type Json } from "./json";
import * as protocol from "./protocol";
import type { Queryable } from "./protocol";
import type { Submission } from "./spec";

/**
 * docs/ledger-protocol.md is what a worker in another language implements, so its SQL must be the SQL
 * the SDK sends. Each statement in the doc follows a `<!-- protocol.ts: name -->` marker; the test runs
 * the function of that name against a recording client whose inputs are distinctive values, renders
 * the SQL with each value replaced by the doc's `$name`, and compares the two ignoring whitespace.
 */

const doc = readFileSync(path.join(import.meta.dirname, "../../docs/ledger-protocol.md"), "utf8");

type Rendered = { sql: string; unnamed: unknown[] };

/** A client that records the statement instead of sending it, naming each value by the map. */
function recorder(names: Map<string, string>) {
  const sent: Rendered[] = [];
  const q = (strings: TemplateStringsArray, ...values: unknown[]) => {
    const unnamed: unknown[] = [];
    let text = strings[0] ?? "";
    values.forEach((value, i) => {
      const name = names.get(JSON.stringify(value));
      if (!name) unnamed.push(value);
      text += (name ?? "<?>") + (strings[i + 1] ?? "");
    });
    sent.push({ sql: text, unnamed });
    return Promise.resolve([]);
  };
  return { q: q as unknown as Queryable, sent };
}

const normalise = (text: string) => text.replace(/\s+/g, " ").replace(/;\s*$/, "").trim();

function docStatement(name: string): string {
  const marker = `<!-- protocol.ts: ${name} -->`;
  const at = doc.indexOf(marker);
  if (at < 0) throw new Error(`docs/ledger-protocol.md has no ${marker}`);
  const block = /```sql\n([\s\S]*?)```/.exec(doc.slice(at + marker.length));
  if (!block?.[1]) throw new Error(`no sql block after ${marker}`);
  return block[1];
}

const sub: Submission = {
  task: "T-task",
  key: "K-key",
  payload: { p: 1 },
  payloadJson: "P-payload",
  fingerprint: "F-fingerprint",
  leaseMs: 987_654,
  maxAttempts: 77,
  fingerprintFields: undefined,
  scheduledFor: new Date("2001-02-03T04:05:06.789Z"),
  source: "S-source",
};
const lease = { runId: 5_550_001, token: "T-token", workerId: "W-worker", fencingToken: 5_550_002, leaseMs: 987_654 };
const tokens = ["tok-1", "tok-2", "tok-3", "tok-4", "tok-5", "tok-6", "tok-7", "tok-8", "tok-9", "tok-10", "tok-11"];

const common: Array<[unknown, string]> = [
  [sub.task, "$task"],
  [sub.key, "$key"],
  [sub.payloadJson, "$payload"],
  [sub.fingerprint, "$fp"],
  [sub.leaseMs, "$lease_ms"],
  [sub.maxAttempts, "$max_attempts"],
  [sub.scheduledFor?.toISOString(), "$scheduled_for"],
  [sub.source, "$source"],
  [lease.runId, "$run_id"],
  [lease.token, "$T"],
  [lease.workerId, "$W"],
  [lease.fencingToken, "$my_fencing_token"],
];

const names = (extra: Array<[unknown, string]> = []) => new Map([...common, ...extra].map(([value, name]) => [JSON.stringify(value), name]));

const error = { message: "E-message", class: "E-class", stack: null };

const statements: Record<string, { extra?: Array<[unknown, string]>; send: (q: Queryable) => Promise<unknown> }> = {
  recordLockContended: { send: (q) => protocol.recordLockContended(q, sub, lease.workerId) },
  insertClaimRows: { send: (q) => protocol.insertClaimRows(q, sub, lease) },
  resolveConflict: { send: (q) => protocol.resolveConflict(q, sub, lease) },
  heartbeatStatement: { extra: [[true, "$record_event"]], send: (q) => protocol.heartbeatStatement(q, lease, true) },
  completeRows: {
    extra: [
      [JSON.stringify("R-result"), "$result"],
      ["X-xid", "$xid"],
    ],
    send: (q) => protocol.completeRows(q, lease, "R-result", { xid: "X-xid" }),
  },
  failStatement: {
    extra: [
      [JSON.stringify(error), "$error"],
      [true, "$retryable"],
      [4_321, "$backoff_ms"],
    ],
    send: (q) => protocol.failStatement(q, lease, error, { retryable: true, backoffMs: 4_321 }),
  },
  recordStaleWrite: { extra: [["complete", "$what"]], send: (q) => protocol.recordStaleWrite(q, lease, "complete") },
  claimPendingStatement: {
    extra: [
      [["Q-task"], "$tasks"],
      [tokens, "$tokens"],
      [tokens.length, "$limit"],
    ],
    send: (q) => protocol.claimPendingStatement(q, { tasks: ["Q-task"], tokens, workerId: lease.workerId, leaseMs: lease.leaseMs }),
  },
};

describe("docs/ledger-protocol.md", () => {
  it.each(Object.keys(statements))("spells %s exactly as protocol.ts sends it", async (name) => {
    const statement = statements[name]!;
    const { q, sent } = recorder(names(statement.extra));
    await statement.send(q);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.unnamed).toEqual([]);
    expect(normalise(docStatement(name))).toBe(normalise(sent[0]!.sql));
  });

  it("covers every statement protocol.ts exports", () => {
    // Functions that send SQL take the client first; the rest (toRun wrappers) are listed by their *Rows twin.
    const covered = new Set([...Object.keys(statements), "insertClaim", "completeStatement"]);
    const exported = Object.entries(protocol)
      .filter(([, value]) => typeof value === "function")
      .map(([name]) => name);
    expect(exported.filter((name) => !covered.has(name))).toEqual([]);
  });
});

describe("the fingerprint test vectors in docs/ledger-protocol.md", () => {
  const start = doc.indexOf("<!-- fingerprint vectors -->");
  const table = doc.slice(start, doc.indexOf("\n\n", start + 30));
  const cell = (text: string) => text.trim().replace(/^`|`$/g, "");
  const rows = table
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .map((line) => line.slice(1, -1).split("|").map(cell));

  it("are there", () => {
    expect(start).toBeGreaterThan(0);
    expect(rows.length).toBeGreaterThanOrEqual(5);
  });

  it.each(rows.map((row) => [row[0], row] as const))("%s hashes as the SDK hashes it", (_payload, row) => {
    const [payloadText, fieldsText, canonical, fingerprint] = row;
    const payload = JSON.parse(payloadText!) as Json;
    const fields = fieldsText ? (JSON.parse(fieldsText) as string[]) : undefined;
    const picked = pickFields(payload, fields);
    expect(canonicalJson(picked)).toBe(canonical);
    expect(fingerprintOf(picked)).toBe(fingerprint);
    expect(fingerprintOfCanonical(canonical!)).toBe(fingerprint);
  });
});
