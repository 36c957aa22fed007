import type { ReactNode } from "react";
import type { Role } from "@/lib/auth/roles";
import type { RunDetail } from "@/lib/ledger/queries";

/**
 * RUN ACTIONS: the run detail header's actions area (retry under a new key with lineage, cancel,
 * abandon). Each action will be a server action built on lib/auth/action.ts, behind a ConfirmDialog,
 * shown only to roles that may use it (operator and up) and only for runs in a state it applies to.
 * Renders nothing until those operations exist.
 */
export function RunActions(props: { run: RunDetail; role: Role }): ReactNode {
  void props;
  return null;
}
