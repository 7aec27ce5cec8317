/**
 * The webhook consumers driven by hand: the Worker's `queue` handler runs on batches made with
 * `createMessageBatch`, with the queue producers recorded (recordingEnv) so each test decides when a message is
 * consumed, retries included, without waiting for real queue timing. Proves fan-out idempotency, the retry
 * schedule and dead-lettering, at-least-once delivery to a receiver failing half the time while queue sends fail
 * too, deleted and disabled endpoints, the keyset-paginated log, the per-endpoint rate limit, auto-disable after
 * 5 days, and the cron's sweeps.
 */
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../src/index";
import { MAX_ATTEMPTS, RESPONSE_LOG_BYTES, RETRY_SCHEDULE } from "../src/modules/webhooks/consumers";
import { createDb } from "../src/platform/db";
import { flushOutbox } from "../src/platform/events";
import wranglerToml from "../wrangler.toml?raw";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, type TestTenant, unique } from "./helpers/factories";
import {
  insertEvent,
  installReceivers,
  receiver,
  recordingEnv,
  runQueue,
  type Sent,
  settleOutbox,
  until,
  verify,
} from "./helpers/webhooks";

installReceivers();

const EVENTS = "lectern-events";
const DELIVERIES = "lectern-webhook-deliveries";
const DEAD_LETTERS = "lectern-webhook-deliveries-dlq";

async function endpoint(t: TestTenant, body: Record<string, unknown>) {
  const res = await api("POST", "/v1/admin/webhooks", {
    token: t.key,
    body: { url: `https://hooks.example.com/${unique("h")}`, event_types: ["course.deleted"], ...body },
  });
  expectStatus(res, 201);
  return res.body as { id: number; url: string; secret: string };
}

interface DeliveryRow {
  id: number;
  event_id: number;
  status: string;
  attempts: number;
  last_error: string | null;
  last_response_status: number | null;
  next_attempt_at: string;
  failed_at: string | null;
  queued_at: string | null;
}

async function deliveryRows(endpointId: number) {
  const rows = await env.DB.prepare("SELECT * FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY id")
    .bind(endpointId)
    .all<DeliveryRow>();
  return rows.results;
}

const deliveryMessages = (sent: Sent[]) => sent.filter((s) => s.queue === DELIVERIES);

/** A deterministic coin per key: the same request always fails or succeeds, whatever order batches run in. */
function coin(key: string): boolean {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return ((h >>> 0) & 1) === 1;
}

describe("the EVENTS fan-out", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("makes one delivery per subscribed endpoint and event; a redelivered EVENTS message adds nothing", async () => {
    const published = await endpoint(t, { event_types: ["course.published"] });
    const everything = await endpoint(t, { event_types: ["*"] });
    const learners = await endpoint(t, { event_types: ["learner.created"] });
    const inactive = await endpoint(t, { event_types: ["*"], active: false });
    const other = await createTenant();
    const foreign = await endpoint(other, { event_types: ["*"] });

    const e1 = await insertEvent(t.id, "course.published", { id: 1, slug: "stats" });
    const e2 = await insertEvent(t.id, "learner.deleted", { id: 2, email: "x@example.com" });
    const sent: Sent[] = [];
    const run = await runQueue(EVENTS, [{ body: e1 }, { body: e2 }], recordingEnv(sent));
    expect(run.acked).toEqual([true, true]);

    const pairs = async (id: number) => (await deliveryRows(id)).map((r) => [r.event_id, r.status]);
    expect(await pairs(published.id)).toEqual([[e1.id, "pending"]]);
    expect(await pairs(everything.id)).toEqual([
      [e1.id, "pending"],
      [e2.id, "pending"],
    ]);
    expect(await pairs(learners.id)).toEqual([]);
    // An inactive endpoint's share is failed at once (never sent), so redeliver-failed can replay it later.
    expect(await pairs(inactive.id)).toEqual([
      [e1.id, "failed"],
      [e2.id, "failed"],
    ]);
    expect(await pairs(foreign.id)).toEqual([]);
    const ids = [...(await deliveryRows(published.id)), ...(await deliveryRows(everything.id))].map((r) => r.id);
    expect(
      deliveryMessages(sent)
        .map((s) => s.body.delivery_id)
        .sort(),
    ).toEqual(ids.sort());
    expect(deliveryMessages(sent).every((s) => s.body.tenant_id === t.id)).toBe(true);

    // Queues deliver at least once: the same batch again changes nothing and sends nothing.
    const again = await runQueue(EVENTS, [{ body: e1 }, { body: e2 }, { body: e1 }], recordingEnv(sent));
    expect(again.acked).toEqual([true, true, true]);
    expect(deliveryMessages(sent)).toHaveLength(3);
    expect(await deliveryRows(everything.id)).toHaveLength(2);
  });

  it("acknowledges events whose outbox row or academy has no endpoint", async () => {
    const sent: Sent[] = [];
    const run = await runQueue(
      EVENTS,
      [{ body: { id: 999_999_999, tenant_id: t.id, type: "course.created" } }],
      recordingEnv(sent),
    );
    expect(run.acked).toEqual([true]);
    expect(sent).toEqual([]);
  });
});

describe("delivery attempts", () => {
  let t: TestTenant;

  /** An endpoint of a fresh academy and one event's delivery message for it. */
  async function oneDelivery(body: Record<string, unknown>, type = "course.deleted") {
    t = await createTenant();
    const created = await endpoint(t, body);
    const event = await insertEvent(t.id, type, { id: 42 });
    const sent: Sent[] = [];
    await runQueue(EVENTS, [{ body: event }], recordingEnv(sent));
    const [message] = deliveryMessages(sent);
    expect(message).toBeTruthy();
    return { endpoint: created, event, message, sent };
  }

  it("retries on the schedule with a stable webhook-id, then dead-letters and marks the delivery failed", async () => {
    expect(wranglerToml).toMatch(
      new RegExp(`queue = "lectern-webhook-deliveries"[^[]*max_retries = ${MAX_ATTEMPTS - 1}\\n`),
    );
    expect(RETRY_SCHEDULE.slice(0, 6)).toEqual([5, 300, 1800, 7200, 18_000, 36_000]);
    const hook = receiver(() => new Response("x".repeat(5000), { status: 500 }));
    const { endpoint: created, event, message } = await oneDelivery({ url: hook.url });
    const testEnv = recordingEnv([]);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const started = Date.now();
      const run = await runQueue(DELIVERIES, [{ body: message.body, attempts: attempt }], testEnv);
      expect(run.acked).toEqual([false]);
      const [row] = await deliveryRows(created.id);
      expect(row.attempts).toBe(attempt);
      if (attempt < MAX_ATTEMPTS) {
        const delay = RETRY_SCHEDULE[attempt - 1];
        expect(run.retried).toEqual([{ delaySeconds: delay }]);
        expect(row.status).toBe("pending");
        expect(Date.parse(row.next_attempt_at) - started).toBeGreaterThanOrEqual(delay * 1000 - 1000);
        expect(Date.parse(row.next_attempt_at) - started).toBeLessThan(delay * 1000 + 5000);
      } else {
        // The last attempt: failed for good, and the retry moves the message to the dead-letter queue.
        expect(run.retried).toEqual([{ delaySeconds: undefined }]);
        expect(row).toMatchObject({ status: "failed", next_attempt_at: null, last_response_status: 500 });
        expect(row.failed_at).toBeTruthy();
      }
    }
    const requests = hook.requests();
    expect(requests).toHaveLength(MAX_ATTEMPTS);
    expect(new Set(requests.map((r) => r.id))).toEqual(new Set([`evt_${event.id}`]));
    for (const request of requests) expect(verify(created.secret, request).id).toBe(event.id);

    const log = await api("GET", `/v1/admin/webhooks/deliveries/${message.body.delivery_id}/attempts`, {
      token: t.key,
    });
    expectStatus(log, 200);
    expect(log.body.attempts_log.map((a: { attempt: number }) => a.attempt)).toEqual(
      Array.from({ length: MAX_ATTEMPTS }, (_, i) => i + 1),
    );
    for (const attempt of log.body.attempts_log) {
      expect(attempt).toMatchObject({ status: "failed", response_status: 500, error: "The receiver answered 500." });
      expect(attempt.response_body).toHaveLength(RESPONSE_LOG_BYTES);
      expect(attempt.duration_ms).toBeGreaterThanOrEqual(0);
    }

    const dead = await runQueue(DEAD_LETTERS, [{ body: message.body }], testEnv);
    expect(dead.acked).toEqual([true]);
    expect((await deliveryRows(created.id))[0].status).toBe("failed");
    expect(hook.requests()).toHaveLength(MAX_ATTEMPTS);
  });

  it("marks a dead-lettered pending delivery failed (the consumer kept crashing)", async () => {
    const hook = receiver();
    const { endpoint: created, message } = await oneDelivery({ url: hook.url });
    const dead = await runQueue(DEAD_LETTERS, [{ body: message.body }], recordingEnv([]));
    expect(dead.acked).toEqual([true]);
    const [row] = await deliveryRows(created.id);
    expect(row).toMatchObject({ status: "failed", last_error: "Dead-lettered after the last retry.", attempts: 0 });
    // A late message for it sends nothing.
    expect((await runQueue(DELIVERIES, [{ body: message.body }], recordingEnv([]))).acked).toEqual([true]);
    expect(hook.requests()).toEqual([]);
  });

  it("counts timeouts, network errors and redirects as failures, and honours Retry-After", async () => {
    const outcomes: (() => Response)[] = [
      () => {
        throw new DOMException("The operation timed out.", "TimeoutError");
      },
      () => {
        throw new TypeError("Network connection lost.");
      },
      () => new Response(null, { status: 302, headers: { location: "https://elsewhere.example.com/" } }),
      () => new Response("slow down", { status: 429, headers: { "retry-after": "600" } }),
      () => new Response("ok", { status: 202 }),
    ];
    const hook = receiver((_request, nth) => outcomes[nth]());
    const { endpoint: created, message } = await oneDelivery({ url: hook.url });
    const testEnv = recordingEnv([]);
    const delays: (number | undefined)[] = [];
    for (let attempt = 1; attempt <= outcomes.length; attempt++) {
      const run = await runQueue(DELIVERIES, [{ body: message.body, attempts: attempt }], testEnv);
      delays.push(run.retried[0]?.delaySeconds);
      if (attempt === outcomes.length) expect(run.acked).toEqual([true]);
    }
    expect(delays).toEqual([5, 300, 1800, 7200, undefined]);
    const log = await api("GET", `/v1/admin/webhooks/deliveries/${message.body.delivery_id}/attempts`, {
      token: t.key,
    });
    expect(
      log.body.attempts_log.map((a: { status: string; response_status: number | null; error: string | null }) => [
        a.status,
        a.response_status,
        a.error,
      ]),
    ).toEqual([
      ["failed", null, "No answer within 10 s."],
      ["failed", null, "Network error: Network connection lost."],
      ["failed", 302, "The receiver answered 302."],
      ["failed", 429, "The receiver answered 429."],
      ["succeeded", 202, null],
    ]);
    const [row] = await deliveryRows(created.id);
    expect(row).toMatchObject({ status: "succeeded", attempts: 5, last_response_status: 202 });
    const endpointRow = await api("GET", `/v1/admin/webhooks/${created.id}`, { token: t.key });
    expect(endpointRow.body.failing_since).toBeNull();

    // Retry-After longer than the schedule's step wins.
    const throttled = await oneDelivery({
      url: receiver(() => new Response("", { status: 503, headers: { "retry-after": "600" } })).url,
    });
    const run = await runQueue(DELIVERIES, [{ body: throttled.message.body }], testEnv);
    expect(run.retried).toEqual([{ delaySeconds: 600 }]);
  });

  it("re-checks the target at send time and sends nothing to a refused one", async () => {
    const { endpoint: created, message } = await oneDelivery({ url: receiver().url });
    await env.DB.prepare("UPDATE webhook_endpoints SET url = ? WHERE id = ?")
      .bind("https://169.254.169.254/latest/meta-data/", created.id)
      .run();
    const run = await runQueue(DELIVERIES, [{ body: message.body }], recordingEnv([]));
    expect(run.retried).toEqual([{ delaySeconds: 5 }]);
    const log = await api("GET", `/v1/admin/webhooks/deliveries/${message.body.delivery_id}/attempts`, {
      token: t.key,
    });
    expect(log.body.attempts_log[0].error).toMatch(/^Not sent: IP addresses are refused/);
  });
});

describe("at-least-once delivery under failures", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("gets every event to every endpoint with a receiver failing half the time and queue sends failing", async () => {
    // The receivers fail half their requests (a fixed coin per request, so batch order does not matter).
    const tries = new Map<string, number>();
    const hooks = [0, 1].map(() =>
      receiver((request) => {
        const key = `${request.id}|${request.path}`;
        tries.set(key, (tries.get(key) ?? 0) + 1);
        return coin(`${key}|${tries.get(key)}`) ? 500 : 200;
      }),
    );
    const endpoints = [];
    for (const hook of hooks) endpoints.push(await endpoint(t, { url: hook.url, event_types: ["course.updated"] }));
    await settleOutbox();

    // Twelve events whose send after commit failed: the minute sweep sends them, its own sends failing too.
    const events = [];
    for (let i = 0; i < 12; i++)
      events.push(await insertEvent(t.id, "course.updated", { id: i, changed: ["name"] }, false));
    const sent: Sent[] = [];
    let sends = 0;
    const flaky = recordingEnv(sent, { events: () => sends++ % 3 === 0, deliveries: () => sends++ % 4 === 1 });
    const db = createDb(env.DB);
    for (let sweep = 0; sweep < 10; sweep++) {
      await flushOutbox(flaky, db, t.id, 5).catch(() => undefined);
    }
    const eventMessages = sent.filter((s) => s.queue === EVENTS).map((s) => s.body);
    expect(eventMessages.map((m) => m.id).sort()).toEqual(events.map((e) => e.id).sort());

    // Fan-out, whose delivery sends fail now and then: a failed batch is retried whole, as Queues would.
    for (let round = 0; ; round++) {
      expect(round).toBeLessThan(20);
      const run = await runQueue(
        EVENTS,
        [...eventMessages, eventMessages[0]].map((body) => ({ body })),
        flaky,
      );
      if (run.acked.every(Boolean)) break;
      expect(run.retried.every((r) => r?.delaySeconds === 10)).toBe(true);
    }
    const queue = deliveryMessages(sent).map((s) => ({ body: s.body, attempts: 1 }));
    expect(new Set(queue.map((m) => m.body.delivery_id)).size).toBe(24);

    // The delivery queue, run by hand: retried messages come back with one more attempt.
    const steady = recordingEnv([]);
    let pending = queue;
    for (let round = 0; pending.length > 0; round++) {
      expect(round).toBeLessThan(MAX_ATTEMPTS);
      const run = await runQueue(DELIVERIES, pending, steady);
      const next = [];
      for (const [i, message] of pending.entries()) {
        if (run.acked[i]) continue;
        expect(run.retried[i]).toEqual({ delaySeconds: RETRY_SCHEDULE[message.attempts - 1] });
        next.push({ body: message.body, attempts: message.attempts + 1 });
      }
      pending = next;
    }

    for (const [h, hook] of hooks.entries()) {
      const requests = hook.requests();
      expect(requests.some((r) => r.status === 500)).toBe(true);
      for (const event of events) {
        const mine = requests.filter((r) => r.id === `evt_${event.id}`);
        expect(
          mine.some((r) => r.status === 200),
          `event ${event.id} reached endpoint ${h}`,
        ).toBe(true);
        for (const request of mine) expect(verify(endpoints[h].secret, request).id).toBe(event.id);
      }
      const rows = await deliveryRows(endpoints[h].id);
      expect(rows.map((r) => r.status)).toEqual(Array(12).fill("succeeded"));
    }
  });
});

describe("deleted and disabled endpoints", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("sends nothing more to a deleted endpoint, not even pending retries", async () => {
    const hook = receiver();
    const created = await endpoint(t, { url: hook.url });
    const event = await insertEvent(t.id, "course.deleted", { id: 1 });
    const sent: Sent[] = [];
    await runQueue(EVENTS, [{ body: event }], recordingEnv(sent));
    const [message] = deliveryMessages(sent);
    expectStatus(await api("DELETE", `/v1/admin/webhooks/${created.id}`, { token: t.key }), 204);
    const run = await runQueue(DELIVERIES, [{ body: message.body, attempts: 3 }], recordingEnv(sent));
    expect(run.acked).toEqual([true]);
    const later = await insertEvent(t.id, "course.deleted", { id: 2 });
    await runQueue(EVENTS, [{ body: later }], recordingEnv(sent));
    expect(deliveryMessages(sent)).toHaveLength(1);
    expect(hook.requests()).toEqual([]);
    expect(await deliveryRows(created.id)).toEqual([]);
  });

  it("does not replay what a disabled endpoint missed when re-enabled, unless asked with redeliver-failed", async () => {
    const hook = receiver();
    const created = await endpoint(t, { url: hook.url });
    const patch = (active: boolean) =>
      api("PATCH", `/v1/admin/webhooks/${created.id}`, { token: t.key, body: { active } });
    expectStatus(await patch(false), 200);
    const missed = await insertEvent(t.id, "course.deleted", { id: 10 });
    const sent: Sent[] = [];
    await runQueue(EVENTS, [{ body: missed }], recordingEnv(sent));
    expect(deliveryMessages(sent)).toEqual([]);
    const redeliverRefused = await api("POST", `/v1/admin/webhooks/${created.id}/redeliver-failed`, {
      token: t.key,
      body: {},
    });
    expectProblem(redeliverRefused, 409);

    expectStatus(await patch(true), 200);
    const fresh = await insertEvent(t.id, "course.deleted", { id: 11 });
    await runQueue(EVENTS, [{ body: fresh }], recordingEnv(sent));
    expect(deliveryMessages(sent)).toHaveLength(1);
    await runQueue(DELIVERIES, [{ body: deliveryMessages(sent)[0].body }], recordingEnv(sent));
    expect(hook.requests().map((r) => r.id)).toEqual([`evt_${fresh.id}`]);

    const future = await api("POST", `/v1/admin/webhooks/${created.id}/redeliver-failed`, {
      token: t.key,
      body: { since: new Date(Date.now() + 60_000).toISOString() },
    });
    expectStatus(future, 202);
    expect(future.body).toEqual({ queued: 0, has_more: false });
    const bad = await api("POST", `/v1/admin/webhooks/${created.id}/redeliver-failed`, {
      token: t.key,
      body: { since: "yesterday" },
    });
    expect(expectProblem(bad, 422).errors?.[0]?.path).toBe("since");

    // Asked: the missed event goes out through the real queue.
    const replay = await api("POST", `/v1/admin/webhooks/${created.id}/redeliver-failed`, {
      token: t.key,
      body: { since: new Date(Date.now() - 3_600_000).toISOString() },
    });
    expectStatus(replay, 202);
    expect(replay.body).toEqual({ queued: 1, has_more: false });
    const requests = await until(() => hook.requests().length >= 2 && hook.requests());
    expect(requests.map((r) => r.id)).toEqual([`evt_${fresh.id}`, `evt_${missed.id}`]);
    expect(verify(created.secret, requests[1]).data).toEqual({ id: 10 });
    await until(async () => (await deliveryRows(created.id)).every((r) => r.status === "succeeded"));
  });

  it("disables an endpoint whose attempts have all failed for 5 days and says so with an event", async () => {
    t = await createTenant();
    const hook = receiver(() => 503);
    const created = await endpoint(t, { url: hook.url });
    const since = new Date(Date.now() - 6 * 86_400_000).toISOString();
    await env.DB.prepare("UPDATE webhook_endpoints SET failing_since = ? WHERE id = ?").bind(since, created.id).run();
    const event = await insertEvent(t.id, "course.deleted", { id: 3 });
    const sent: Sent[] = [];
    const testEnv = recordingEnv(sent);
    await runQueue(EVENTS, [{ body: event }], testEnv);
    const [message] = deliveryMessages(sent);
    const run = await runQueue(DELIVERIES, [{ body: message.body }], testEnv);
    expect(run.retried).toEqual([{ delaySeconds: 5 }]);

    const read = await api("GET", `/v1/admin/webhooks/${created.id}`, { token: t.key });
    expect(read.body).toMatchObject({ active: false, disabled_reason: "failing", failing_since: since });
    const disabled = await env.DB.prepare(
      "SELECT data, sent_at FROM outbox WHERE tenant_id = ? AND type = 'webhook.endpoint_disabled'",
    )
      .bind(t.id)
      .all<{ data: string; sent_at: string | null }>();
    expect(disabled.results.map((r) => JSON.parse(r.data))).toEqual([
      { id: created.id, url: hook.url, failing_since: since },
    ]);
    // It went to EVENTS at once.
    expect(
      sent.some(
        (s) => s.queue === EVENTS && (s.body as unknown as { type: string }).type === "webhook.endpoint_disabled",
      ),
    ).toBe(true);

    // The pending retry finds the endpoint disabled: failed, not sent.
    const retry = await runQueue(DELIVERIES, [{ body: message.body, attempts: 2 }], testEnv);
    expect(retry.acked).toEqual([true]);
    expect(hook.requests()).toHaveLength(1);
    expect((await deliveryRows(created.id))[0]).toMatchObject({ status: "failed", attempts: 1 });
  });
});

describe("the delivery log", () => {
  let t: TestTenant;
  let created: { id: number; secret: string };
  const eventIds: number[] = [];

  beforeAll(async () => {
    t = await createTenant();
    created = await endpoint(t, { url: receiver().url, event_types: ["course.updated", "course.published"] });
    const sent: Sent[] = [];
    for (let i = 0; i < 7; i++) {
      const event = await insertEvent(t.id, i % 2 ? "course.published" : "course.updated", { id: i });
      eventIds.push(event.id);
    }
    await runQueue(
      EVENTS,
      eventIds.map((id, i) => ({ body: { id, tenant_id: t.id, type: i % 2 ? "course.published" : "course.updated" } })),
      recordingEnv(sent),
    );
    // The four oldest are delivered; three stay pending.
    const messages = deliveryMessages(sent).sort((a, b) => a.body.delivery_id - b.body.delivery_id);
    await runQueue(
      DELIVERIES,
      messages.slice(0, 4).map((m) => ({ body: m.body })),
      recordingEnv([]),
    );
  });

  it("pages newest first with a cursor until next_cursor is null", async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const query: string = cursor ? `?per_page=3&cursor=${cursor}` : "?per_page=3";
      const res = await api("GET", `/v1/admin/webhooks/${created.id}/deliveries${query}`, { token: t.key });
      expectStatus(res, 200);
      sizes.push(res.body.data.length);
      seen.push(...res.body.data.map((d: { event_id: number }) => d.event_id));
      cursor = res.body.meta.next_cursor;
      expect(res.body.meta.per_page).toBe(3);
    } while (cursor);
    expect(sizes).toEqual([3, 3, 1]);
    expect(seen).toEqual([...eventIds].reverse());
  });

  it("filters by status and event type", async () => {
    const get = async (query: string) => {
      const res = await api("GET", `/v1/admin/webhooks/${created.id}/deliveries?${query}`, { token: t.key });
      expectStatus(res, 200);
      return res.body.data as { event_id: number; status: string; event_type: string; webhook_id: string }[];
    };
    expect((await get("status=pending")).map((d) => d.event_id)).toEqual(eventIds.slice(4).reverse());
    expect((await get("status=succeeded")).map((d) => d.event_id)).toEqual(eventIds.slice(0, 4).reverse());
    expect((await get("status=failed")).length).toBe(0);
    const published = await get("event_type=course.published&per_page=2");
    expect(published.map((d) => d.event_id)).toEqual([eventIds[5], eventIds[3]]);
    expect(published[0].webhook_id).toBe(`evt_${eventIds[5]}`);
    const next = await api(
      "GET",
      `/v1/admin/webhooks/${created.id}/deliveries?event_type=course.published&per_page=2&cursor=${(await api("GET", `/v1/admin/webhooks/${created.id}/deliveries?event_type=course.published&per_page=2`, { token: t.key })).body.meta.next_cursor}`,
      { token: t.key },
    );
    expect(next.body.data.map((d: { event_id: number }) => d.event_id)).toEqual([eventIds[1]]);
    expect(next.body.meta.next_cursor).toBeNull();
  });

  it("refuses a malformed cursor or status, and another academy's endpoint", async () => {
    const bad = await api("GET", `/v1/admin/webhooks/${created.id}/deliveries?cursor=abc`, { token: t.key });
    expect(expectProblem(bad, 422).errors?.[0]?.path).toBe("query.cursor");
    const status = await api("GET", `/v1/admin/webhooks/${created.id}/deliveries?status=lost`, { token: t.key });
    expect(expectProblem(status, 422).errors?.[0]?.path).toBe("query.status");
    const other = await createTenant();
    expectProblem(await api("GET", `/v1/admin/webhooks/${created.id}/deliveries`, { token: other.key }), 404);
    const [first] = await deliveryRows(created.id);
    expectProblem(await api("GET", `/v1/admin/webhooks/deliveries/${first.id}/attempts`, { token: other.key }), 404);
    expectProblem(await api("POST", `/v1/admin/webhooks/deliveries/${first.id}/redeliver`, { token: other.key }), 404);
    expect((await deliveryRows(created.id))[0]).toMatchObject({ id: first.id, status: first.status });
  });
});

describe("the per-endpoint rate limit", () => {
  it("sends at most rate_limit_per_second attempts a second and defers the rest without using attempts", async () => {
    const t = await createTenant();
    const hook = receiver();
    const created = await endpoint(t, { url: hook.url, rate_limit_per_second: 2 });
    const sent: Sent[] = [];
    const testEnv = recordingEnv(sent);
    const events = [];
    for (let i = 0; i < 5; i++) events.push(await insertEvent(t.id, "course.deleted", { id: i }));
    await runQueue(
      EVENTS,
      events.map((body) => ({ body })),
      testEnv,
    );
    const messages = deliveryMessages(sent);
    expect(messages).toHaveLength(5);
    const run = await runQueue(
      DELIVERIES,
      messages.map((m, i) => ({ body: m.body, attempts: i === 4 ? 3 : 1 })),
      testEnv,
    );
    expect(run.acked).toEqual([true, true, true, true, true]);
    expect(hook.requests()).toHaveLength(2);
    const deferred = deliveryMessages(sent).slice(5);
    expect(deferred.map((m) => m.delaySeconds)).toEqual([1, 1, 2]);
    // The deferred message that had used 2 attempts carries them on.
    expect(deferred.map((m) => m.body.offset)).toEqual([0, 0, 2]);
    const rows = await deliveryRows(created.id);
    expect(rows.filter((r) => r.status === "succeeded")).toHaveLength(2);
    expect(rows.filter((r) => r.status === "pending").every((r) => r.attempts === 0)).toBe(true);

    // A second later the deferred ones go out; the offset keeps the retry schedule where it was.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    hook.set(() => 500);
    const later = await runQueue(
      DELIVERIES,
      deferred.slice(1).map((m) => ({ body: m.body })),
      testEnv,
    );
    expect(later.retried).toEqual([{ delaySeconds: RETRY_SCHEDULE[0] }, { delaySeconds: RETRY_SCHEDULE[2] }]);
  });
});

describe("the cron", () => {
  it("queues deliveries whose message was never sent, and drops logs past 30 days", async () => {
    const t = await createTenant();
    const created = await endpoint(t, { url: receiver().url });
    const event = await insertEvent(t.id, "course.deleted", { id: 1 });
    const old = await insertEvent(t.id, "course.deleted", { id: 2 });
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, event_type, status, created_at, updated_at) VALUES (?, ?, ?, 'course.deleted', 'pending', ?, ?)",
      ).bind(t.id, created.id, event.id, iso(now - 300_000), iso(now - 300_000)),
      env.DB.prepare(
        "INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, event_type, status, queued_at, created_at, updated_at) VALUES (?, ?, ?, 'course.deleted', 'succeeded', ?, ?, ?)",
      ).bind(
        t.id,
        created.id,
        old.id,
        iso(now - 31 * 86_400_000),
        iso(now - 31 * 86_400_000),
        iso(now - 31 * 86_400_000),
      ),
    ]);
    const sent: Sent[] = [];
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController(), recordingEnv(sent), ctx);
    await waitOnExecutionContext(ctx);
    const rows = await deliveryRows(created.id);
    expect(rows.map((r) => r.event_id)).toEqual([event.id]);
    expect(rows[0].queued_at).toBeTruthy();
    expect(deliveryMessages(sent).map((s) => s.body)).toContainEqual({ delivery_id: rows[0].id, tenant_id: t.id });
  });
});
