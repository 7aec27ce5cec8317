/**
 * A snapshot of everything stored for some academies, read straight from D1: comparing two snapshots proves a
 * request wrote nothing. Tables are discovered (every table with a `tenant_id` column), so new modules are
 * covered without touching this file.
 */
import { env } from "cloudflare:test";

/** Columns that background work may touch between two reads (usage stamps, outbox delivery). */
const VOLATILE = new Set(["last_used_at", "sent_at"]);

let tenantTables: Promise<string[]> | undefined;

async function discoverTenantTables(): Promise<string[]> {
  const tables = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations' ORDER BY name",
  ).all<{ name: string }>();
  const withTenant: string[] = [];
  for (const { name } of tables.results) {
    const columns = await env.DB.prepare(`PRAGMA table_info("${name}")`).all<{ name: string }>();
    if (columns.results.some((c) => c.name === "tenant_id")) withTenant.push(name);
  }
  return withTenant;
}

const strip = (row: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(row).filter(([column]) => !VOLATILE.has(column)));

/**
 * Every row of the academies (their tenant rows included) minus volatile columns, and how many academies or
 * users anywhere carry one of `names` as slug, name or email. One D1 batch.
 */
export async function snapshot(tenantIds: number[], names: string[]) {
  tenantTables ??= discoverTenantTables();
  const tables = await tenantTables;
  const ids = tenantIds.map(() => "?").join(", ");
  const named = names.length ? names.map(() => "?").join(", ") : "NULL";
  const results = await env.DB.batch<Record<string, unknown>>([
    env.DB.prepare(`SELECT * FROM tenants WHERE id IN (${ids}) ORDER BY id`).bind(...tenantIds),
    ...tables.map((table) =>
      env.DB.prepare(`SELECT * FROM "${table}" WHERE tenant_id IN (${ids}) ORDER BY rowid`).bind(...tenantIds),
    ),
    env.DB.prepare(
      `SELECT (SELECT count(*) FROM tenants WHERE slug IN (${named}) OR name IN (${named})) + (SELECT count(*) FROM users WHERE email IN (${named})) AS n`,
    ).bind(...names, ...names, ...names),
  ]);
  const rows: Record<string, unknown[]> = {};
  ["tenants", ...tables].forEach((table, i) => {
    rows[table] = results[i].results.map(strip);
  });
  return { rows, named: Number(results[results.length - 1].results[0]?.n ?? 0) };
}

/** Every string in a JSON value. */
export function stringsIn(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value !== null && typeof value === "object") return Object.values(value).flatMap(stringsIn);
  return [];
}
