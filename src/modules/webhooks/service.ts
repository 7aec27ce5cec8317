import { and, asc, desc, eq, gte, lt, or, type SQL, sql } from "drizzle-orm";
import type { TenantContext } from "../../platform/auth";
import { inList } from "../../platform/db";
import { ApiError, type FieldError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { contains, type ListParams, orderBy, paginate } from "../../platform/pagination";
import { outbox } from "../../platform/tables";
import { addSeconds, nowIso } from "../../platform/time";
import { ALL_EVENTS, eventTypeList } from "./catalog";
import { enqueueDeliveries } from "./queue";
import { newSigningSecret, sealSigningSecret, webhookId } from "./signing";
import { type DeliveryStatus, webhookAttempts, webhookDeliveries, webhookEndpoints } from "./tables";
import { webhookUrlProblem } from "./url-guard";

type EndpointRow = typeof webhookEndpoints.$inferSelect;
type DeliveryRow = typeof webhookDeliveries.$inferSelect;
type AttemptRow = typeof webhookAttempts.$inferSelect;

/** Endpoints per academy: each event is one delivery per endpoint, so this bounds the fan-out. */
export const MAX_ENDPOINTS = 50;
/** How long the old secret keeps signing after a rotation. */
export const ROTATION_OVERLAP_SECONDS = 24 * 3600;
/** Failed deliveries queued again per redeliver-failed call. */
const REDELIVER_MAX = 1000;

export function toWebhook(row: EndpointRow) {
  const now = nowIso();
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    event_types: row.eventTypes,
    active: row.active,
    rate_limit_per_second: row.rateLimitPerSecond,
    disabled_reason: row.disabledReason as "failing" | null,
    disabled_at: row.disabledAt,
    failing_since: row.failingSince,
    previous_secret_expires_at:
      row.previousSecretExpiresAt && row.previousSecretExpiresAt > now ? row.previousSecretExpiresAt : null,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

export function toDelivery(row: DeliveryRow) {
  return {
    id: row.id,
    endpoint_id: row.endpointId,
    event_id: row.eventId,
    event_type: row.eventType,
    webhook_id: webhookId(row.eventId),
    status: row.status,
    attempts: row.attempts,
    last_attempt_at: row.lastAttemptAt,
    last_response_status: row.lastResponseStatus,
    last_error: row.lastError,
    next_attempt_at: row.status === "pending" ? row.nextAttemptAt : null,
    delivered_at: row.deliveredAt,
    failed_at: row.failedAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

function toAttempt(row: AttemptRow) {
  return {
    id: row.id,
    attempt: row.attempt,
    status: row.status,
    response_status: row.responseStatus,
    response_body: row.responseBody,
    error: row.error,
    duration_ms: row.durationMs,
    created_at: row.createdAt,
  };
}

// ---- validation ------------------------------------------------------------------------------------------------

function urlErrors(ctx: TenantContext, url: string | undefined): FieldError[] {
  if (url === undefined) return [];
  const problem = webhookUrlProblem(url, ctx.env.ENVIRONMENT);
  return problem ? [{ path: "url", message: problem }] : [];
}

function normalizeTypes(types: string[]): string[] {
  return types.includes(ALL_EVENTS) ? [ALL_EVENTS] : [...new Set(types)];
}

/** The URL against the SSRF guard (event types are checked by the request schema). */
function validate(ctx: TenantContext, input: { url?: string }) {
  const errors = urlErrors(ctx, input.url);
  if (errors.length) throw ApiError.validation(errors);
}

// ---- endpoints -------------------------------------------------------------------------------------------------

export function listEventTypes(q?: string) {
  const needle = q?.toLowerCase();
  const data = eventTypeList().filter(
    (t) => !needle || t.type.includes(needle) || t.description.toLowerCase().includes(needle),
  );
  return { data };
}

export async function findWebhook(ctx: TenantContext, id: number): Promise<EndpointRow> {
  const row = await ctx.db.query.webhookEndpoints.findFirst({
    where: and(eq(webhookEndpoints.tenantId, ctx.tenantId), eq(webhookEndpoints.id, id)),
  });
  if (!row) throw ApiError.notFound(`Webhook ${id}`);
  return row;
}

/** The id of the endpoint the same batch just inserted (D1 runs a batch alone, in order). */
const lastEndpointOf = (tenantId: number) => sql`(SELECT max(id) FROM webhook_endpoints WHERE tenant_id = ${tenantId})`;

export async function createWebhook(
  ctx: TenantContext,
  input: {
    url: string;
    description?: string | null;
    event_types: string[];
    active: boolean;
    rate_limit_per_second?: number | null;
  },
) {
  validate(ctx, input);
  const [{ n }] = await ctx.db
    .select({ n: sql<number>`count(*)` })
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.tenantId, ctx.tenantId));
  if (n >= MAX_ENDPOINTS) {
    throw ApiError.conflict(`An academy may have at most ${MAX_ENDPOINTS} webhook endpoints; delete one first.`);
  }
  const secret = newSigningSecret();
  const sealed = await sealSigningSecret(ctx.env, ctx.tenantId, secret);
  const now = nowIso();
  const eventTypes = normalizeTypes(input.event_types);
  const [[row]] = await ctx.db.batch([
    ctx.db
      .insert(webhookEndpoints)
      .values({
        tenantId: ctx.tenantId,
        url: input.url,
        description: input.description ?? null,
        eventTypes,
        active: input.active,
        secret: sealed,
        rateLimitPerSecond: input.rate_limit_per_second ?? null,
        createdAt: now,
        updatedAt: now,
      })
      .returning(),
    ctx.db
      .insert(outbox)
      .select(
        sql`SELECT NULL, ${ctx.tenantId}, 'webhook.created', json_object('id', ${lastEndpointOf(ctx.tenantId)}, 'url', ${input.url}, 'event_types', json(${JSON.stringify(eventTypes)})), ${now}, NULL, NULL`,
      ),
  ]);
  return { ...toWebhook(row), secret };
}

export async function listWebhooks(
  ctx: TenantContext,
  query: ListParams & { q?: string; active?: boolean; event_type?: string },
) {
  const where = and(
    eq(webhookEndpoints.tenantId, ctx.tenantId),
    query.active === undefined ? undefined : eq(webhookEndpoints.active, query.active),
    query.event_type
      ? sql`EXISTS (SELECT 1 FROM json_each(${webhookEndpoints.eventTypes}) WHERE value IN (${query.event_type}, ${ALL_EVENTS}))`
      : undefined,
    query.q ? or(contains(webhookEndpoints.url, query.q), contains(webhookEndpoints.description, query.q)) : undefined,
  );
  const order = orderBy(
    query.sort,
    { created_at: webhookEndpoints.createdAt, url: webhookEndpoints.url },
    webhookEndpoints.id,
  );
  return paginate(ctx.db, webhookEndpoints, where, order, query, toWebhook);
}

export async function updateWebhook(
  ctx: TenantContext,
  id: number,
  input: {
    url?: string;
    description?: string | null;
    event_types?: string[];
    active?: boolean;
    rate_limit_per_second?: number | null;
  },
) {
  const current = await findWebhook(ctx, id);
  validate(ctx, input);
  const now = nowIso();
  const changes: Partial<typeof webhookEndpoints.$inferInsert> = { updatedAt: now };
  if (input.url !== undefined) changes.url = input.url;
  if (input.description !== undefined) changes.description = input.description;
  if (input.event_types !== undefined) changes.eventTypes = normalizeTypes(input.event_types);
  if (input.rate_limit_per_second !== undefined) changes.rateLimitPerSecond = input.rate_limit_per_second;
  if (input.active !== undefined) {
    changes.active = input.active;
    // Re-enabling starts a clean slate: no failure streak, no disable reason (and no replay unless asked).
    if (input.active && !current.active)
      Object.assign(changes, { failingSince: null, disabledAt: null, disabledReason: null });
  }
  const [[row]] = await ctx.db.batch([
    ctx.db
      .update(webhookEndpoints)
      .set(changes)
      .where(and(eq(webhookEndpoints.tenantId, ctx.tenantId), eq(webhookEndpoints.id, id)))
      .returning(),
    outboxInsert(ctx.db, ctx.tenantId, "webhook.updated", {
      id,
      url: changes.url ?? current.url,
      changed: Object.keys(input),
    }),
  ]);
  if (!row) throw ApiError.notFound(`Webhook ${id}`); // deleted meanwhile
  return toWebhook(row);
}

export async function deleteWebhook(ctx: TenantContext, id: number) {
  const row = await findWebhook(ctx, id);
  await ctx.db.batch([
    ctx.db
      .delete(webhookEndpoints)
      .where(and(eq(webhookEndpoints.tenantId, ctx.tenantId), eq(webhookEndpoints.id, id))),
    outboxInsert(ctx.db, ctx.tenantId, "webhook.deleted", { id, url: row.url }),
  ]);
}

/** Deletes every endpoint of the academy with exactly this URL (the seed's "delete webhook by URL"). */
export async function deleteWebhooksByUrl(ctx: TenantContext, url: string) {
  const rows = await ctx.db
    .select({ id: webhookEndpoints.id })
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.tenantId, ctx.tenantId), eq(webhookEndpoints.url, url)));
  if (rows.length === 0) throw ApiError.notFound("A webhook with this URL");
  const ids = rows.map((r) => r.id);
  await ctx.db.batch([
    ctx.db
      .delete(webhookEndpoints)
      .where(and(eq(webhookEndpoints.tenantId, ctx.tenantId), inList(webhookEndpoints.id, ids))),
    ...ids.map((id) => outboxInsert(ctx.db, ctx.tenantId, "webhook.deleted", { id, url })),
  ]);
}

/** A new secret, shown once; the current one keeps signing alongside for 24 hours (only the latest old one). */
export async function rotateSecret(ctx: TenantContext, id: number) {
  const current = await findWebhook(ctx, id);
  const secret = newSigningSecret();
  const sealed = await sealSigningSecret(ctx.env, ctx.tenantId, secret);
  const now = nowIso();
  const previousExpiresAt = addSeconds(now, ROTATION_OVERLAP_SECONDS);
  await ctx.db.batch([
    ctx.db
      .update(webhookEndpoints)
      .set({
        secret: sealed,
        previousSecret: current.secret,
        previousSecretExpiresAt: previousExpiresAt,
        updatedAt: now,
      })
      .where(and(eq(webhookEndpoints.tenantId, ctx.tenantId), eq(webhookEndpoints.id, id))),
    outboxInsert(ctx.db, ctx.tenantId, "webhook.secret_rotated", {
      id,
      url: current.url,
      previous_expires_at: previousExpiresAt,
    }),
  ]);
  return { id, secret, previous_secret_expires_at: previousExpiresAt };
}

function assertActive(row: EndpointRow) {
  if (!row.active) {
    throw ApiError.conflict(
      `Webhook ${row.id} is inactive${row.disabledReason === "failing" ? " (disabled after 5 days of failures)" : ""}: enable it with PATCH first.`,
    );
  }
}

/**
 * A `webhook.test` event for this endpoint only: its outbox row (marked sent: it needs no fan-out) and its
 * delivery in one batch, then the delivery's message. Answers the pending delivery.
 */
export async function sendTestEvent(ctx: TenantContext, id: number) {
  const endpoint = await findWebhook(ctx, id);
  assertActive(endpoint);
  const now = nowIso();
  const [[event], [delivery]] = await ctx.db.batch([
    ctx.db
      .insert(outbox)
      .values({
        tenantId: ctx.tenantId,
        type: "webhook.test",
        data: { endpoint_id: id, message: "A test event from Lectern: your endpoint receives and verifies webhooks." },
        occurredAt: now,
        sentAt: now,
      })
      .returning({ id: outbox.id }),
    ctx.db
      .insert(webhookDeliveries)
      .values({
        tenantId: ctx.tenantId,
        endpointId: id,
        eventId: sql`(SELECT max(id) FROM outbox WHERE tenant_id = ${ctx.tenantId} AND type = 'webhook.test')`,
        eventType: "webhook.test",
        status: "pending",
        createdAt: now,
        updatedAt: now,
      })
      .returning(),
  ]);
  await enqueueAfterWrite(ctx, [delivery]);
  return { event_id: event.id, delivery: toDelivery(delivery) };
}

/** Queues deliveries just made pending; a failed send is logged and left to the cron (they stay pending). */
async function enqueueAfterWrite(ctx: TenantContext, rows: { id: number; tenantId: number }[]) {
  try {
    await enqueueDeliveries(ctx.env, ctx.db, rows);
  } catch (err) {
    console.error(
      JSON.stringify({ level: "warn", message: "delivery enqueue failed; the cron retries", error: String(err) }),
    );
  }
}

// ---- deliveries ------------------------------------------------------------------------------------------------

/** Keyset pagination, newest first: `cursor` is the last id of the previous page. */
export async function listDeliveries(
  ctx: TenantContext,
  endpointId: number,
  query: { cursor?: string; per_page: number; status?: DeliveryStatus; event_type?: string },
) {
  await findWebhook(ctx, endpointId);
  const rows = await ctx.db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.tenantId, ctx.tenantId),
        eq(webhookDeliveries.endpointId, endpointId),
        query.cursor ? lt(webhookDeliveries.id, Number(query.cursor)) : undefined,
        query.status ? eq(webhookDeliveries.status, query.status) : undefined,
        query.event_type ? eq(webhookDeliveries.eventType, query.event_type) : undefined,
      ),
    )
    .orderBy(desc(webhookDeliveries.id))
    .limit(query.per_page + 1);
  const page = rows.slice(0, query.per_page);
  return {
    data: page.map(toDelivery),
    meta: {
      per_page: query.per_page,
      next_cursor: rows.length > query.per_page ? String(page[page.length - 1].id) : null,
    },
  };
}

async function findDelivery(ctx: TenantContext, id: number): Promise<DeliveryRow> {
  const row = await ctx.db.query.webhookDeliveries.findFirst({
    where: and(eq(webhookDeliveries.tenantId, ctx.tenantId), eq(webhookDeliveries.id, id)),
  });
  if (!row) throw ApiError.notFound(`Delivery ${id}`);
  return row;
}

export async function getDelivery(ctx: TenantContext, id: number) {
  const row = await findDelivery(ctx, id);
  const attempts = await ctx.db
    .select()
    .from(webhookAttempts)
    .where(and(eq(webhookAttempts.tenantId, ctx.tenantId), eq(webhookAttempts.deliveryId, id)))
    .orderBy(asc(webhookAttempts.id));
  return { ...toDelivery(row), attempts_log: attempts.map(toAttempt) };
}

const requeued = (now: string) => ({
  status: "pending" as const,
  queuedAt: null,
  nextAttemptAt: now,
  failedAt: null,
  updatedAt: now,
});

/** Sends one delivery again, whatever its status, with the same `webhook-id`: a new cycle of retries. */
export async function redeliver(ctx: TenantContext, id: number) {
  const delivery = await findDelivery(ctx, id);
  assertActive(await findWebhook(ctx, delivery.endpointId));
  const [row] = await ctx.db
    .update(webhookDeliveries)
    .set(requeued(nowIso()))
    .where(and(eq(webhookDeliveries.tenantId, ctx.tenantId), eq(webhookDeliveries.id, id)))
    .returning();
  if (!row) throw ApiError.notFound(`Delivery ${id}`);
  await enqueueAfterWrite(ctx, [row]);
  return toDelivery(row);
}

/** Queues again the endpoint's failed deliveries of events since `since` (all kept ones without it). */
export async function redeliverFailed(ctx: TenantContext, endpointId: number, since?: string) {
  assertActive(await findWebhook(ctx, endpointId));
  const where: SQL | undefined = and(
    eq(webhookDeliveries.tenantId, ctx.tenantId),
    eq(webhookDeliveries.endpointId, endpointId),
    eq(webhookDeliveries.status, "failed"),
    since ? gte(webhookDeliveries.createdAt, new Date(since).toISOString()) : undefined,
  );
  const failed = await ctx.db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(where)
    .orderBy(asc(webhookDeliveries.id))
    .limit(REDELIVER_MAX + 1);
  const ids = failed.slice(0, REDELIVER_MAX).map((r) => r.id);
  if (ids.length === 0) return { queued: 0, has_more: false };
  const rows = await ctx.db
    .update(webhookDeliveries)
    .set(requeued(nowIso()))
    .where(and(eq(webhookDeliveries.tenantId, ctx.tenantId), inList(webhookDeliveries.id, ids)))
    .returning({ id: webhookDeliveries.id, tenantId: webhookDeliveries.tenantId });
  await enqueueAfterWrite(ctx, rows);
  return { queued: rows.length, has_more: failed.length > REDELIVER_MAX };
}
