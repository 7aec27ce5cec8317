/**
 * The outbox flush (DESIGN.md section 7): concurrent flushes claim disjoint rows, a failed send gives its rows
 * back at once, and a claim whose flush died expires so the rows are still sent (at least once).
 */
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { createDb } from "../src/platform/db";
import type { Env } from "../src/platform/env";
import { flushOutbox, outboxInsert } from "../src/platform/events";
import { createTenant, type TestTenant } from "./helpers/factories";

const db = createDb(env.DB);

async function addEvents(tenantId: number, n: number) {
  const inserts = Array.from({ length: n }, (_, i) => outboxInsert(db, tenantId, "test.flushed", { i }));
  for (let i = 0; i < inserts.length; i += 50) {
    const part = inserts.slice(i, i + 50);
    await db.batch(part as [(typeof part)[0], ...typeof part]);
  }
}

const states = async (tenantId: number) =>
  (await env.DB.prepare(
    "SELECT count(*) AS n, count(sent_at) AS sent, count(claimed_until) AS claimed FROM outbox WHERE tenant_id = ?",
  )
    .bind(tenantId)
    .first<{ n: number; sent: number; claimed: number }>()) ?? { n: 0, sent: 0, claimed: 0 };

describe("flushing the outbox", () => {
  let t: TestTenant;
  beforeEach(async () => {
    t = await createTenant();
    // Creating the academy wrote events of its own: send them, so each test starts from an empty backlog.
    await flushOutbox(env as Env, db, t.id, 100);
  });

  it("gives concurrent flushes disjoint rows: three flushes of 100 send 250 events exactly once", async () => {
    await addEvents(t.id, 250);
    const counts = await Promise.all([1, 2, 3].map(() => flushOutbox(env as Env, db, t.id, 100, 1)));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(250);
    expect([...counts].sort((a, b) => b - a)).toEqual([100, 100, 50]);
    expect(await states(t.id)).toMatchObject({ sent: (await states(t.id)).n, claimed: 0 });
  });

  it("keeps going round by round until the backlog is sent", async () => {
    await addEvents(t.id, 230);
    expect(await flushOutbox(env as Env, db, t.id, 100)).toBe(230);
    const s = await states(t.id);
    expect(s.sent).toBe(s.n);
  });

  it("gives the rows back at once when the queue refuses them, and sends them on the next flush", async () => {
    await addEvents(t.id, 3);
    const down = {
      ...env,
      EVENTS: { sendBatch: () => Promise.reject(new Error("queue unavailable")) },
    } as unknown as Env;
    await expect(flushOutbox(down, db, t.id)).rejects.toThrow("queue unavailable");
    const after = await states(t.id);
    expect(after.n - after.sent).toBe(3);
    expect(after.claimed).toBe(0);
    expect(await flushOutbox(env as Env, db, t.id)).toBe(3);
  });

  it("skips rows another flush holds, and takes them once that claim has expired", async () => {
    await addEvents(t.id, 2);
    const future = new Date(Date.now() + 60_000).toISOString();
    await env.DB.prepare("UPDATE outbox SET claimed_until = ? WHERE tenant_id = ? AND sent_at IS NULL")
      .bind(future, t.id)
      .run();
    expect(await flushOutbox(env as Env, db, t.id)).toBe(0);
    // The flush holding them died: its claim runs out and the rows are sent after all.
    const past = new Date(Date.now() - 1_000).toISOString();
    await env.DB.prepare("UPDATE outbox SET claimed_until = ? WHERE tenant_id = ? AND sent_at IS NULL")
      .bind(past, t.id)
      .run();
    expect(await flushOutbox(env as Env, db, t.id)).toBe(2);
    expect(await states(t.id)).toMatchObject({ claimed: 0 });
  });
});
