import Link from "next/link";

export default function NotFound() {
  return (
    <main className="flex min-h-[60vh] flex-col items-center justify-center gap-3 p-8 text-center">
      <p className="text-sm font-semibold text-zinc-500">404</p>
      <h1 className="text-xl font-semibold text-zinc-900">Not found</h1>
      <p className="max-w-md text-sm text-zinc-600">There is nothing at this address. The run, lock or page may never have existed, or the link is mistyped.</p>
      <Link href="/" className="text-sm font-medium text-sky-700 hover:underline">
        Back to the overview
      </Link>
    </main>
  );
}
