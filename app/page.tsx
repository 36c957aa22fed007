export default function Home() {
  return (
    <main className="mx-auto max-w-3xl p-8">
      <h1 className="text-2xl font-semibold">Idem</h1>
      <p className="mt-2 text-zinc-600">The ledger is running. The console screens come next.</p>
    </main>
  );
}
