import { getTableColumns, type Table } from "drizzle-orm";
import { duplicateAttempts, operatorActions, runEvents, taskRuns } from "./schema";

type Row = Record<string, unknown>;

/**
 * Maps a raw postgres.js row (snake_case, int8 as text, timestamps as Date or text depending on
 * whether drizzle has wrapped the client) onto the drizzle-inferred shape of the table.
 */
const Kind = { AsIs: 0, Number: 1, Date: 2 } as const;

function rowMapper<T extends Table>(table: T): (row: Row) => T["$inferSelect"] {
  // Every claim and completion maps a whole run, so the column kinds are resolved once here rather
  // than compared as strings per column per row.
  const columns = Object.entries(getTableColumns(table)).map(([key, column]) => ({
    key,
    name: column.name,
    kind: column.columnType === "PgBigInt53" ? Kind.Number : column.columnType === "PgTimestamp" ? Kind.Date : Kind.AsIs,
  }));
  return (row) => {
    const out: Row = {};
    for (const { key, name, kind } of columns) {
      const value = row[name];
      if (value === undefined || value === null) out[key] = null;
      else if (kind === Kind.AsIs) out[key] = value;
      else if (kind === Kind.Number) out[key] = Number(value);
      else out[key] = value instanceof Date ? value : new Date(String(value));
    }
    return out as T["$inferSelect"];
  };
}

export const toRun = rowMapper(taskRuns);
export const toDuplicateAttempt = rowMapper(duplicateAttempts);
export const toRunEvent = rowMapper(runEvents);
export const toOperatorAction = rowMapper(operatorActions);

export type Run = ReturnType<typeof toRun>;
export type DuplicateAttempt = ReturnType<typeof toDuplicateAttempt>;
export type RunEvent = ReturnType<typeof toRunEvent>;
export type OperatorAction = ReturnType<typeof toOperatorAction>;
