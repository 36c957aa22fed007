import Link from "next/link";

/** A run id that is not a number, or no run has. */
export default function RunNotFound() {
  return (
    <div className="flex min-h-[50vh] flex-col items-center justify-center gap-3 text-center" data-testid="run-not-found">
      <p className="text-sm font-semibold text-zinc-500">404</p>
      <h1 className="text-xl font-semibold text-zinc-900">Run not found</h1>
      <p className="max-w-md text-sm text-zinc-600">
        No run has this id. Run ids are whole numbers; the run may be in another ledger, or the link is mistyped.
      </p>
      <Link href="/runs" className="text-sm font-medium text-sky-700 hover:underline">
        Search the runs
      </Link>
    </div>
  );
}
