/**
 * Webhook receivers for the tests and a hand-driven queue. Receivers stand in for an integrator's server (an
 * external system, not Lectern): `fetch` of the Worker runs in the tests' isolate, so requests to
 * `http://127.0.0.1:9999/<path>` are answered here, in memory; anything else goes to the real fetch.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { expect, vi } from "vitest";
import worker from "../../src/index";

export const RECEIVER_ORIGIN = "http://127.0.0.1:9999";

export interface Received {
  path: string;
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  status: number;
}

type Answer = (request: Received, nth: number) => number | Response | Promise<number | Response>;

const answers = new Map<string, Answer>();
export const received: Received[] = [];
let installed = false;

/** Routes loopback requests to the receivers registered with `receiver()`. Idempotent. */
export function installReceivers() {
  if (installed) return;
  installed = true;
  const realFetch = globalThis.fetch.bind(globalThis);
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.origin !== RECEIVER_ORIGIN) return realFetch(input, init);
    const record: Received = {
      path: url.pathname,
      id: request.headers.get("webhook-id") ?? "",
      timestamp: request.headers.get("webhook-timestamp") ?? "",
      signature: request.headers.get("webhook-signature") ?? "",
      body: await request.text(),
      status: 0,
    };
    const answer = answers.get(url.pathname) ?? (() => 200);
    const nth = received.filter((r) => r.path === url.pathname).length;
    received.push(record);
    const result = await answer(record, nth);
    const response = typeof result === "number" ? new Response(`answer ${result}`, { status: result }) : result;
    record.status = response.status;
    return response;
  });
}

let counter = 0;

/** A receiver URL of its own; `answer` decides each response (default 200). */
export function receiver(answer: Answer = () => 200) {
  const path = `/hooks/${Date.now().toString(36)}-${counter++}`;
  answers.set(path, answer);
  return {
    url: `${RECEIVER_ORIGIN}${path}`,
    path,
    set(next: Answer) {
      answers.set(path, next);
    },
    requests: () => received.filter((r) => r.path === path),
  };
}

/** Verifies a received request with the `standardwebhooks` library; answers the parsed envelope. */
export function verify(secret: string, request: Received) {
  return new Webhook(secret).verify(request.body, {
    "webhook-id": request.id,
    "webhook-timestamp": request.timestamp,
    "webhook-signature": request.signature,
  }) as {
    id: number;
    type: string;
    version: number;
    tenant_id: number;
    occurred_at: string;
    data: Record<string, unknown>;
  };
}

export async function until<T>(check: () => Promise<T | undefined | false> | T | undefined | false, ms = 8000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// ---- a hand-driven queue ---------------------------------------------------------------------------------------

export interface Sent {
  queue: string;
  body: { delivery_id: number; tenant_id: number; offset?: number } & Record<string, unknown>;
  delaySeconds?: number;
}

/**
 * A producer that records what the Worker sends, so a test decides when each message is consumed (a virtual
 * clock for retries) and the real consumers of the local queues never see it. `failEvery` makes sends fail.
 */
export function recordingQueue(name: string, sent: Sent[], shouldFail: () => boolean = () => false) {
  return {
    async send(body: unknown, options?: { delaySeconds?: number }) {
      if (shouldFail()) throw new Error(`${name}: send failed (simulated)`);
      sent.push({ queue: name, body: body as Sent["body"], delaySeconds: options?.delaySeconds });
    },
    async sendBatch(messages: Iterable<{ body: unknown; delaySeconds?: number }>) {
      if (shouldFail()) throw new Error(`${name}: sendBatch failed (simulated)`);
      for (const m of messages) sent.push({ queue: name, body: m.body as Sent["body"], delaySeconds: m.delaySeconds });
    },
  };
}

/** The tests' env with EVENTS and WEBHOOK_DELIVERIES replaced by recorders. */
export function recordingEnv(sent: Sent[], failures: { events?: () => boolean; deliveries?: () => boolean } = {}) {
  return {
    ...env,
    EVENTS: recordingQueue("lectern-events", sent, failures.events),
    WEBHOOK_DELIVERIES: recordingQueue("lectern-webhook-deliveries", sent, failures.deliveries),
  } as unknown as typeof env;
}

let messageCounter = 0;

/** Runs the Worker's `queue` handler on one batch; answers what it acked and retried. */
export async function runQueue(
  queue: string,
  messages: { body: unknown; attempts?: number }[],
  testEnv: typeof env = env,
) {
  const batch = createMessageBatch(
    queue,
    messages.map((m) => ({
      id: `m${messageCounter++}`,
      timestamp: new Date(),
      attempts: m.attempts ?? 1,
      body: m.body,
    })),
  );
  // The pool's messages record a retry but not its options: keep the delays asked for.
  const delays = new Map<string, number | undefined>();
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    Object.defineProperty(message, "retry", {
      value: (options?: QueueRetryOptions) => {
        delays.set(message.id, options?.delaySeconds);
        retry(options);
      },
    });
  }
  let batchDelay: number | undefined;
  const retryAll = batch.retryAll.bind(batch);
  Object.defineProperty(batch, "retryAll", {
    value: (options?: QueueRetryOptions) => {
      batchDelay = options?.delaySeconds;
      retryAll(options);
    },
  });
  const ctx = createExecutionContext();
  await worker.queue(batch, testEnv);
  const result = await getQueueResult(batch, ctx);
  const ids = batch.messages.map((m) => m.id);
  const retried = new Set(result.retryMessages.map((r: { msgId: string }) => r.msgId));
  const acked = new Set(result.explicitAcks);
  return {
    result,
    acked: ids.map((id) => result.ackAll || acked.has(id)),
    retried: ids.map((id) =>
      result.retryBatch.retry
        ? { delaySeconds: batchDelay }
        : retried.has(id)
          ? { delaySeconds: delays.get(id) }
          : null,
    ),
  };
}

/** An outbox row written straight to D1 and marked sent, so no after-commit send or sweep picks it up. */
export async function insertEvent(tenantId: number, type: string, data: Record<string, unknown>, sent = true) {
  const now = new Date().toISOString();
  const row = await env.DB.prepare(
    "INSERT INTO outbox (tenant_id, type, data, occurred_at, sent_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
  )
    .bind(tenantId, type, JSON.stringify(data), now, sent ? now : null)
    .first<{ id: number }>();
  expect(row).toBeTruthy();
  return { id: (row as { id: number }).id, tenant_id: tenantId, type };
}

/** Waits until no outbox row of the tenant (or of anyone) is unsent: after-commit sends have all run. */
export async function settleOutbox(tenantId?: number) {
  await until(async () => {
    const row = await env.DB.prepare(
      `SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL${tenantId === undefined ? "" : " AND tenant_id = ?"}`,
    )
      .bind(...(tenantId === undefined ? [] : [tenantId]))
      .first<{ n: number }>();
    return row?.n === 0;
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
}
