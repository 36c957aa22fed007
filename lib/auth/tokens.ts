import "server-only";
import type postgres from "postgres";
import { z } from "zod";
import { AppError } from "@/lib/errors";
import { parseOrThrow } from "@/lib/ledger/spec";
import { roleSchema, type Role } from "./roles";
import { hashToken, newSecret } from "./sessions";

/** Tokens look like `idem_<43 chars>`; the prefix makes a leaked one easy to recognise and grep for. */
export const TOKEN_PREFIX = "idem_";

export interface ApiToken {
  id: number;
  name: string;
  prefix: string;
  role: Role;
  createdBy: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  revokedBy: string | null;
}

type TokenRecord = {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  created_by: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
  revoked_by: string | null;
};

const toToken = (row: TokenRecord): ApiToken => ({
  id: Number(row.id),
  name: row.name,
  prefix: row.prefix,
  role: row.role,
  createdBy: row.created_by,
  createdAt: new Date(row.created_at),
  lastUsedAt: row.last_used_at ? new Date(row.last_used_at) : null,
  revokedAt: row.revoked_at ? new Date(row.revoked_at) : null,
  revokedBy: row.revoked_by,
});

export const newTokenSchema = z.object({
  name: z.string().trim().min(1, "is required").max(100, "must be at most 100 characters"),
  role: roleSchema,
});

/** Creates a token; the secret is returned here once and stored only as its sha256. */
export async function createApiToken(
  sql: postgres.Sql,
  input: z.input<typeof newTokenSchema>,
  createdBy: string,
): Promise<{ token: string; record: ApiToken }> {
  const { name, role } = parseOrThrow(newTokenSchema, input);
  const token = `${TOKEN_PREFIX}${newSecret()}`;
  const rows = await sql<TokenRecord[]>`
    INSERT INTO idem.api_tokens (name, token_hash, prefix, role, created_by)
    VALUES (${name}, ${hashToken(token)}, ${token.slice(0, TOKEN_PREFIX.length + 6)}, ${role}, ${createdBy})
    RETURNING *`;
  return { token, record: toToken(rows[0]!) };
}

export async function listApiTokens(sql: postgres.Sql): Promise<ApiToken[]> {
  const rows = await sql<TokenRecord[]>`SELECT * FROM idem.api_tokens ORDER BY revoked_at IS NOT NULL, created_at DESC LIMIT 500`;
  return rows.map(toToken);
}

/** Revokes a live token (compare-and-set on revoked_at IS NULL): revoking twice reports the first revocation. */
export async function revokeApiToken(sql: postgres.Sql, id: number, revokedBy: string): Promise<ApiToken> {
  const rows = await sql<TokenRecord[]>`
    UPDATE idem.api_tokens SET revoked_at = now(), revoked_by = ${revokedBy}
    WHERE id = ${id} AND revoked_at IS NULL
    RETURNING *`;
  if (rows[0]) return toToken(rows[0]);
  const existing = await sql<TokenRecord[]>`SELECT * FROM idem.api_tokens WHERE id = ${id}`;
  if (!existing[0]) throw new AppError("NOT_FOUND", `API token ${id} does not exist`);
  throw new AppError("CONFLICT", `API token "${existing[0].name}" was already revoked by ${existing[0].revoked_by ?? "someone"}`);
}

/**
 * The live token for a bearer secret, or null. last_used_at is refreshed at most once a minute, so a
 * busy client does not turn every read into a write. A token is as good as the admin who created it:
 * disabling that account stops its tokens too (and enabling it again restores them), so a departed
 * admin's automation does not outlive the account.
 */
export async function authenticateApiToken(sql: postgres.Sql, token: string): Promise<ApiToken | null> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return null;
  const rows = await sql<TokenRecord[]>`
    WITH found AS (
      SELECT t.* FROM idem.api_tokens t
      WHERE t.token_hash = ${hashToken(token)} AND t.revoked_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM idem.users u WHERE lower(u.username) = lower(t.created_by) AND u.disabled_at IS NOT NULL)
    ), touched AS (
      UPDATE idem.api_tokens t SET last_used_at = now()
      FROM found WHERE t.id = found.id AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute')
    )
    SELECT * FROM found`;
  return rows[0] ? toToken(rows[0]) : null;
}
