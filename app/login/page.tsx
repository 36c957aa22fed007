import type { Metadata, Route } from "next";
import { redirect } from "next/navigation";
import { z } from "zod";
import { ActionMessage } from "@/components/ui/action-message";
import { buttonClass } from "@/components/ui/button";
import { getSession, requestMeta, safeNextPath } from "@/lib/auth/current";
import { plainHttpMessage } from "@/lib/auth/transport";
import { oidcFailures, oidcSettings, type OidcFailure } from "@/lib/auth/oidc";
import { signIn } from "./actions";
import { LoginForm } from "./login-form";

export const metadata: Metadata = { title: "Sign in" };

const ssoMessages: Record<OidcFailure, string> = {
  unavailable: "Single sign-on is unavailable: the console could not reach the identity provider or Postgres. Try again, or sign in with a password.",
  expired: "That single sign-on took too long or was started in another browser. Start again.",
  rejected: "The identity provider's answer did not check out, so nobody was signed in. Start again.",
  no_username: "The identity provider did not say which account this is. Ask an administrator to check IDEM_OIDC_USERNAME_CLAIM.",
  unverified: "The identity provider has not verified this email address, so it cannot name an account.",
  unknown_account: "Your identity was confirmed, but no enabled console account has that name. An administrator creates accounts with npm run user:add.",
};

// Anything else in `sso` is ignored rather than refused: the page must always let people sign in.
const ssoParam = z.enum(oidcFailures).optional().catch(undefined);

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const next = safeNextPath(typeof params.next === "string" ? params.next : null);
  const ssoFailure = ssoParam.parse(params.sso);
  const session = await getSession().catch(() => null);
  if (session) redirect(next as Route);
  const sso = oidcSettings();
  const meta = await requestMeta();
  return (
    <main className="flex min-h-screen items-center justify-center bg-zinc-100 p-6">
      <div className="w-full max-w-sm rounded-xl border border-zinc-200 bg-white p-8 shadow-sm">
        <div className="mb-6">
          <p className="text-xs font-semibold uppercase tracking-widest text-zinc-500">Idem</p>
          <h1 className="mt-1 text-xl font-semibold text-zinc-900">Sign in to the console</h1>
        </div>
        {meta.plainHttpRemote ? <ActionMessage className="mb-4" state={{ ok: false, error: plainHttpMessage(meta.host) }} /> : null}
        {ssoFailure ? <ActionMessage className="mb-4" state={{ ok: false, error: ssoMessages[ssoFailure] }} /> : null}
        {sso ? (
          <>
            {/* A plain link, not next/link: a prefetch of this route would start a sign-in. */}
            <a href={`/api/auth/oidc/start?${new URLSearchParams({ next })}`} className={buttonClass("secondary", "md", "w-full justify-center")}>
              Sign in with {sso.name}
            </a>
            <p className="my-4 text-center text-xs uppercase tracking-widest text-zinc-400">or with a password</p>
          </>
        ) : null}
        <LoginForm action={signIn} next={next} warned={meta.plainHttpRemote} />
        <p className="mt-6 text-xs text-zinc-500">
          No account yet? An administrator creates one with <code className="rounded bg-zinc-100 px-1">npm run user:add</code>.
        </p>
      </div>
    </main>
  );
}
