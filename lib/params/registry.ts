import type { z } from "zod";

/**
 * The query-string schema of each console page, in one place so that proxy.ts can answer a request
 * with bad parameters with HTTP 400 and a clear message before the page renders (an App Router page
 * cannot set its own status). Pages parse with the same schema, so both agree on what is valid.
 */
export interface PageParams {
  /** Matched against the pathname. */
  pattern: RegExp;
  schema: z.ZodType;
}


/** URLSearchParams as an object; a key given several times becomes an array. */
export function searchParamsToObject(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    out[key] = values.length > 1 ? values : (values[0] ?? "");
  }
  return out;
}

/** The first problem zod found, as the field's dotted path and a message that starts with it. */
export function firstIssue(error: z.ZodError, fallbackField = "query"): { field: string; message: string } {
  const issue = error.issues[0];
  const field = issue?.path.map(String).join(".") || fallbackField;
  return { field, message: `${field}: ${issue?.message ?? "is invalid"}` };
}

export function describeIssue(error: z.ZodError): string {
  return firstIssue(error).message;
}
