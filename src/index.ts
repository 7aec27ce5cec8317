import { createApp } from "./app";
import { runJobs } from "./modules/jobs/runner";
import { type JobMessage, requeueUnsentJobs } from "./modules/jobs/service";
import { sweepExpiredUploads } from "./modules/media/service";
import { sweepEmails } from "./modules/notifications/email";
import { abandonExpiredSessions } from "./modules/packages/xapi-launch";
import { deadLetterDeliveries, deliverWebhooks, fanOutEvents } from "./modules/webhooks/consumers";
import { type DeliveryMessage, pruneDeliveries, QUEUES, requeueStalledDeliveries } from "./modules/webhooks/queue";
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
   * EVENTS: the outbox's domain events, fanned out to webhook endpoints. WEBHOOK_DELIVERIES: one message per
   * event and endpoint, sent signed and retried; its dead letters are marked failed. JOBS: background jobs
   * (src/modules/jobs, one message per job row). Messages of any other queue are acknowledged.
   */
  async queue(batch: MessageBatch<unknown>, env: Env) {
    switch (batch.queue) {
      case QUEUES.events:
        return fanOutEvents(batch as MessageBatch<EventMessage>, env);
      case QUEUES.deliveries:
        return deliverWebhooks(batch as MessageBatch<DeliveryMessage>, env);
      case QUEUES.deliveriesDeadLetter:
        return deadLetterDeliveries(batch as MessageBatch<DeliveryMessage>, env);
      case QUEUES.jobs:
        return runJobs(batch as MessageBatch<JobMessage>, env);
      default:
        batch.ackAll();
    }
  },

  /**
   * Every minute: send outbox rows whose send after commit failed (nothing is lost), queue deliveries whose
   * message was never sent, drop delivery logs past their retention, and send due emails of the email outbox.
   */
  async scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext) {
    const db = createDb(env.DB);
    const log = (what: string) => (err: unknown) =>
      console.error(JSON.stringify({ level: "error", message: `${what} failed`, error: String(err) }));
    ctx.waitUntil(
      Promise.all([
        flushOutbox(env, db, undefined, 500).catch(log("outbox sweep")),
        requeueStalledDeliveries(env, db).catch(log("delivery re-queue")),
        pruneDeliveries(db).catch(log("delivery pruning")),
        requeueUnsentJobs(env, db).catch(log("job re-queue")),
        sweepEmails(env, db).catch(log("email outbox sweep")),
        abandonExpiredSessions(env, db).catch(log("cmi5 abandon sweep")),
        sweepExpiredUploads(env, db).catch(log("expired media upload sweep")),
      ]),
    );
  },
} satisfies ExportedHandler<Env, unknown>;
