import type { Metadata } from "next";
import { Suspense } from "react";
import { PageHeader } from "@/components/shell/page-header";
import { CreateTokenForm } from "@/components/settings/create-forms";
import { Badge } from "@/components/ui/badge";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { Panel } from "@/components/ui/panel";
import { PanelSkeleton } from "@/components/ui/skeleton";
import { EmptyState } from "@/components/ui/states";
import { Table, Td, Th, Tr } from "@/components/ui/table";
import { RelativeTime } from "@/components/ui/time";
import { requireUser, requestMeta } from "@/lib/auth/current";
import { listApiTokens } from "@/lib/auth/tokens";
import { getSql } from "@/lib/db";
import { createToken, revokeToken } from "./actions";
import { Literal } from "@/components/ui/literal";

export const metadata: Metadata = { title: "API tokens" };

export default async function TokensPage() {
  await requireUser("admin");
  const meta = await requestMeta();
  const origin = `${meta.secure ? "https" : "http"}://${meta.host ?? "localhost"}`;
  return (
    <>
      <PageHeader
        title="API tokens"
        description={
          <>
            Bearer tokens for the JSON API under <code>/api/v1</code> (see <a className="text-sky-700 hover:underline" href="/api/v1/openapi.json">openapi.json</a>) and for{" "}
            <code>/api/metrics</code>. Stored as hashes; each acts with its role, and its actions are audited as <code>token:&lt;name&gt;</code>.
          </>
        }
      />
      <div className="grid gap-6 xl:grid-cols-[2fr_1fr]">
        <Suspense fallback={<PanelSkeleton title="Tokens" rows={4} />}>
          <TokenList />
        </Suspense>
        <Panel title="Create a token">
          <CreateTokenForm action={createToken} origin={origin} />
        </Panel>
      </div>
    </>
  );
}

async function TokenList() {
  const tokens = await listApiTokens(getSql());
  if (tokens.length === 0) {
    return (
      <Panel title="Tokens">
        <EmptyState title="No API tokens yet">Create one for each system that automates against the console, so each can be revoked on its own.</EmptyState>
      </Panel>
    );
  }
  return (
    <Panel title="Tokens" bodyClassName="p-0">
      <Table>
        <thead>
          <tr>
            <Th>Name</Th>
            <Th>Token</Th>
            <Th>Role</Th>
            <Th>Created</Th>
            <Th>Last used</Th>
            <Th>
              <span className="sr-only">Actions</span>
            </Th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((token) => (
            <Tr key={token.id} className={token.revokedAt ? "opacity-60" : undefined}>
              <Td className="font-medium">
                <Literal text={token.name} />
              </Td>
              <Td>
                <code className="font-mono text-xs">{token.prefix}…</code>
              </Td>
              <Td>
                <Badge tone={token.role === "admin" ? "violet" : token.role === "operator" ? "blue" : "gray"}>{token.role}</Badge>
              </Td>
              <Td className="text-xs text-zinc-600">
                <RelativeTime date={token.createdAt} /> by {token.createdBy}
              </Td>
              <Td className="text-xs text-zinc-600">{token.lastUsedAt ? <RelativeTime date={token.lastUsedAt} /> : "never"}</Td>
              <Td className="text-right">
                {token.revokedAt ? (
                  <Badge tone="red" title={`Revoked by ${token.revokedBy ?? "?"}`}>
                    revoked
                  </Badge>
                ) : (
                  <ConfirmDialog
                    action={revokeToken}
                    trigger="Revoke"
                    title={`Revoke token "${token.name}"?`}
                    confirmLabel="Revoke token"
                    hidden={{ id: String(token.id), name: token.name }}
                  >
                    Requests with this token will get 401 from now on. This cannot be undone; create a new token to restore access.
                  </ConfirmDialog>
                )}
              </Td>
            </Tr>
          ))}
        </tbody>
      </Table>
    </Panel>
  );
}
