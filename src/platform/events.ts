import { and, asc, eq, isNull, type SQL, sql } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { chunk, inList } from "./db";
import type { AppEnv, Db, Env, EventMessage } from "./env";
import { outbox } from "./tables";
import { nowIso } from "./time";

/**
 * The outbox row of a domain event, to put in the same `db.batch` as the change it describes.
 * Envelope sent to integrations (issue: webhooks): `{id, type, tenant_id, occurred_at, data}`.
 */
export function outboxInsert(db: Db, tenantId: number, type: string, data: Record<string, unknown>) {
  return db.insert(outbox).values({ tenantId, type, data, occurredAt: nowIso() });
}

/** Sends unsent outbox rows (of one tenant, or all) to EVENTS and marks them sent. Safe to run twice. */
export async function flushOutbox(env: Env, db: Db, tenantId?: number, limit = 100): Promise<number> {
  const rows = await db
    .select({ id: outbox.id, tenant_id: outbox.tenantId, type: outbox.type })
    .from(outbox)
    .where(tenantId === undefined ? isNull(outbox.sentAt) : and(eq(outbox.tenantId, tenantId), isNull(outbox.sentAt)))
    .orderBy(asc(outbox.id))
    .limit(limit);
  if (rows.length === 0) return 0;
  // Queues take at most 100 messages per sendBatch; each part is marked sent once it is on the queue.
  for (let i = 0; i < rows.length; i += 100) {
    const part = rows.slice(i, i + 100);
    await env.EVENTS.sendBatch(part.map((body: EventMessage) => ({ body })));
    await db
      .update(outbox)
      .set({ sentAt: nowIso() })
      .where(
        inList(
          outbox.id,
          part.map((r) => r.id),
        ),
      );
  }
  return rows.length;
}

const READS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * After every successful write request, the events it recorded go to EVENTS (DESIGN.md section 7: "after
 * commit EVENTS.send"), after the response, in `waitUntil`. The request's academy when the caller has one,
 * otherwise any unsent rows (platform and sign-in requests). A failed send only delays the events: the cron
 * sweeps what is left unsent every minute. Sending a row twice is harmless (consumers are idempotent).
 */
export const sendEventsAfterWrites: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (READS.has(c.req.method) || c.res.status >= 400) return;
  const principal = c.get("principal");
  const tenantId = principal && principal.kind !== "platform" ? principal.tenantId : undefined;
  const work = flushOutbox(c.env, c.get("db"), tenantId, 100).catch((err) =>
    console.error(
      JSON.stringify({ level: "warn", message: "outbox send failed; the cron retries", error: String(err) }),
    ),
  );
  try {
    c.executionCtx.waitUntil(work);
  } catch {
    // No execution context (some test harnesses): the promise still runs.
  }
};

/**
 * The outbox row of an event about a row inserted earlier in the same batch, whose id is not known when the
 * batch is built: `idOf` is a subquery that finds it (by a unique key such as the slug), and the event's
 * `data` gets `id` from it in SQL.
 */
export function outboxInsertFor(db: Db, tenantId: number, type: string, idOf: SQL, data: Record<string, unknown>) {
  return db.insert(outbox).values({
    tenantId,
    type,
    data: sql`json_patch(${JSON.stringify(data)}, json_object('id', ${idOf}))` as unknown as Record<string, unknown>,
    occurredAt: nowIso(),
  });
}

/** Outbox rows of many events of one type: multi-row inserts in chunks under D1's 100 parameters. */
export function outboxInsertMany(db: Db, tenantId: number, type: string, datas: Record<string, unknown>[]) {
  const occurredAt = nowIso();
  return chunk(datas, 4).map((part) =>
    db.insert(outbox).values(part.map((data) => ({ tenantId, type, data, occurredAt }))),
  );
}
