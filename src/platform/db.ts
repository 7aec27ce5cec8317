import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { drizzle } from "drizzle-orm/d1";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import * as schema from "../db/schema";
import type { Db } from "./env";

/** One drizzle instance per request over the D1 binding. */
export function createDb(d1: D1Database): Db {
  return drizzle(d1, { schema });
}

/** D1 allows 100 bound parameters per statement: split bulk inserts into chunks that fit. */
export function chunk<T>(items: T[], columnsPerRow: number): T[][] {
  const size = Math.max(1, Math.floor(100 / columnsPerRow));
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * A raw SQL statement that can go into `db.batch([...])`. drizzle's `db.run(sql)` cannot: on D1 its batch
 * path binds parameters on a prepared statement that `SQLiteRaw` never creates (drizzle-orm 0.45), so a raw
 * statement with parameters throws inside the batch. This gives it that statement.
 */
export function batchableRaw(db: Db, query: SQL): BatchItem<"sqlite"> {
  const raw = db.run(query) as unknown as { stmt?: D1PreparedStatement; getQuery(): { sql: string } };
  raw.stmt = (db as unknown as { $client: D1Database }).$client.prepare(raw.getQuery().sql);
  return raw as unknown as BatchItem<"sqlite">;
}

/**
 * `column IN (...values)` as ONE bound parameter (a JSON array read by json_each): lists of any length stay
 * under D1's 100 parameters per statement, and SQLite still searches the column's index for each value.
 */
export function inList(column: SQLiteColumn | SQL, values: readonly (number | string)[]): SQL {
  return sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`;
}
