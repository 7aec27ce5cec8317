import { and, asc, eq, inArray, isNull, lt, or, type SQL, sql } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { chunk, inList } from "./db";
import type { AppEnv, Db, Env, EventMessage } from "./env";
import { outbox } from "./tables";
import { addSeconds, nowIso } from "./time";

/**
 * The outbox row of a domain event, to put in the same `db.batch` as the change it describes.
 * Envelope sent to integrations (issue: webhooks): `{id, type, tenant_id, occurred_at, data}`.
 */
export function outboxInsert(db: Db, tenantId: number, type: string, data: Record<string, unknown>) {
  return db.insert(outbox).values({ tenantId, type, data, occurredAt: nowIso() });
}

/** How long a flush owns the rows it claimed; a claim whose flush died (Worker evicted mid-send) then expires. */
const CLAIM_SECONDS = 30;

/**
 * Sends unsent outbox rows (of one tenant, or all) to EVENTS and marks them sent, up to `limit` rows per round
 * and `rounds` rounds (a round that fills its limit is followed by another).
 *
 * Each round first claims its rows in one UPDATE ... RETURNING: D1 runs writes one at a time, so concurrent flushes
 * (ten enrollments finishing at once) take disjoint rows instead of all picking the oldest 100 and leaving the rest
 * to the cron. A claim lasts CLAIM_SECONDS; if the send fails the claim is dropped at once, and if the Worker
 * dies mid-send it expires and the cron sends the rows (at least once: consumers dedupe by event id).
 */
export async function flushOutbox(env: Env, db: Db, tenantId?: number, limit = 100, rounds = 5): Promise<number> {
  let sent = 0;
  for (let round = 0; round < rounds; round++) {
    const claimed = await claimUnsent(db, tenantId, limit);
    if (claimed.length === 0) break;
    // Queues take at most 100 messages per sendBatch; each part is marked sent once it is on the queue.
    for (let i = 0; i < claimed.length; i += 100) {
      const part = claimed.slice(i, i + 100);
      const ids = part.map((r) => r.id);
      try {
        await env.EVENTS.sendBatch(part.map((body: EventMessage) => ({ body })));
      } catch (err) {
        await db
          .update(outbox)
          .set({ claimedUntil: null })
          .where(
            inList(
              outbox.id,
              claimed.slice(i).map((r) => r.id),
            ),
          );
        throw err;
      }
      await db.update(outbox).set({ sentAt: nowIso(), claimedUntil: null }).where(inList(outbox.id, ids));
      sent += part.length;
    }
    if (claimed.length < limit) break;
  }
  return sent;
}

/** Claims up to `limit` of the oldest unsent, unclaimed rows (or rows whose claim expired) and answers them. */
async function claimUnsent(db: Db, tenantId: number | undefined, limit: number): Promise<EventMessage[]> {
  const now = nowIso();
  const unsent = and(
    tenantId === undefined ? undefined : eq(outbox.tenantId, tenantId),
    isNull(outbox.sentAt),
    or(isNull(outbox.claimedUntil), lt(outbox.claimedUntil, now)),
  );
  const oldest = db.select({ id: outbox.id }).from(outbox).where(unsent).orderBy(asc(outbox.id)).limit(limit);
  const rows = await db
    .update(outbox)
    .set({ claimedUntil: addSeconds(now, CLAIM_SECONDS) })
    .where(and(inArray(outbox.id, oldest), unsent))
    .returning({ id: outbox.id, tenant_id: outbox.tenantId, type: outbox.type });
  return rows.sort((a, b) => a.id - b.id);
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
