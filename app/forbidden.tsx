import Link from "next/link";

export default function Forbidden() {
  return (
    <main className="flex min-h-[60vh] flex-col items-center justify-center gap-3 p-8 text-center">
      <p className="text-sm font-semibold text-zinc-500">403</p>
      <h1 className="text-xl font-semibold text-zinc-900">Not allowed</h1>
      <p className="max-w-md text-sm text-zinc-600">Your role cannot open this page. Ask an administrator if you need it.</p>
      <Link href="/" className="text-sm font-medium text-sky-700 hover:underline">
        Back to the overview
      </Link>
    </main>
  );
}
