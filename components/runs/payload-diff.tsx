import { formatPath, type DiffEntry, type PayloadDiff } from "@/lib/ledger/payload-diff";
import { escapeInvisible } from "@/components/ui/invisible";

function show(value: unknown): string {
  const text = value === undefined ? "undefined" : escapeInvisible(JSON.stringify(value));
  return text.length > 400 ? `${text.slice(0, 400)}… (${text.length - 400} more characters)` : text;
}

const kindStyle: Record<DiffEntry["kind"], { label: string; className: string }> = {
  added: { label: "only in the duplicate", className: "bg-emerald-50 text-emerald-800 ring-emerald-200" },
  removed: { label: "only in the stored run", className: "bg-red-50 text-red-800 ring-red-200" },
  changed: { label: "changed", className: "bg-amber-50 text-amber-900 ring-amber-200" },
  moved: { label: "moved", className: "bg-sky-50 text-sky-800 ring-sky-200" },
};

/**
 * What a rejected duplicate carried that the stored run did not, path by path. Values are shown as
 * JSON text in React text nodes: a payload holding markup is displayed, never interpreted.
 */
export function PayloadDiffView({ diff }: { diff: PayloadDiff }) {
  if (diff.identical) {
    return (
      <p className="text-sm text-zinc-600">
        The full payloads are identical; the fingerprints differ because the run fingerprints only some fields, or the payload was canonicalised differently.
      </p>
    );
  }
  return (
    <div data-testid="payload-diff">
      <table className="w-full border-collapse text-left text-xs">
        <thead>
          <tr className="text-zinc-500">
            <th scope="col" className="py-1 pr-3 font-medium">
              Path
            </th>
            <th scope="col" className="py-1 pr-3 font-medium">
              Difference
            </th>
            <th scope="col" className="py-1 pr-3 font-medium">
              Stored run
            </th>
            <th scope="col" className="py-1 font-medium">
              This duplicate
            </th>
          </tr>
        </thead>
        <tbody className="font-mono">
          {diff.entries.map((entry, i) => (
            <tr key={i} className="border-t border-zinc-100 align-top" data-testid="diff-entry" data-kind={entry.kind}>
              <td className="py-1.5 pr-3 text-zinc-800">{formatPath(entry.path)}</td>
              <td className="py-1.5 pr-3 font-sans">
                <span className={`rounded px-1.5 py-0.5 ring-1 ring-inset ${kindStyle[entry.kind].className}`}>{kindStyle[entry.kind].label}</span>
              </td>
              <td className="max-w-xs break-all py-1.5 pr-3 text-red-800">
                {entry.kind === "removed" || entry.kind === "changed" ? <del className="decoration-red-400">{show(entry.before)}</del> : entry.kind === "moved" ? show(entry.value) : <span className="text-zinc-400">(absent)</span>}
              </td>
              <td className="max-w-xs break-all py-1.5 text-emerald-800">
                {entry.kind === "added" || entry.kind === "changed" ? <ins className="no-underline">{show(entry.after)}</ins> : entry.kind === "moved" ? `to [${entry.to}]` : <span className="text-zinc-400">(absent)</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {diff.truncated && <p className="mt-2 text-xs text-zinc-500">More differences than shown; compare the full payloads below.</p>}
    </div>
  );
}
