import { and, eq, sql } from "drizzle-orm";
import { createDb } from "../../platform/db";
import type { Db, Env } from "../../platform/env";
import { nowIso } from "../../platform/time";
import { JobFailure } from "./errors";
import { JOB_HANDLERS } from "./handlers";
import type { JobMessage } from "./service";
import { jobs } from "./tables";

/** Tries per job (the first run and retries); keep in step with `max_retries` of the JOBS consumer (+1). */
export const JOB_MAX_ATTEMPTS = 6;

/** Growing delay between tries of a job that failed transiently: 10 s, 20 s, 40 s, ... capped at 5 min. */
export function jobRetryDelay(attempt: number): number {
  return Math.min(300, 10 * 2 ** (attempt - 1));
}

const ERROR_LIMIT = 2000;

async function finish(db: Db, tenantId: number, id: number, values: Partial<typeof jobs.$inferInsert>) {
  const now = nowIso();
  await db
    .update(jobs)
    .set({ ...values, finishedAt: now, updatedAt: now })
    .where(and(eq(jobs.tenantId, tenantId), eq(jobs.id, id)));
}

/**
 * The JOBS consumer. Each message names one job; finished jobs are skipped (a redelivered message does no work
 * twice), `JobFailure` fails the job with its reason, any other error is retried with backoff until the last try.
 */
export async function runJobs(batch: MessageBatch<JobMessage>, env: Env) {
  const db = createDb(env.DB);
  for (const message of batch.messages) {
    const { job_id: id, tenant_id: tenantId } = message.body;
    const [job] = await db
      .select()
      .from(jobs)
      .where(and(eq(jobs.tenantId, tenantId), eq(jobs.id, id)))
      .limit(1);
    if (!job || job.status === "succeeded" || job.status === "failed") {
      message.ack();
      continue;
    }
    const handler = JOB_HANDLERS[job.kind];
    if (!handler) {
      await finish(db, tenantId, id, { status: "failed", error: `Unknown job kind "${job.kind}".` });
      message.ack();
      continue;
    }
    const now = nowIso();
    await db
      .update(jobs)
      .set({
        status: "running",
        startedAt: job.startedAt ?? now,
        attempts: sql`${jobs.attempts} + 1`,
        error: null,
        updatedAt: now,
      })
      .where(and(eq(jobs.tenantId, tenantId), eq(jobs.id, id)));
    try {
      const result = await handler.run({
        jobId: id,
        tenantId,
        kind: job.kind,
        input: job.input,
        attempt: job.attempts + 1,
        env,
        db,
        async setProgress(done, total) {
          await db
            .update(jobs)
            .set({ progressDone: done, ...(total === undefined ? {} : { progressTotal: total }), updatedAt: nowIso() })
            .where(and(eq(jobs.tenantId, tenantId), eq(jobs.id, id)));
        },
      });
      await finish(db, tenantId, id, { status: "succeeded", result: result ?? null });
      message.ack();
    } catch (err) {
      const reason = String((err as Error)?.message ?? err).slice(0, ERROR_LIMIT);
      if (err instanceof JobFailure) {
        await finish(db, tenantId, id, { status: "failed", error: reason, result: err.details ?? null });
        message.ack();
      } else if (job.attempts + 1 >= JOB_MAX_ATTEMPTS) {
        await finish(db, tenantId, id, {
          status: "failed",
          error: `Gave up after ${job.attempts + 1} tries: ${reason}`,
        });
        message.ack();
      } else {
        console.error(JSON.stringify({ level: "warn", job_id: id, kind: job.kind, error: reason }));
        await db
          .update(jobs)
          .set({ status: "queued", error: reason, updatedAt: nowIso() })
          .where(and(eq(jobs.tenantId, tenantId), eq(jobs.id, id)));
        message.retry({ delaySeconds: jobRetryDelay(job.attempts + 1) });
      }
    }
  }
}
