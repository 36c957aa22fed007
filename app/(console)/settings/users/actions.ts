"use server";

import { randomBytes } from "node:crypto";
import { z } from "zod";
import { defineAction } from "@/lib/auth/action";
import { roleSchema } from "@/lib/auth/roles";
import { createUser, updateUserAccess, usernameSchema } from "@/lib/auth/users";

const optionalPassword = z.preprocess((value) => (value === "" ? undefined : value), z.string().min(10, "must be at least 10 characters").max(200).optional());

export const addUser = defineAction({
  name: "user.create",
  role: "admin",
  schema: z.object({ username: usernameSchema, role: roleSchema, password: optionalPassword }),
  target: (input) => ({ type: "user", id: input.username }),
  run: async (input, { sql, user }) => {
    const password = input.password ?? randomBytes(15).toString("base64url");
    const created = await createUser(sql, { username: input.username, role: input.role, password }, user.username);
    return {
      outcome: "done",
      message: `Created ${created.role} "${created.username}".`,
      detail: { userId: created.id, role: created.role },
      // Returned to the admin's screen once, never written to the audit log.
      data: input.password ? null : { password },
    };
  },
});

const flag = z.enum(["true", "false"]).transform((value) => value === "true");

export const changeUserAccess = defineAction({
  name: "user.update",
  role: "admin",
  schema: z.object({
    id: z.coerce.number().int().positive(),
    // For the form's labels only: the audit row names the account by id, with the username the database holds.
    username: z.string().max(64).optional(),
    role: roleSchema,
    disabled: flag,
    seenRole: roleSchema,
    seenDisabled: flag,
  }),
  target: (input) => ({ type: "user", id: String(input.id) }),
  precondition: (input) => ({ role: input.seenRole, disabled: input.seenDisabled }),
  run: async (input, { sql }) => {
    const updated = await updateUserAccess(sql, input);
    return {
      outcome: "done",
      message: `${updated.username} is now ${updated.role}${updated.disabledAt ? ", disabled (signed out everywhere)" : ", active"}.`,
      detail: { username: updated.username, role: updated.role, disabled: Boolean(updated.disabledAt) },
    };
  },
});
