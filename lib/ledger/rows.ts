import { getTableColumns, type Table } from "drizzle-orm";
import { duplicateAttempts, operatorActions, runEvents, taskRuns } from "./schema";

type Row = Record<string, unknown>;

/**
 * Maps a raw postgres.js row (snake_case, int8 as text, timestamps as Date or text depending on
 * whether drizzle has wrapped the client) onto the drizzle-inferred shape of the table.
 */
function rowMapper<T extends Table>(table: T): (row: Row) => T["$inferSelect"] {
  const columns = Object.entries(getTableColumns(table)).map(([key, column]) => ({
    key,
    name: column.name,
    kind: column.columnType,
  }));
  return (row) => {
    const out: Row = {};
    for (const { key, name, kind } of columns) {
      const value = row[name];
      if (value === undefined || value === null) {
        out[key] = null;
      } else if (kind === "PgBigInt53") {
        out[key] = Number(value);
      } else if (kind === "PgTimestamp") {
        out[key] = value instanceof Date ? value : new Date(String(value));
      } else {
        out[key] = value;
      }
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
