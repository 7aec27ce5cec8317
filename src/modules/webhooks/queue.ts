/**
 * The WEBHOOK_DELIVERIES queue side shared by the API, the fan-out and the cron: one message per delivery;
 * `queued_at` records that a message is on its way, so the cron can re-queue rows whose send failed.
 */
import { and, eq, isNull, lt } from "drizzle-orm";
import { inList } from "../../platform/db";
import type { Db, Env } from "../../platform/env";
import { nowIso } from "../../platform/time";
import { webhookDeliveries } from "./tables";

/** Queue names of wrangler.toml that the Worker's `queue` handler tells apart. */
export const QUEUES = {
  events: "lectern-events",
  deliveries: "lectern-webhook-deliveries",
  deliveriesDeadLetter: "lectern-webhook-deliveries-dlq",
  jobs: "lectern-jobs",
} as const;

/**
 * A WEBHOOK_DELIVERIES message. `offset` is the number of failed attempts made before this message (set when a
 * rate-limited message is re-sent: a fresh message restarts the queue's own attempt counter).
 */
export interface DeliveryMessage {
  delivery_id: number;
  tenant_id: number;
  offset?: number;
}

/** Messages per `sendBatch` (the Queues limit). */
const SEND_BATCH = 100;

export function deliveryQueue(env: Env): Queue<DeliveryMessage> {
  return env.WEBHOOK_DELIVERIES as Queue<DeliveryMessage>;
}

/** Sends one message per delivery and marks them queued. A failed send leaves them for the cron. */
export async function enqueueDeliveries(env: Env, db: Db, rows: { id: number; tenantId: number }[]) {
  for (let i = 0; i < rows.length; i += SEND_BATCH) {
    const part = rows.slice(i, i + SEND_BATCH);
    await deliveryQueue(env).sendBatch(part.map((r) => ({ body: { delivery_id: r.id, tenant_id: r.tenantId } })));
    await db
      .update(webhookDeliveries)
      .set({ queuedAt: nowIso() })
      .where(
        inList(
          webhookDeliveries.id,
          part.map((r) => r.id),
        ),
      );
  }
}

/** Cron: pending deliveries that never got their message (the send failed) for two minutes get one now. */
export async function requeueStalledDeliveries(env: Env, db: Db, limit = 500): Promise<number> {
  const stalled = await db
    .select({ id: webhookDeliveries.id, tenantId: webhookDeliveries.tenantId })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.status, "pending"),
        isNull(webhookDeliveries.queuedAt),
        lt(webhookDeliveries.updatedAt, new Date(Date.now() - 120_000).toISOString()),
      ),
    )
    .limit(limit);
  await enqueueDeliveries(env, db, stalled);
  return stalled.length;
}

/** How long delivery logs are kept. */
export const DELIVERY_RETENTION_DAYS = 30;

/** Cron: deletes delivery logs (and their attempts, by cascade) past the retention, a bounded number per run. */
export async function pruneDeliveries(db: Db, limit = 1000) {
  const cutoff = new Date(Date.now() - DELIVERY_RETENTION_DAYS * 86_400_000).toISOString();
  const old = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(lt(webhookDeliveries.createdAt, cutoff))
    .limit(limit);
  if (old.length === 0) return 0;
  await db.delete(webhookDeliveries).where(
    inList(
      webhookDeliveries.id,
      old.map((r) => r.id),
    ),
  );
  return old.length;
}
