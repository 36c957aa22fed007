import { describe, expect, it } from "vitest";
import { useTestDatabase } from "@/tests/helpers/db";
import { authenticate } from "./login";
import { hashPassword } from "./password";
import { createSession, MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_IP } from "./sessions";
import type postgres from "postgres";

async function addUser(sql: postgres.Sql, username: string, password: string): Promise<void> {
  await sql`INSERT INTO idem.users (username, password_hash, role, created_by) VALUES (${username}, ${await hashPassword(password)}, 'viewer', 'test')`;
}

const outcome = (result: Awaited<ReturnType<typeof authenticate>>) => (result.ok ? "ok" : result.reason === "throttled" ? `throttled:${result.throttle.scope}` : "invalid");
const tally = (outcomes: string[]) => outcomes.reduce<Record<string, number>>((acc, o) => ({ ...acc, [o]: (acc[o] ?? 0) + 1 }), {});

describe("password sign-in throttle", () => {
  const db = useTestDatabase();

  it("lets at most 5 of 40 parallel guesses at one account reach the password check", async () => {
    const sql = db().connect({ max: 40 });
    await addUser(sql, "target", "the-right-password");
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => authenticate(sql, "target", `guess-${i}`, "203.0.113.7")));
    // Under a burst the count is conservative: some attempts see others that are refused a moment later.
    const { invalid = 0, "throttled:account": throttled = 0, ...other } = tally(results.map(outcome));
    expect(other).toEqual({});
    expect(invalid).toBeGreaterThan(0);
    expect(invalid).toBeLessThanOrEqual(MAX_FAILURES_PER_ACCOUNT);
    expect(invalid + throttled).toBe(40);
    // Refused attempts are not kept: only those that were checked count towards the window.
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM idem.login_attempts WHERE username = 'target'`;
    expect(row?.n).toBe(invalid);
    // Topped up to the limit one at a time, the account is then closed even to the right password.
    for (let i = invalid; i < MAX_FAILURES_PER_ACCOUNT; i++) expect(outcome(await authenticate(sql, "target", `more-${i}`, "203.0.113.7"))).toBe("invalid");
    expect(outcome(await authenticate(sql, "target", "the-right-password", "203.0.113.7"))).toBe("throttled:account");
  });

  it("lets at most 20 parallel guesses from one address reach the password check, across accounts", async () => {
    const sql = db().connect({ max: 40 });
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => authenticate(sql, `nobody-${i}`, "guess", "198.51.100.4")));
    const { invalid = 0, "throttled:ip": throttled = 0, ...other } = tally(results.map(outcome));
    expect(other).toEqual({});
    expect(invalid).toBeGreaterThan(0);
    expect(invalid).toBeLessThanOrEqual(MAX_FAILURES_PER_IP);
    expect(invalid + throttled).toBe(40);
    // Another address is not affected.
    expect(outcome(await authenticate(sql, "nobody-0", "guess", "198.51.100.5"))).toBe("invalid");
  });

  it("counts IPv6 guesses by /64: fresh addresses from one network share the per-IP limit", async () => {
    const sql = db().connect({ max: 30 });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => authenticate(sql, `v6-${i}`, "guess", `2001:db8:7:9::${(i + 1).toString(16)}`)));
    const { invalid = 0, "throttled:ip": throttled = 0 } = tally(results.map(outcome));
    expect(invalid).toBeLessThanOrEqual(MAX_FAILURES_PER_IP);
    expect(invalid + throttled).toBe(30);
    // Another /64 is another address.
    expect(outcome(await authenticate(sql, "v6-0", "guess", "2001:db8:7:a::1"))).toBe("invalid");
  });

  it("strangers' failures do not lock the owner out from an address that signed in before", async () => {
    const sql = db().sql;
    await addUser(sql, "admin", "the-admins-password");
    expect(outcome(await authenticate(sql, "admin", "the-admins-password", "10.0.0.1"))).toBe("ok");
    for (let i = 0; i < MAX_FAILURES_PER_ACCOUNT; i++) expect(outcome(await authenticate(sql, "admin", `guess-${i}`, "203.0.113.9"))).toBe("invalid");
    expect(outcome(await authenticate(sql, "admin", "guess-x", "203.0.113.9"))).toBe("throttled:account");
    // A new address (attacker or owner alike) is held back by the account limit...
    expect(outcome(await authenticate(sql, "admin", "the-admins-password", "10.0.0.2"))).toBe("throttled:account");
    // ...but the owner's known address still signs in.
    expect(outcome(await authenticate(sql, "admin", "the-admins-password", "10.0.0.1"))).toBe("ok");
  });

  it("a known address is still throttled for its own failures", async () => {
    const sql = db().sql;
    await addUser(sql, "owner", "the-owners-password");
    expect(outcome(await authenticate(sql, "owner", "the-owners-password", "10.0.0.1"))).toBe("ok");
    for (let i = 0; i < MAX_FAILURES_PER_ACCOUNT; i++) expect(outcome(await authenticate(sql, "owner", `guess-${i}`, "10.0.0.1"))).toBe("invalid");
    expect(outcome(await authenticate(sql, "owner", "the-owners-password", "10.0.0.1"))).toBe("throttled:account");
  });

  it("signing in prunes sessions a day past expiry and attempts older than 30 days, and nothing newer", async () => {
    const sql = db().sql;
    await addUser(sql, "pruner", "the-pruners-password");
    const [user] = await sql<{ id: number }[]>`SELECT id FROM idem.users WHERE username = 'pruner'`;
    await sql`INSERT INTO idem.sessions (id, user_id, expires_at) VALUES ('long-gone', ${user!.id}, now() - interval '2 days'), ('just-expired', ${user!.id}, now() - interval '1 hour')`;
    await sql`INSERT INTO idem.login_attempts (username, ip, succeeded, at) VALUES ('pruner', '10.0.0.9', false, now() - interval '31 days'), ('pruner', '10.0.0.9', true, now() - interval '29 days')`;
    await createSession(sql, user!.id, { ip: "10.0.0.1", userAgent: null });
    expect((await sql<{ id: string }[]>`SELECT id FROM idem.sessions WHERE user_id = ${user!.id} AND id IN ('long-gone', 'just-expired')`).map((r) => r.id)).toEqual(["just-expired"]);
    const attempts = await sql<{ days: number }[]>`SELECT round(extract(epoch FROM now() - at) / 86400)::int AS days FROM idem.login_attempts WHERE username = 'pruner'`;
    expect(attempts.map((a) => a.days)).toEqual([29]);
  });
});
