/**
 * What the QuizAttempt Durable Object writes to D1 when an attempt ends (and what manual grading reuses): the
 * attempt's result, its graded answers and events in one batch, then the module status through the progress
 * contract (`recordGradedResult`). Every step is idempotent, because alarms and retries are at-least-once.
 */
import { and, eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { TenantContext } from "../../platform/auth";
import { chunk, createDb } from "../../platform/db";
import type { Db, Env } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { flushOutbox, outboxInsert } from "../../platform/events";
import { activityInsert } from "../activities/service";
import { onlyIf, recordGradedResult } from "../progress/service";
import type { Answer, FrozenQuestion } from "./grading";
import { totals } from "./grading";
import { quizAttemptAnswers, quizAttempts } from "./tables";

type Batch = [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];

export interface AttemptMeta {
  tenantId: number;
  attemptId: number;
  userId: number;
  moduleId: number;
  courseId: number;
  placementId: number;
  enrollmentId: number;
  number: number;
  startedAt: string;
  deadlineAt: string | null;
  settings: {
    forceSequential: boolean;
    realTimeGrading: boolean;
    showCorrectAnswers: "always" | "never" | "not_till_retake_allowed";
    passPercent: number;
  };
}

export interface GradedAnswer {
  question: FrozenQuestion;
  answer: Answer | null;
  correct: boolean | null;
  score: number | null;
}

/** A tenant context for work that runs outside a request (the attempt's object, its alarm). */
export function systemContext(env: Env, tenantId: number, db: Db = createDb(env.DB)): TenantContext {
  return {
    tenantId,
    db,
    env,
    principal: { kind: "platform" },
    defer: (work) => {
      work.catch((err) => console.error("deferred work failed", err));
    },
  };
}

/** The events of an attempt ending, as data. */
function eventData(meta: AttemptMeta, extra: Record<string, unknown>) {
  return {
    id: meta.attemptId,
    module_id: meta.moduleId,
    course_id: meta.courseId,
    placement_id: meta.placementId,
    enrollment_id: meta.enrollmentId,
    user_id: meta.userId,
    number: meta.number,
    ...extra,
  };
}

/**
 * One batch: the `quiz_attempt.submitted` (and, with nothing left to grade by hand, `quiz_attempt.graded`) events
 * and the activity, guarded so only the batch that ends the attempt records them; the answers (kept if already
 * there); the attempt's result, only while it is still in progress.
 */
export async function finalizeAttempt(
  env: Env,
  meta: AttemptMeta,
  graded: GradedAnswer[],
  submittedBy: "learner" | "deadline",
  now: string,
) {
  const db = createDb(env.DB);
  const t = meta.tenantId;
  const result = totals(
    graded.map((g) => ({ score: g.score, maxScore: g.question.points })),
    meta.settings.passPercent,
  );
  const status = result.pending ? "pending_review" : "graded";
  const stillRunning = sql`EXISTS (SELECT 1 FROM quiz_attempts WHERE tenant_id = ${t} AND id = ${meta.attemptId} AND status = 'in_progress')`;
  const summary = {
    status,
    submitted_by: submittedBy,
    score: result.score,
    max_score: result.maxScore,
    percent: result.percent,
    passed: result.passed,
  };
  const rows = graded.map((g) => ({
    tenantId: t,
    attemptId: meta.attemptId,
    moduleId: meta.moduleId,
    questionId: g.question.id,
    position: g.question.position,
    questionType: g.question.type,
    question: g.question as unknown as Record<string, unknown>,
    answer: g.answer,
    correct: g.correct,
    score: g.score,
    maxScore: g.question.points,
    gradedAt: g.score === null ? null : now,
  }));
  const statements: BatchItem<"sqlite">[] = [
    onlyIf(db, outboxInsert(db, t, "quiz_attempt.submitted", eventData(meta, summary)), stillRunning),
    ...(result.pending
      ? []
      : [onlyIf(db, outboxInsert(db, t, "quiz_attempt.graded", eventData(meta, summary)), stillRunning)]),
    onlyIf(
      db,
      activityInsert(db, t, {
        type: "quiz_attempt.submitted",
        userId: meta.userId,
        courseId: meta.courseId,
        placementId: meta.placementId,
        actor: submittedBy === "learner" ? "learner" : "system",
        data: { attempt_id: meta.attemptId, module_id: meta.moduleId, ...summary },
      }),
      stillRunning,
    ),
    ...chunk(rows, 12).map((part) => db.insert(quizAttemptAnswers).values(part).onConflictDoNothing()),
    db
      .update(quizAttempts)
      .set({
        status,
        submittedBy,
        submittedAt: now,
        gradedAt: result.pending ? null : now,
        score: result.score,
        maxScore: result.maxScore,
        percent: result.percent,
        passed: result.passed,
        updatedAt: now,
      })
      .where(
        and(eq(quizAttempts.tenantId, t), eq(quizAttempts.id, meta.attemptId), eq(quizAttempts.status, "in_progress")),
      ),
  ];
  await db.batch(statements as Batch);
}

/**
 * The attempt's result as the module's status (passed / failed / submitted while essays wait), through the
 * progress contract; an enrollment removed meanwhile leaves nothing to record. Sends the attempt's events on.
 */
export async function recordAttemptResult(env: Env, meta: { tenantId: number; attemptId: number }) {
  const ctx = systemContext(env, meta.tenantId);
  const [row] = await ctx.db
    .select()
    .from(quizAttempts)
    .where(and(eq(quizAttempts.tenantId, meta.tenantId), eq(quizAttempts.id, meta.attemptId)))
    .limit(1);
  if (!row || row.status === "in_progress") return;
  try {
    await recordGradedResult(ctx, {
      enrollmentId: row.enrollmentId,
      placementId: row.placementId,
      score: row.score ?? 0,
      maxScore: row.maxScore ?? 0,
      passed: row.status === "pending_review" ? null : (row.passed ?? false),
    });
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  await flushOutbox(env, ctx.db, meta.tenantId).catch((err) => console.error("outbox flush failed", err));
}
