"use client";

import { Button } from "@/components/ui/button";

export function SignOutButton({ action }: { action: () => Promise<void> }) {
  return (
    <form action={action}>
      <Button type="submit" variant="ghost" size="sm" className="text-zinc-300 hover:bg-zinc-800 hover:text-white">
        Sign out
      </Button>
    </form>
  );
}
