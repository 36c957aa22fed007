import { z } from "zod";

export const roles = ["viewer", "operator", "admin"] as const;
export type Role = (typeof roles)[number];
export const roleSchema = z.enum(roles);

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** viewer reads everything; operator also releases locks and retries/cancels runs; admin also manages users and tokens. */
export function hasRole(role: Role, atLeast: Role): boolean {
  return rank[role] >= rank[atLeast];
}
