"use server";

import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import type { Route } from "next";
import { z } from "zod";
import { sameOrigin, type ActionState } from "@/lib/auth/action";
import { SESSION_COOKIE, requestMeta, safeNextPath, startSession } from "@/lib/auth/current";
import { authenticate, throttleMessage } from "@/lib/auth/login";
import { plainHttpMessage } from "@/lib/auth/transport";
import { deleteSession } from "@/lib/auth/sessions";
import { getSql } from "@/lib/db";
import { findUnstorableText } from "@/lib/ledger/json";

const signInSchema = z.object({
  username: z.string().trim().min(1, "Enter your username").max(64, "Username too long"),
  password: z.string().min(1, "Enter your password").max(200, "Password too long"),
  next: z.string().max(2000).optional(),
});

export async function signIn(_previous: ActionState, formData: FormData): Promise<ActionState> {
  const meta = await requestMeta();
  if (!sameOrigin(meta)) return { ok: false, error: "Refused: this request did not come from the sign-in page." };
  // The browser would drop the Secure cookie and land back here with no word: say why instead.
  if (meta.plainHttpRemote) return { ok: false, error: plainHttpMessage(meta.host) };
  const parsed = signInSchema.safeParse({ username: formData.get("username"), password: formData.get("password"), next: formData.get("next") ?? undefined });
  if (!parsed.success) return { ok: false, error: parsed.error.issues[0]?.message ?? "Invalid input" };
  const { username, password } = parsed.data;
  // Text Postgres cannot store is no account's name (and `next` is made safe by safeNextPath).
  const unstorable = findUnstorableText({ Username: username, Password: password });
  if (unstorable) return { ok: false, error: `${unstorable.path}: ${unstorable.message}` };

  const sql = getSql();
  try {
    const result = await authenticate(sql, username, password, meta.ip);
    if (!result.ok) return { ok: false, error: result.reason === "throttled" ? throttleMessage(result.throttle) : "Wrong username or password." };
    await startSession(result.user.id, meta);
  } catch (error) {
    console.error("[idem] sign-in failed", error);
    return { ok: false, error: "Sign-in is unavailable: the console cannot reach Postgres." };
  }
  redirect(safeNextPath(parsed.data.next) as Route);
}

export async function signOut(): Promise<void> {
  // Like every action: a request from another site (or with no Origin) changes nothing.
  if (!sameOrigin(await requestMeta())) return;
  const jar = await cookies();
  const token = jar.get(SESSION_COOKIE)?.value;
  if (token && token.length <= 200) {
    await deleteSession(getSql(), token).catch((error: unknown) => console.error("[idem] sign-out could not delete the session", error));
  }
  jar.delete(SESSION_COOKIE);
  redirect("/login");
}
