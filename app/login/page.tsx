import type { Metadata, Route } from "next";
import { redirect } from "next/navigation";
import { getSession, safeNextPath } from "@/lib/auth/current";
import { signIn } from "./actions";
import { LoginForm } from "./login-form";

export const metadata: Metadata = { title: "Sign in" };

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const next = safeNextPath(typeof params.next === "string" ? params.next : null);
  const session = await getSession().catch(() => null);
  if (session) redirect(next as Route);
  return (
    <main className="flex min-h-screen items-center justify-center bg-zinc-100 p-6">
      <div className="w-full max-w-sm rounded-xl border border-zinc-200 bg-white p-8 shadow-sm">
        <div className="mb-6">
          <p className="text-xs font-semibold uppercase tracking-widest text-zinc-500">Idem</p>
          <h1 className="mt-1 text-xl font-semibold text-zinc-900">Sign in to the console</h1>
        </div>
        <LoginForm action={signIn} next={next} />
        <p className="mt-6 text-xs text-zinc-500">
          No account yet? An administrator creates one with <code className="rounded bg-zinc-100 px-1">npm run user:add</code>.
        </p>
      </div>
    </main>
  );
}
