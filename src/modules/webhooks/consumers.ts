/**
 * The queue consumers of webhooks (DESIGN.md section 7), all idempotent (Queues deliver at least once):
 *
 * - EVENTS fan-out: per outbox event, one `webhook_deliveries` row per endpoint of the academy that receives its
 *   type (unique per endpoint and event) and one WEBHOOK_DELIVERIES message per new row.
 * - WEBHOOK_DELIVERIES: POSTs the envelope signed per Standard Webhooks, logs the attempt, and on failure retries
 *   the message on the schedule below; the last failure marks the delivery failed and the message goes on to the
 *   dead-letter queue. An endpoint whose attempts have all failed for 5 days is disabled (`webhook.endpoint_disabled`).
 * - WEBHOOK_DELIVERIES dead letters: marks what is still pending failed.
 */
import { and, eq, gte, lte, sql } from "drizzle-orm";
import { createDb, inList } from "../../platform/db";
import type { Db, Env, EventMessage } from "../../platform/env";
import { flushOutbox } from "../../platform/events";
import { outbox } from "../../platform/tables";
import { addSeconds, nowIso } from "../../platform/time";
import { notifyFromEvents } from "../notifications/consumer";
import { ALL_EVENTS, DIRECTED_TYPES, envelopeOf } from "./catalog";
import { type DeliveryMessage, deliveryQueue, enqueueDeliveries } from "./queue";
import { openSigningSecret, signatureHeader, webhookId } from "./signing";
import { webhookAttempts, webhookDeliveries, webhookEndpoints } from "./tables";
import { isLoopbackUrl, webhookUrlProblem } from "./url-guard";

/**
 * Seconds to wait after failed attempt N (index N-1): 5 s, 5 min, 30 min, 2 h, 5 h, then 10 h. With
 * `max_retries = 10` on the WEBHOOK_DELIVERIES consumer (wrangler.toml) that is 11 attempts over about 2.4 days.
 */
export const RETRY_SCHEDULE = [5, 300, 1800, 7200, 18_000, 36_000, 36_000, 36_000, 36_000, 36_000] as const;
/** Attempts per delivery cycle: the first try plus one per retry (= max_retries + 1). */
export const MAX_ATTEMPTS = RETRY_SCHEDULE.length + 1;
/** An endpoint whose attempts have all failed for this long is disabled. */
export const DISABLE_AFTER_MS = 5 * 24 * 3600 * 1000;
export const REQUEST_TIMEOUT_MS = 10_000;
/** Bytes of a receiver's answer kept in the attempt log. */
export const RESPONSE_LOG_BYTES = 2048;
/** Queues refuses longer delays. */
const MAX_DELAY_SECONDS = 43_200;

export function retryDelaySeconds(attempt: number): number {
  return RETRY_SCHEDULE[Math.min(Math.max(attempt, 1), RETRY_SCHEDULE.length) - 1];
}

// ---- EVENTS: fan-out -------------------------------------------------------------------------------------------

export async function fanOutEvents(batch: MessageBatch<EventMessage>, env: Env) {
  const db = createDb(env.DB);
  try {
    await fanOut(
      env,
      db,
      batch.messages.map((m) => m.body),
    );
    // Learners' notifications and emails derived from the same events (idempotent per event and user).
    await notifyFromEvents(
      db,
      batch.messages.map((m) => m.body),
    );
    batch.ackAll();
  } catch (err) {
    console.error(JSON.stringify({ level: "error", message: "webhook fan-out failed; retrying", error: String(err) }));
    batch.retryAll({ delaySeconds: 10 });
  }
}

async function fanOut(env: Env, db: Db, messages: EventMessage[]) {
  const eventIds = [...new Set(messages.map((m) => m.id).filter(Number.isSafeInteger))];
  if (eventIds.length === 0) return;
  const events = await db
    .select({ id: outbox.id, tenantId: outbox.tenantId, type: outbox.type, data: outbox.data })
    .from(outbox)
    .where(inList(outbox.id, eventIds));
  if (events.length === 0) return;
  const tenantIds = [...new Set(events.map((e) => e.tenantId))];
  const endpoints = await db
    .select({
      id: webhookEndpoints.id,
      tenantId: webhookEndpoints.tenantId,
      eventTypes: webhookEndpoints.eventTypes,
      active: webhookEndpoints.active,
    })
    .from(webhookEndpoints)
    .where(inList(webhookEndpoints.tenantId, tenantIds));
  if (endpoints.length === 0) return;

  const now = nowIso();
  const rows: (typeof webhookDeliveries.$inferInsert)[] = [];
  for (const event of events) {
    for (const endpoint of endpoints) {
      if (endpoint.tenantId !== event.tenantId || !receives(endpoint, event)) continue;
      // An inactive endpoint's share is recorded as failed at once, so redeliver-failed can replay it later.
      rows.push({
        tenantId: event.tenantId,
        endpointId: endpoint.id,
        eventId: event.id,
        eventType: event.type,
        status: endpoint.active ? "pending" : "failed",
        attempts: 0,
        lastError: endpoint.active ? null : "The endpoint was inactive: not sent.",
        failedAt: endpoint.active ? null : now,
        createdAt: now,
        updatedAt: now,
      });
    }
  }
  if (rows.length === 0) return;
  const inserts = [];
  for (let i = 0; i < rows.length; i += 8) {
    inserts.push(
      db
        .insert(webhookDeliveries)
        .values(rows.slice(i, i + 8))
        .onConflictDoNothing(),
    );
  }
  const unqueued = db
    .select({ id: webhookDeliveries.id, tenantId: webhookDeliveries.tenantId })
    .from(webhookDeliveries)
    .where(
      and(
        inList(webhookDeliveries.tenantId, tenantIds),
        inList(webhookDeliveries.endpointId, [...new Set(rows.map((r) => r.endpointId))]),
        inList(
          webhookDeliveries.eventId,
          events.map((e) => e.id),
        ),
        eq(webhookDeliveries.status, "pending"),
        sql`${webhookDeliveries.queuedAt} IS NULL`,
      ),
    );
  const results = await db.batch([...inserts, unqueued] as unknown as [typeof unqueued]);
  const pending = results[results.length - 1] as { id: number; tenantId: number }[];
  // A redelivered EVENTS message finds its rows queued already and sends nothing; a failed send throws, the
  // EVENTS message is retried and finds them still unqueued.
  await enqueueDeliveries(env, db, pending);
}

function receives(
  endpoint: { id: number; eventTypes: string[] },
  event: { type: string; data: Record<string, unknown> },
): boolean {
  if (DIRECTED_TYPES.has(event.type)) return event.data.endpoint_id === endpoint.id;
  return endpoint.eventTypes.includes(ALL_EVENTS) || endpoint.eventTypes.includes(event.type);
}

// ---- WEBHOOK_DELIVERIES: sending -------------------------------------------------------------------------------

type Loaded = Awaited<ReturnType<typeof loadDeliveries>> extends Map<number, infer R> ? R : never;

async function loadDeliveries(db: Db, messages: DeliveryMessage[]) {
  const ids = [...new Set(messages.map((m) => m.delivery_id).filter(Number.isSafeInteger))];
  const rows = ids.length
    ? await db
        .select({
          id: webhookDeliveries.id,
          tenantId: webhookDeliveries.tenantId,
          status: webhookDeliveries.status,
          attempts: webhookDeliveries.attempts,
          endpointId: webhookEndpoints.id,
          url: webhookEndpoints.url,
          active: webhookEndpoints.active,
          secret: webhookEndpoints.secret,
          previousSecret: webhookEndpoints.previousSecret,
          previousSecretExpiresAt: webhookEndpoints.previousSecretExpiresAt,
          rateLimit: webhookEndpoints.rateLimitPerSecond,
          eventId: webhookDeliveries.eventId,
          eventType: outbox.type,
          eventData: outbox.data,
          occurredAt: outbox.occurredAt,
        })
        .from(webhookDeliveries)
        .innerJoin(
          webhookEndpoints,
          and(
            eq(webhookEndpoints.id, webhookDeliveries.endpointId),
            eq(webhookEndpoints.tenantId, webhookDeliveries.tenantId),
          ),
        )
        .leftJoin(outbox, eq(outbox.id, webhookDeliveries.eventId))
        .where(inList(webhookDeliveries.id, ids))
    : [];
  return new Map(rows.map((r) => [r.id, r]));
}

export async function deliverWebhooks(batch: MessageBatch<DeliveryMessage>, env: Env) {
  const db = createDb(env.DB);
  let loaded: Map<number, Loaded>;
  try {
    loaded = await loadDeliveries(
      db,
      batch.messages.map((m) => m.body),
    );
  } catch (err) {
    console.error(JSON.stringify({ level: "error", message: "loading deliveries failed", error: String(err) }));
    batch.retryAll({ delaySeconds: 30 });
    return;
  }
  // Messages of one endpoint go one after the other (its rate limit); endpoints go in parallel.
  const byEndpoint = new Map<number, { message: Message<DeliveryMessage>; row: Loaded }[]>();
  for (const message of batch.messages) {
    const row = loaded.get(message.body.delivery_id);
    // Gone (its endpoint was deleted), or not this academy's: nothing to send.
    if (!row || row.tenantId !== message.body.tenant_id) {
      message.ack();
      continue;
    }
    const list = byEndpoint.get(row.endpointId) ?? [];
    list.push({ message, row });
    byEndpoint.set(row.endpointId, list);
  }
  await Promise.all(
    [...byEndpoint.values()].map(async (items) => {
      const limit = items[0].row.rateLimit;
      // Unknown recent count (D1 hiccup): assume none rather than hold every message back.
      const recent = limit ? await attemptsInLastSecond(db, items[0].row).catch(() => 0) : 0;
      let budget = limit ? limit - recent : Number.POSITIVE_INFINITY;
      let deferred = 0;
      for (const { message, row } of items) {
        try {
          if (limit && budget <= 0 && row.status === "pending" && row.active) {
            await defer(env, message, Math.ceil(++deferred / limit));
            continue;
          }
          if (await deliverOne(env, db, message, row)) budget--;
        } catch (err) {
          console.error(JSON.stringify({ level: "error", message: "webhook delivery crashed", error: String(err) }));
          message.retry({ delaySeconds: 30 });
        }
      }
    }),
  );
}

async function attemptsInLastSecond(db: Db, row: Loaded): Promise<number> {
  const [result] = await db
    .select({ n: sql<number>`count(*)` })
    .from(webhookAttempts)
    .where(
      and(
        eq(webhookAttempts.tenantId, row.tenantId),
        eq(webhookAttempts.endpointId, row.endpointId),
        gte(webhookAttempts.createdAt, new Date(Date.now() - 1000).toISOString()),
      ),
    );
  return Number(result?.n ?? 0);
}

/**
 * Over the endpoint's rate limit: the message goes back on the queue for later as a fresh message (a retry
 * would use up the delivery's attempts), carrying the count of attempts made so far in `offset`.
 */
async function defer(env: Env, message: Message<DeliveryMessage>, delaySeconds: number) {
  const offset = (message.body.offset ?? 0) + message.attempts - 1;
  await deliveryQueue(env).send({ ...message.body, offset }, { delaySeconds: Math.min(delaySeconds, 60) });
  message.ack();
}

interface Outcome {
  /** Whether a request went out (refused targets send nothing). */
  sent: boolean;
  ok: boolean;
  responseStatus: number | null;
  responseBody: string | null;
  error: string | null;
  durationMs: number;
  retryAfter: number | null;
}

/** An attempt that sent nothing, with the reason. */
const notSent = (error: string): Outcome => ({
  sent: false,
  ok: false,
  responseStatus: null,
  responseBody: null,
  error,
  durationMs: 0,
  retryAfter: null,
});

/** Handles one message; answers whether a request went out (it counts toward the rate limit). */
async function deliverOne(env: Env, db: Db, message: Message<DeliveryMessage>, row: Loaded): Promise<boolean> {
  // Sent already, failed for good, or redelivered meanwhile under another message: nothing to do.
  if (row.status !== "pending") {
    message.ack();
    return false;
  }
  const now = nowIso();
  if (!row.active || !row.eventType) {
    await db
      .update(webhookDeliveries)
      .set({
        status: "failed",
        failedAt: now,
        nextAttemptAt: null,
        updatedAt: now,
        lastError: !row.active ? "The endpoint was inactive: not sent." : "The event no longer exists.",
      })
      .where(and(eq(webhookDeliveries.tenantId, row.tenantId), eq(webhookDeliveries.id, row.id)));
    message.ack();
    return false;
  }
  const attempt = (message.body.offset ?? 0) + message.attempts;
  const outcome = await send(env, row);
  const final = !outcome.ok && attempt >= MAX_ATTEMPTS;
  const delay = Math.min(Math.max(retryDelaySeconds(attempt), outcome.retryAfter ?? 0), MAX_DELAY_SECONDS);
  const cutoff = new Date(Date.parse(now) - DISABLE_AFTER_MS).toISOString();
  const endpointWhere = and(eq(webhookEndpoints.tenantId, row.tenantId), eq(webhookEndpoints.id, row.endpointId));
  const failingTooLong = and(
    endpointWhere,
    eq(webhookEndpoints.active, true),
    lte(webhookEndpoints.failingSince, cutoff),
  );
  const results = await db.batch([
    db.insert(webhookAttempts).values({
      tenantId: row.tenantId,
      deliveryId: row.id,
      endpointId: row.endpointId,
      attempt: row.attempts + 1,
      status: outcome.ok ? "succeeded" : "failed",
      responseStatus: outcome.responseStatus,
      responseBody: outcome.responseBody,
      error: outcome.error,
      durationMs: outcome.durationMs,
      createdAt: now,
    }),
    db
      .update(webhookDeliveries)
      .set({
        status: outcome.ok ? "succeeded" : final ? "failed" : "pending",
        attempts: sql`${webhookDeliveries.attempts} + 1`,
        lastAttemptAt: now,
        lastResponseStatus: outcome.responseStatus,
        lastError: outcome.error,
        nextAttemptAt: outcome.ok || final ? null : addSeconds(now, delay),
        deliveredAt: outcome.ok ? now : null,
        failedAt: final ? now : null,
        updatedAt: now,
      })
      .where(and(eq(webhookDeliveries.tenantId, row.tenantId), eq(webhookDeliveries.id, row.id))),
    ...(outcome.ok
      ? [
          db
            .update(webhookEndpoints)
            .set({ failingSince: null })
            .where(and(endpointWhere, sql`${webhookEndpoints.failingSince} IS NOT NULL`)),
        ]
      : [
          db
            .update(webhookEndpoints)
            .set({ failingSince: sql`coalesce(${webhookEndpoints.failingSince}, ${now})` })
            .where(endpointWhere),
          // Failing for 5 days: the event saying so, then the disable, both only if still due (one batch).
          db
            .insert(outbox)
            .select(
              sql`SELECT NULL, tenant_id, 'webhook.endpoint_disabled', json_object('id', id, 'url', url, 'failing_since', failing_since), ${now}, NULL, NULL FROM webhook_endpoints WHERE ${failingTooLong}`,
            ),
          db
            .update(webhookEndpoints)
            .set({ active: false, disabledAt: now, disabledReason: "failing", updatedAt: now })
            .where(failingTooLong)
            .returning({ id: webhookEndpoints.id }),
        ]),
  ] as unknown as Parameters<typeof db.batch>[0]);
  if (outcome.ok) {
    message.ack();
    return true;
  }
  const disabled = results[results.length - 1] as unknown[];
  if (Array.isArray(disabled) && disabled.length > 0) {
    await flushOutbox(env, db, row.tenantId).catch((err) => console.error("outbox flush failed", err));
  }
  // After the last attempt the retry sends the message to the dead-letter queue (its consumer finds it failed).
  if (final) message.retry();
  else message.retry({ delaySeconds: delay });
  return outcome.sent;
}

async function send(env: Env, row: Loaded): Promise<Outcome> {
  const blocked = webhookUrlProblem(row.url, env.ENVIRONMENT);
  const url = blocked ? undefined : new URL(row.url);
  const refusal = blocked
    ? `Not sent: ${blocked}`
    : env.ENVIRONMENT === "test" && url && !isLoopbackUrl(url)
      ? "Not sent: the test environment calls loopback receivers only."
      : undefined;
  if (refusal) return notSent(refusal);
  const envelope = envelopeOf({
    id: row.eventId,
    type: row.eventType as string,
    tenantId: row.tenantId,
    occurredAt: row.occurredAt as string,
    data: (row.eventData ?? {}) as Record<string, unknown>,
  });
  const body = JSON.stringify(envelope);
  const id = webhookId(row.eventId);
  const timestamp = Math.floor(Date.now() / 1000);
  // Stored sealed (AES-GCM, bound to the academy); opened only here, to sign. A secret that no longer opens
  // (JWT_SECRET was changed) is a failed attempt that says so, never an unsigned request.
  const secrets: string[] = [];
  try {
    secrets.push(await openSigningSecret(env, row.tenantId, row.secret));
    if (row.previousSecret && row.previousSecretExpiresAt && row.previousSecretExpiresAt > nowIso()) {
      secrets.push(await openSigningSecret(env, row.tenantId, row.previousSecret));
    }
  } catch {
    return notSent(
      "Not sent: the endpoint's signing secret cannot be read with this deployment's key; rotate the secret.",
    );
  }
  const headers = {
    "content-type": "application/json",
    "user-agent": "Lectern-Webhooks/1",
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await signatureHeader(secrets, id, timestamp, body),
  };
  const started = Date.now();
  try {
    const response = await fetch(row.url, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const responseBody = await readPrefix(response, RESPONSE_LOG_BYTES);
    const ok = response.status >= 200 && response.status < 300;
    return {
      sent: true,
      ok,
      responseStatus: response.status,
      responseBody,
      error: ok ? null : `The receiver answered ${response.status}.`,
      durationMs: Date.now() - started,
      retryAfter: ok ? null : retryAfterSeconds(response.headers.get("retry-after")),
    };
  } catch (err) {
    const name = (err as Error)?.name;
    const error =
      name === "TimeoutError" || name === "AbortError"
        ? `No answer within ${REQUEST_TIMEOUT_MS / 1000} s.`
        : `Network error: ${String((err as Error)?.message ?? err).slice(0, 300)}`;
    return {
      sent: true,
      ok: false,
      responseStatus: null,
      responseBody: null,
      error,
      durationMs: Date.now() - started,
      retryAfter: null,
    };
  }
}

/** The first `max` bytes of a response body as text; the rest is never read. */
async function readPrefix(response: Response, max: number): Promise<string | null> {
  if (!response.body) return null;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // A body cut short (timeout, reset) keeps what arrived.
  } finally {
    reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(Math.min(size, max));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, bytes.length - offset);
    bytes.set(part, offset);
    offset += part.byteLength;
    if (offset >= bytes.length) break;
  }
  return new TextDecoder().decode(bytes);
}

/** `Retry-After` in seconds (delta or HTTP date), when a throttling receiver sends one. */
function retryAfterSeconds(value: string | null): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

// ---- dead letters ----------------------------------------------------------------------------------------------

/** Messages that used up every retry (or kept crashing the consumer): their deliveries are failed for good. */
export async function deadLetterDeliveries(batch: MessageBatch<DeliveryMessage>, env: Env) {
  const db = createDb(env.DB);
  const now = nowIso();
  for (const message of batch.messages) {
    try {
      await db
        .update(webhookDeliveries)
        .set({
          status: "failed",
          failedAt: now,
          nextAttemptAt: null,
          updatedAt: now,
          lastError: sql`coalesce(${webhookDeliveries.lastError}, 'Dead-lettered after the last retry.')`,
        })
        .where(
          and(
            eq(webhookDeliveries.tenantId, message.body.tenant_id),
            eq(webhookDeliveries.id, message.body.delivery_id),
            eq(webhookDeliveries.status, "pending"),
          ),
        );
      message.ack();
    } catch (err) {
      console.error(JSON.stringify({ level: "error", message: "dead-letter handling failed", error: String(err) }));
      message.retry({ delaySeconds: 60 });
    }
  }
}
