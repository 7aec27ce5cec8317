import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { tenants } from "../tenants/tables";

/**
 * An academy's webhook endpoint (docs/webhooks.md). `secret` is the Standard Webhooks signing secret
 * (`whsec_<base64>`), kept because every delivery is signed with it; it is shown to the client once, at create
 * and at rotation. After a rotation `previous_secret` keeps signing alongside until `previous_secret_expires_at`.
 * `failing_since` is the first failed attempt of the current streak (reset by any success): an endpoint failing
 * for 5 days is disabled (`active` false, `disabled_reason` "failing").
 */
export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    description: text("description"),
    /** Event types the endpoint receives; `["*"]` for all. */
    eventTypes: text("event_types", { mode: "json" }).$type<string[]>().notNull(),
    active: integer("active", { mode: "boolean" }).notNull().default(true),
    secret: text("secret").notNull(),
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: text("previous_secret_expires_at"),
    /** Most delivery attempts per second to this endpoint; null for no limit. */
    rateLimitPerSecond: integer("rate_limit_per_second"),
    failingSince: text("failing_since"),
    disabledAt: text("disabled_at"),
    disabledReason: text("disabled_reason"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("webhook_endpoints_tenant_url_idx").on(t.tenantId, t.url),
    index("webhook_endpoints_tenant_created_idx").on(t.tenantId, t.createdAt),
  ],
);

export const DELIVERY_STATUSES = ["pending", "succeeded", "failed"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * One event for one endpoint: made by the EVENTS fan-out (unique per endpoint and event, so a redelivered
 * EVENTS message adds nothing) and carried by WEBHOOK_DELIVERIES messages until it succeeds or runs out of
 * attempts. `queued_at` is set once a message for it is on the queue; the cron re-queues pending rows without
 * one (a send that failed after the row was written). The payload is the outbox row `event_id`.
 */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    endpointId: integer("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    eventId: integer("event_id").notNull(),
    eventType: text("event_type").notNull(),
    status: text("status", { enum: DELIVERY_STATUSES }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    lastAttemptAt: text("last_attempt_at"),
    lastResponseStatus: integer("last_response_status"),
    lastError: text("last_error"),
    nextAttemptAt: text("next_attempt_at"),
    queuedAt: text("queued_at"),
    deliveredAt: text("delivered_at"),
    failedAt: text("failed_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_endpoint_event_uq").on(t.tenantId, t.endpointId, t.eventId),
    index("webhook_deliveries_endpoint_idx").on(t.tenantId, t.endpointId, t.id),
    index("webhook_deliveries_endpoint_status_idx").on(t.tenantId, t.endpointId, t.status, t.id),
    index("webhook_deliveries_endpoint_type_idx").on(t.tenantId, t.endpointId, t.eventType, t.id),
    // Cross-tenant sweeps of the cron: pending rows never queued, and rows past retention.
    index("webhook_deliveries_unqueued_idx").on(t.status, t.queuedAt, t.createdAt),
    index("webhook_deliveries_created_idx").on(t.createdAt),
  ],
);

/** Every HTTP attempt of a delivery: outcome, timing, the receiver's answer (first 2 KiB) or the error. */
export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    deliveryId: integer("delivery_id")
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: "cascade" }),
    endpointId: integer("endpoint_id").notNull(),
    attempt: integer("attempt").notNull(),
    status: text("status", { enum: ["succeeded", "failed"] }).notNull(),
    responseStatus: integer("response_status"),
    responseBody: text("response_body"),
    error: text("error"),
    durationMs: integer("duration_ms").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    index("webhook_attempts_delivery_idx").on(t.tenantId, t.deliveryId, t.id),
    // The per-endpoint rate limit counts the attempts of the last second.
    index("webhook_attempts_endpoint_created_idx").on(t.tenantId, t.endpointId, t.createdAt),
  ],
);
