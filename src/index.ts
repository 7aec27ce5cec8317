import { createApp } from "./app";
import { createDb } from "./platform/db";
import type { Env, EventMessage } from "./platform/env";
import { problemBody } from "./platform/errors";
import { flushOutbox } from "./platform/events";

export { DiscussionRoom } from "./durable/discussion-room";
export { QuizAttempt } from "./durable/quiz-attempt";
export { RateLimiter } from "./durable/rate-limiter";

const app = createApp();

export default {
  /** app.onError handles every Error; this catches the rest (libraries that throw non-Error values). */
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    try {
      return await app.fetch(request, env, ctx);
    } catch (err) {
      const requestId = crypto.randomUUID();
      console.error(
        JSON.stringify({ level: "error", request_id: requestId, error: String((err as Error)?.message ?? err) }),
      );
      const body = problemBody(
        500,
        "An unexpected error occurred. Quote the request id when you report it.",
        new URL(request.url).pathname,
        requestId,
      );
      return new Response(JSON.stringify(body), {
        status: 500,
        headers: { "Content-Type": "application/problem+json", "X-Request-Id": requestId },
      });
    }
  },

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
