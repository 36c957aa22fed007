import type { Metadata } from "next";
import Link from "next/link";

export const metadata: Metadata = { title: "Bad request" };

/** Where proxy.ts sends a page request whose query parameters do not parse (with HTTP status 400). */
export default async function BadRequestPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { message, path } = await searchParams;
  const back = typeof path === "string" && path.startsWith("/") && !path.startsWith("//") ? path : "/";
  return (
    <main className="flex min-h-[60vh] flex-col items-center justify-center gap-3 p-8 text-center">
      <p className="text-sm font-semibold text-zinc-500">400</p>
      <h1 className="text-xl font-semibold text-zinc-900">Bad request</h1>
      <p className="max-w-lg text-sm text-zinc-700" data-testid="bad-request-message">
        {typeof message === "string" ? message.slice(0, 500) : "The address has a parameter the console does not understand."}
      </p>
      <Link href={back as never} className="text-sm font-medium text-sky-700 hover:underline">
        Open the page without the bad parameters
      </Link>
    </main>
  );
}
