const snippet = `import postgres from "postgres";
import { createLedger } from "./lib/ledger";

const ledger = createLedger({ sql: postgres(process.env.DATABASE_URL!) });

await ledger.runOnce(
  { task: "send_email", key: \`welcome-\${user.id}\`, payload: { userId: user.id } },
  async () => sendWelcomeEmail(user),
);`;

/** The overview of a ledger with no runs at all: what to do next, rather than a page of zeros. */
export function EmptyOverview() {
  return (
    <section
      role="status"
      aria-label="No runs yet"
      data-testid="empty-overview"
      className="grid gap-6 rounded-lg border border-dashed border-zinc-300 bg-white p-6 lg:grid-cols-[minmax(0,2fr)_minmax(0,3fr)]"
    >
      <div className="flex flex-col gap-3 text-sm text-zinc-600">
        <h2 className="text-base font-semibold text-zinc-900">No runs yet</h2>
        <p>Nothing has written to this ledger. Connect a worker with the SDK and run a task through it; this page refreshes by itself and shows the first run within seconds.</p>
        <ol className="list-decimal space-y-1 pl-5">
          <li>
            Create a ledger with <code className="font-mono text-xs text-zinc-800">createLedger</code> on this database (and, optionally, Redis).
          </li>
          <li>
            Wrap each task in <code className="font-mono text-xs text-zinc-800">ledger.runOnce</code> with its idempotency key.
          </li>
        </ol>
        <p>
          Step by step in the README, section <strong className="font-medium text-zinc-800">“Using the SDK in a worker”</strong>; workers in other
          languages follow <strong className="font-medium text-zinc-800">docs/ledger-protocol.md</strong>.
        </p>
        <p>
          Or try the console with a live demo workload: <code className="rounded bg-zinc-100 px-1.5 py-0.5 font-mono text-xs text-zinc-800">npm run demo</code>
        </p>
      </div>
      <pre className="self-start overflow-x-auto rounded-md bg-zinc-950 p-4 font-mono text-xs leading-relaxed text-zinc-100">{snippet}</pre>
    </section>
  );
}
