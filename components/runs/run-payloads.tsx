import { JsonViewer } from "@/components/ui/json-viewer";
import { Panel } from "@/components/ui/panel";
import type { RunDetail } from "@/lib/ledger/queries";

function errorParts(error: unknown): { message: string | null; className: string | null; stack: string | null } {
  if (!error || typeof error !== "object" || Array.isArray(error)) return { message: error == null ? null : String(error), className: null, stack: null };
  const record = error as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : null);
  return { message: text(record.message), className: text(record.class), stack: text(record.stack) };
}

/** Payload, result and error, each through the escaping JSON viewer; a stack trace as plain preformatted text. */
export function RunPayloads({ run }: { run: RunDetail }) {
  const error = run.error === null ? null : errorParts(run.error);
  return (
    <div className="grid grid-cols-1 gap-6 xl:grid-cols-2">
      <Panel title="Payload" description={`Fingerprint ${run.fingerprint.slice(0, 16)}…`}>
        <JsonViewer value={run.payload} className="max-h-96" />
      </Panel>
      {error ? (
        <Panel title="Error" description={run.status === "failed" ? "The last attempt failed; this key is spent." : "From the last failed attempt."} className="border-red-200">
          <div className="flex flex-col gap-3" data-testid="run-error">
            <p className="text-sm">
              {error.className && <span className="mr-2 rounded bg-red-100 px-1.5 py-0.5 font-mono text-xs text-red-800">{error.className}</span>}
              <span className="font-medium text-red-800">{error.message ?? "(no message)"}</span>
            </p>
            {error.stack && (
              <pre className="max-h-80 overflow-auto rounded-md bg-zinc-950 p-3 font-mono text-xs leading-relaxed text-red-200" data-testid="run-error-stack">
                {error.stack}
              </pre>
            )}
            <details>
              <summary className="cursor-pointer text-xs text-zinc-600">The error record as stored</summary>
              <JsonViewer value={run.error} className="mt-2 max-h-64" />
            </details>
          </div>
        </Panel>
      ) : (
        <Panel title="Result">
          {run.status === "succeeded" ? (
            <JsonViewer value={run.result} className="max-h-96" />
          ) : (
            <p className="text-sm text-zinc-500">No result: the run has not succeeded{run.status === "running" || run.status === "pending" ? " yet" : ""}.</p>
          )}
        </Panel>
      )}
    </div>
  );
}
