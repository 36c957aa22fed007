import Link from "next/link";
import type { ReactNode } from "react";
import { HealthBanner } from "@/components/shell/health-banner";
import { NavLinks, type NavItem } from "@/components/shell/nav-links";
import { SignOutButton } from "@/components/shell/sign-out";
import { Badge } from "@/components/ui/badge";
import { Toaster } from "@/components/ui/toaster";
import { getSession } from "@/lib/auth/current";
import { hasRole } from "@/lib/auth/roles";
import { checkHealth } from "@/lib/health";
import { signOut } from "../login/actions";

const items: NavItem[] = [
  { href: "/", label: "Overview" },
  { href: "/runs", label: "Runs" },
  { href: "/duplicates", label: "Duplicates" },
  { href: "/locks", label: "Locks" },
  { href: "/audit", label: "Audit log" },
];
const adminItems: NavItem[] = [
  { href: "/settings/users", label: "Users" },
  { href: "/settings/tokens", label: "API tokens" },
];

/**
 * The console's frame. Every page under it checks the session and role itself (layouts are not
 * re-rendered on every navigation, so they cannot be the gate); this only shows who is signed in.
 */
export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const [session, health] = await Promise.all([getSession().catch(() => null), checkHealth()]);
  const user = session?.user ?? null;
  return (
    <div className="flex min-h-screen">
      <aside className="sticky top-0 flex h-screen w-56 shrink-0 flex-col bg-zinc-900 px-3 py-4">
        <Link href="/" className="mb-6 px-3 text-lg font-semibold tracking-tight text-white">
          Idem
        </Link>
        <nav aria-label="Main" className="flex flex-1 flex-col gap-6">
          <NavLinks items={items} />
          {user && hasRole(user.role, "admin") && (
            <div>
              <p className="mb-1 px-3 text-[11px] font-semibold uppercase tracking-widest text-zinc-500">Settings</p>
              <NavLinks items={adminItems} />
            </div>
          )}
        </nav>
        {user && (
          <div className="mt-4 border-t border-zinc-800 px-3 pt-4">
            <p className="truncate text-sm text-white" title={user.username}>
              {user.username}
            </p>
            <div className="mt-1 flex items-center justify-between">
              <Badge tone="zinc">{user.role}</Badge>
              <SignOutButton action={signOut} />
            </div>
          </div>
        )}
      </aside>
      <div className="flex min-w-0 flex-1 flex-col">
        <HealthBanner initial={{ postgres: health.postgres, redis: health.redis }} />
        <main className="flex-1 px-6 py-6">{children}</main>
        <Toaster />
      </div>
    </div>
  );
}
