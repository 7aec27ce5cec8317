import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { tenants } from "../tenants/tables";

/**
 * Background work of a tenant (imports, package unpacking) run by the JOBS queue consumer. The row is the
 * job's record for the API (`GET /v1/admin/jobs/{id}`); the queue message only carries its id.
 */
export const jobs = sqliteTable(
  "jobs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    kind: text("kind").notNull(),
    /** queued -> running -> succeeded | failed */
    status: text("status", { enum: ["queued", "running", "succeeded", "failed"] })
      .notNull()
      .default("queued"),
    input: text("input", { mode: "json" }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
    result: text("result", { mode: "json" }).$type<unknown>(),
    error: text("error"),
    progressDone: integer("progress_done").notNull().default(0),
    progressTotal: integer("progress_total"),
    attempts: integer("attempts").notNull().default(0),
    /** Who asked for it: `staff:<id>`, `api_key:<id>`, `api_client:<id>`. */
    createdBy: text("created_by"),
    /** Set when the queue message was sent; the cron re-sends jobs whose send failed. */
    queuedAt: text("queued_at"),
    createdAt: text("created_at").notNull(),
    startedAt: text("started_at"),
    finishedAt: text("finished_at"),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("jobs_tenant_created_idx").on(t.tenantId, t.createdAt),
    index("jobs_tenant_kind_created_idx").on(t.tenantId, t.kind, t.createdAt),
    index("jobs_unqueued_idx").on(t.queuedAt, t.createdAt),
  ],
);

export type JobRow = typeof jobs.$inferSelect;
