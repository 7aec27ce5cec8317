import { asc, count, desc, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db } from "./env";

export interface ListParams {
  page: number;
  per_page: number;
  sort: string;
}

export interface Page<T> {
  data: T[];
  meta: { page: number; per_page: number; total: number; last_page: number };
}

/** `-created_at,name` -> ORDER BY created_at DESC, name ASC, id ASC (the id keeps pages stable). */
export function orderBy(sort: string, columns: Record<string, SQLiteColumn>, idColumn: SQLiteColumn): SQL[] {
  const parts = sort
    .split(",")
    .filter(Boolean)
    .map((field) => {
      const descending = field.startsWith("-");
      const column = columns[descending ? field.slice(1) : field];
      return column ? (descending ? desc(column) : asc(column)) : undefined;
    })
    .filter((part): part is SQL => part !== undefined);
  return [...parts, asc(idColumn)];
}

/**
 * One page and the total, in one D1 batch (two statements whatever the table size).
 * `map` turns rows into the documented response shape.
 */
export async function paginate<Row, Out>(
  db: Db,
  table: SQLiteTable,
  where: SQL | undefined,
  order: SQL[],
  params: ListParams,
  map: (row: Row) => Out,
): Promise<Page<Out>> {
  const offset = (params.page - 1) * params.per_page;
  const [rows, totals] = await db.batch([
    db
      .select()
      .from(table)
      .where(where)
      .orderBy(...order)
      .limit(params.per_page)
      .offset(offset),
    db.select({ total: count() }).from(table).where(where),
  ]);
  const total = totals[0]?.total ?? 0;
  return {
    data: (rows as Row[]).map(map),
    meta: {
      page: params.page,
      per_page: params.per_page,
      total,
      last_page: Math.max(1, Math.ceil(total / params.per_page)),
    },
  };
}

/**
 * `column` contains `text`, case-insensitively for ASCII letters (as SQLite's LIKE is), every character taken
 * literally. Not `LIKE '%text%'`: D1 refuses LIKE and GLOB patterns over 50 bytes ("LIKE or GLOB pattern too
 * complex", a 500), which a search of 49 ASCII characters, or fewer with multi-byte letters or escaped `%`/`_`,
 * already reaches; instr() has no pattern limit and needs no escaping. Neither can use an index.
 */
export function contains(column: SQLiteColumn, text: string): SQL {
  return sql`instr(lower(${column}), lower(${text})) > 0`;
}
