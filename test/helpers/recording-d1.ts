import { env } from "cloudflare:test";

/** One statement a recorded D1 binding prepared, with the parameters bound to it. */
export interface Recorded {
  sql: string;
  params: unknown[];
}

/**
 * The test D1 binding, recording each prepared statement and its parameters into `log` (for replaying them under
 * EXPLAIN QUERY PLAN, or counting them); everything else passes through.
 */
export function recordingD1(log: Recorded[]): D1Database {
  return new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "prepare") {
        return (query: string) => {
          const entry: Recorded = { sql: query, params: [] };
          log.push(entry);
          const statement = target.prepare(query);
          const bind = statement.bind.bind(statement);
          statement.bind = (...params: unknown[]) => {
            entry.params = params;
            return bind(...params);
          };
          return statement;
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
