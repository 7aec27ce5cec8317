import { drizzle } from "drizzle-orm/d1";
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
