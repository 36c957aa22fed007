import type { Json } from "@/lib/ledger/json";

/** What every server action returns, for useActionState (client components import this type too). */
export type ActionState = { ok: true; message: string; data?: Json } | { ok: false; error: string; field?: string } | null;

export type ServerAction = (state: ActionState, formData: FormData) => Promise<ActionState>;
