import { createApp } from "./app";
import { flushOutbox } from "./platform/events";
import { createDb } from "./platform/db";
import type { Env, EventMessage } from "./platform/env";

export { DiscussionRoom } from "./durable/discussion-room";
export { QuizAttempt } from "./durable/quiz-attempt";

const app = createApp();

export default {
  fetch: app.fetch,

  /**
   * EVENTS: the outbox's domain events. Fan-out to webhook endpoints arrives with the webhooks module;
   * until then each event is acknowledged (it stays in the outbox table for later replay).
   */
  async queue(batch: MessageBatch<EventMessage>, _env: Env) {
    for (const message of batch.messages) message.ack();
  },

  /** Every minute: resend outbox rows whose send after commit failed (nothing is lost). */
  async scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext) {
    ctx.waitUntil(flushOutbox(env, createDb(env.DB), undefined, 500));
  },
} satisfies ExportedHandler<Env, EventMessage>;
