import type { Metadata } from "next";
import { Suspense } from "react";
import { PageHeader } from "@/components/shell/page-header";
import { AddUserForm } from "@/components/settings/create-forms";
import { UserAccessForm } from "@/components/settings/user-row-actions";
import { Badge } from "@/components/ui/badge";
import { Panel } from "@/components/ui/panel";
import { PanelSkeleton } from "@/components/ui/skeleton";
import { Table, Td, Th, Tr } from "@/components/ui/table";
import { RelativeTime } from "@/components/ui/time";
import { requireUser } from "@/lib/auth/current";
import { listUsers } from "@/lib/auth/users";
import { getSql } from "@/lib/db";
import { addUser, changeUserAccess } from "./actions";

export const metadata: Metadata = { title: "Users" };

export default async function UsersPage() {
  const me = await requireUser("admin");
  return (
    <>
      <PageHeader title="Users" description="Who can sign in to the console, and what they may do. Only admins see this page." />
      <div className="grid gap-6 xl:grid-cols-[2fr_1fr]">
        <Suspense fallback={<PanelSkeleton title="Accounts" rows={5} />}>
          <UserList me={me.username} />
        </Suspense>
        <Panel title="Add a user">
          <AddUserForm action={addUser} />
        </Panel>
      </div>
    </>
  );
}

async function UserList({ me }: { me: string }) {
  const users = await listUsers(getSql());
  return (
    <Panel title="Accounts" description={`${users.length} account${users.length === 1 ? "" : "s"}`} bodyClassName="p-0">
      <Table>
        <thead>
          <tr>
            <Th>User</Th>
            <Th>Role</Th>
            <Th>Created</Th>
            <Th>Access</Th>
          </tr>
        </thead>
        <tbody>
          {users.map((user) => (
            <Tr key={user.id}>
              <Td className="font-medium">
                {user.username}
                {user.username === me && <span className="ml-2 text-xs text-zinc-500">(you)</span>}
              </Td>
              <Td>
                <Badge tone={user.role === "admin" ? "violet" : user.role === "operator" ? "blue" : "gray"}>{user.role}</Badge>
                {user.disabledAt && (
                  <Badge tone="red" className="ml-1">
                    disabled
                  </Badge>
                )}
              </Td>
              <Td className="text-xs text-zinc-600">
                <RelativeTime date={user.createdAt} /> {user.createdBy ? `by ${user.createdBy}` : ""}
              </Td>
              <Td>
                <UserAccessForm action={changeUserAccess} user={{ id: user.id, username: user.username, role: user.role, disabled: Boolean(user.disabledAt) }} />
              </Td>
            </Tr>
          ))}
        </tbody>
      </Table>
    </Panel>
  );
}
