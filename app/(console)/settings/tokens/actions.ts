"use server";

import { z } from "zod";
import { defineAction } from "@/lib/auth/action";
import { createApiToken, newTokenSchema, revokeApiToken } from "@/lib/auth/tokens";

export const createToken = defineAction({
  name: "token.create",
  role: "admin",
  schema: newTokenSchema,
  target: (input) => ({ type: "api_token", id: input.name }),
  run: async (input, { sql, user }) => {
    const { token, record } = await createApiToken(sql, input, user.username);
    return {
      outcome: "done",
      message: `Created ${record.role} token "${record.name}". Copy it now: it is not shown again.`,
      detail: { tokenId: record.id, prefix: record.prefix, role: record.role },
      // Shown to the admin once; only its hash is stored, and the audit log gets the prefix.
      data: { token },
    };
  },
});

export const revokeToken = defineAction({
  name: "token.revoke",
  role: "admin",
  // `name` comes with the form for the confirmation dialog only: the audit row names the token by its
  // id and records the name the database holds, so a crafted form cannot label the entry.
  schema: z.object({ id: z.coerce.number().int().positive(), name: z.string().max(100).optional(), reason: z.string().max(500).optional() }),
  target: (input) => ({ type: "api_token", id: String(input.id) }),
  reason: (input) => input.reason || null,
  run: async (input, { sql, user }) => {
    const revoked = await revokeApiToken(sql, input.id, user.username);
    return { outcome: "done", message: `Revoked token "${revoked.name}"; requests with it now get 401.`, detail: { tokenId: revoked.id, name: revoked.name } };
  },
});
