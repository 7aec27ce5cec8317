import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Transactional outbox (DESIGN.md section 7): a domain change and its event row are written in one batch;
 * after commit the event goes to the EVENTS queue and `sent_at` is set; `scheduled` resends what was missed.
 * tenant_id has no foreign key on purpose: `tenant.deleted` must outlive its tenant.
 */
export const outbox = sqliteTable(
  "outbox",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id").notNull(),
    type: text("type").notNull(),
    data: text("data", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    occurredAt: text("occurred_at").notNull(),
    sentAt: text("sent_at"),
    /** A flush claimed the row until then (disjoint claims for concurrent flushes; a lost claim expires). */
    claimedUntil: text("claimed_until"),
  },
  (t) => [
    index("outbox_unsent_idx").on(t.sentAt, t.id),
    index("outbox_tenant_unsent_idx").on(t.tenantId, t.sentAt, t.id),
  ],
);

/** Failed-login counters per account and per client IP, for brute-force throttling. */
export const authThrottle = sqliteTable("auth_throttle", {
  key: text("key").primaryKey(),
  failures: integer("failures").notNull(),
  windowStartedAt: integer("window_started_at").notNull(),
  lockedUntil: integer("locked_until"),
});
