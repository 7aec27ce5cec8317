/**
 * The learner side of quiz attempts. Start freezes the questions into a new QuizAttempt Durable Object; after
 * that, state, answers and submit go to that object (an answer touches nothing but it); results come from D1.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { AnswerFeedback, LiveView, QuizAttempt, Refusal } from "../../durable/quiz-attempt";
import type { LearnerPrincipal, TenantContext } from "../../platform/auth";
import type { Env } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { outboxInsertFor } from "../../platform/events";
import { nowIso } from "../../platform/time";
import { activityInsert } from "../activities/service";
import { assertPlacementOpen } from "../progress/service";
import { questionRows } from "../questions/service";
import { questionCategories } from "../questions/tables";
import type { AttemptMeta } from "./finalize";
import { type Answer, type FrozenQuestion, freeze, shuffle } from "./grading";
import { attemptsAllowed, learnerResult, type QuizSettings, quizSettings, timeLimitSeconds } from "./service";
import { quizAttempts, quizQuestions } from "./tables";

type LearnerCtx = TenantContext<LearnerPrincipal>;
type Batch = [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];

/** The attempt's object: named by tenant and attempt, so another academy's id reaches an empty object (404). */
export function attemptStub(env: Env, tenantId: number, attemptId: number) {
  const ns = env.QUIZ_ATTEMPT as unknown as DurableObjectNamespace<QuizAttempt>;
  return ns.get(ns.idFromName(`${tenantId}:${attemptId}`));
}

function unwrap(result: unknown): unknown {
  if (result && typeof result === "object" && "refused" in (result as object)) {
    const r = (result as Refusal).refused;
    if (r.status === 422 && r.errors) throw ApiError.validation(r.errors, r.detail);
    if (r.status === 429) throw ApiError.tooManyRequests(r.retryAfter ?? 60, r.detail);
    throw new ApiError(r.status, r.detail);
  }
  return result;
}

/** The questions of a new attempt: the static list, or each dynamic rule's random draw from its category. */
async function drawQuestions(ctx: LearnerCtx, moduleId: number, s: QuizSettings) {
  const t = ctx.tenantId;
  let ids: number[];
  if (s.selection === "static") {
    const rows = await ctx.db
      .select({ id: quizQuestions.questionId })
      .from(quizQuestions)
      .where(and(eq(quizQuestions.tenantId, t), eq(quizQuestions.moduleId, moduleId)))
      .orderBy(asc(quizQuestions.position));
    ids = rows.map((r) => r.id);
  } else {
    // Only the category index is read: never the bank. One statement per rule, in one batch.
    const draws = s.question_rules.map((rule) =>
      ctx.db
        .select({ question_id: questionCategories.questionId })
        .from(questionCategories)
        .where(and(eq(questionCategories.tenantId, t), eq(questionCategories.categoryId, rule.category_id)))
        .orderBy(sql`random()`)
        .limit(rule.count * 2),
    );
    const results = (await ctx.db.batch(draws as unknown as Batch)) as unknown as { question_id: number }[][];
    const picked = new Set<number>();
    s.question_rules.forEach((rule, i) => {
      // A question in two ruled categories counts once: each rule takes its count of questions not yet drawn.
      const fresh = results[i].map((r) => r.question_id).filter((id) => !picked.has(id));
      if (fresh.length < rule.count) {
        throw ApiError.conflict(
          `This quiz draws ${rule.count} questions from category ${rule.category_id}, which has only ${fresh.length} to draw from. Add questions to the category or lower the rule's count.`,
          { category_id: rule.category_id, needed: rule.count, available: fresh.length },
        );
      }
      for (const id of fresh.slice(0, rule.count)) picked.add(id);
    });
    ids = [...picked];
  }
  if (ids.length === 0) throw ApiError.conflict(`Quiz ${moduleId} has no questions yet.`);
  const byId = new Map((await questionRows(ctx, ids)).map((q) => [q.id, q]));
  const ordered = ids.flatMap((id) => (byId.has(id) ? [byId.get(id) as NonNullable<ReturnType<typeof byId.get>>] : []));
  const order = s.shuffle_questions || s.selection === "dynamic" ? shuffle(ordered) : ordered;
  return order.map((q, i) => freeze(q, i + 1, s.shuffle_answers));
}

export interface StartInput {
  course_id: number;
  placement_id: number;
}

/**
 * Starts an attempt at a quiz placement: the same access rules as launch, the availability window, the retake
 * limit, then the frozen questions go into the attempt's own Durable Object, which sets its deadline alarm.
 * An attempt already in progress at that placement is answered instead (201 new, 200 resumed).
 */
export async function startAttempt(ctx: LearnerCtx, moduleId: number, input: StartInput) {
  const open = await assertPlacementOpen(ctx, input.course_id, input.placement_id);
  if (open.placement.module_id !== moduleId || open.placement.module.type !== "quiz") {
    throw ApiError.notFound(`Quiz ${moduleId} in placement ${input.placement_id}`);
  }
  const s = quizSettings(open.placement.module.settings);
  const t = ctx.tenantId;
  const userId = ctx.principal.userId;
  const now = nowIso();
  if (s.available_from && now < new Date(s.available_from).toISOString()) {
    throw ApiError.conflict(`This quiz opens at ${new Date(s.available_from).toISOString()}.`);
  }
  if (s.available_until && now >= new Date(s.available_until).toISOString()) {
    throw ApiError.conflict(`This quiz closed at ${new Date(s.available_until).toISOString()}.`);
  }
  const previous = await ctx.db
    .select({ id: quizAttempts.id, number: quizAttempts.number, status: quizAttempts.status })
    .from(quizAttempts)
    .where(
      and(
        eq(quizAttempts.tenantId, t),
        eq(quizAttempts.enrollmentId, open.enrollmentId),
        eq(quizAttempts.placementId, input.placement_id),
      ),
    );
  const running = previous.find((p) => p.status === "in_progress");
  if (running) return { resumed: true, attempt: await attemptState(ctx, running.id) };
  const allowed = attemptsAllowed(s);
  if (allowed !== null && previous.length >= allowed) {
    throw ApiError.conflict(
      `No attempts left: this quiz allows ${allowed} attempt${allowed === 1 ? "" : "s"} and ${previous.length} ${previous.length === 1 ? "was" : "were"} made.`,
      { attempts_used: previous.length, attempts_allowed: allowed },
    );
  }
  const questions = await drawQuestions(ctx, moduleId, s);
  const limit = timeLimitSeconds(s);
  const ends = [
    limit > 0 ? Date.parse(now) + limit * 1000 : undefined,
    s.available_until ? Date.parse(s.available_until) : undefined,
  ].filter((v): v is number => v !== undefined);
  const deadlineAt = ends.length ? new Date(Math.min(...ends)).toISOString() : null;
  const number = Math.max(0, ...previous.map((p) => p.number)) + 1;
  let attemptId: number;
  try {
    const [inserted] = await ctx.db.batch([
      ctx.db
        .insert(quizAttempts)
        .values({
          tenantId: t,
          moduleId,
          courseId: input.course_id,
          placementId: input.placement_id,
          enrollmentId: open.enrollmentId,
          userId,
          number,
          status: "in_progress",
          questionCount: questions.length,
          startedAt: now,
          deadlineAt,
          updatedAt: now,
        })
        .returning({ id: quizAttempts.id }),
      outboxInsertFor(
        ctx.db,
        t,
        "quiz_attempt.started",
        // the new attempt's id, by its unique key (the row is inserted just before, in the same batch)
        sql`(SELECT id FROM quiz_attempts WHERE tenant_id = ${t} AND enrollment_id = ${open.enrollmentId}
             AND placement_id = ${input.placement_id} AND number = ${number})`,
        {
          module_id: moduleId,
          course_id: input.course_id,
          placement_id: input.placement_id,
          enrollment_id: open.enrollmentId,
          user_id: userId,
          number,
          deadline_at: deadlineAt,
        },
      ),
      activityInsert(ctx.db, t, {
        type: "quiz_attempt.started",
        userId,
        courseId: input.course_id,
        placementId: input.placement_id,
        data: { module_id: moduleId, number },
      }),
    ]);
    attemptId = (inserted as { id: number }[])[0].id;
  } catch (err) {
    if (err instanceof Error && /UNIQUE constraint failed/i.test(`${err.message} ${(err.cause as Error)?.message}`)) {
      throw ApiError.conflict("Another attempt at this quiz started at the same moment; reload your attempts.");
    }
    throw err;
  }
  const meta: AttemptMeta = {
    tenantId: t,
    attemptId,
    userId,
    moduleId,
    courseId: input.course_id,
    placementId: input.placement_id,
    enrollmentId: open.enrollmentId,
    number,
    startedAt: now,
    deadlineAt,
    settings: {
      forceSequential: s.force_sequential,
      realTimeGrading: s.real_time_grading,
      showCorrectAnswers: s.show_correct_answers,
      passPercent: s.pass_percent,
    },
  };
  try {
    await attemptStub(ctx.env, t, attemptId).init(meta, questions as FrozenQuestion[]);
  } catch (err) {
    // Nothing half-started: without its object the attempt row would be a dead attempt counting against retakes.
    await ctx.db
      .delete(quizAttempts)
      .where(and(eq(quizAttempts.tenantId, t), eq(quizAttempts.id, attemptId)))
      .catch(() => undefined);
    throw err;
  }
  return { resumed: false, attempt: await attemptState(ctx, attemptId) };
}

/**
 * An attempt as its learner sees it: while running, the object's live state (questions without keys, saved
 * answers, time left: the same on any device); once finished, the result from D1 under the quiz's rules.
 */
export async function attemptState(ctx: LearnerCtx, attemptId: number) {
  const [row] = await ctx.db
    .select({ status: quizAttempts.status })
    .from(quizAttempts)
    .where(
      and(
        eq(quizAttempts.tenantId, ctx.tenantId),
        eq(quizAttempts.id, attemptId),
        eq(quizAttempts.userId, ctx.principal.userId),
      ),
    )
    .limit(1);
  if (!row) throw ApiError.notFound(`Attempt ${attemptId}`);
  if (row.status === "in_progress") {
    const live = unwrap(
      await attemptStub(ctx.env, ctx.tenantId, attemptId).state(ctx.tenantId, ctx.principal.userId),
    ) as LiveView;
    if (live.status === "in_progress") {
      const result = await learnerResult(ctx, attemptId, ctx.principal.userId);
      const { questions: _ignored, ...summary } = result;
      return { ...summary, ...live, status: "in_progress" as const };
    }
  }
  return learnerResult(ctx, attemptId, ctx.principal.userId);
}

/** Saves one answer: only the attempt's object is touched (no D1 statement). */
export async function saveAnswer(ctx: LearnerCtx, attemptId: number, questionId: number, answer: Answer) {
  return unwrap(
    await attemptStub(ctx.env, ctx.tenantId, attemptId).answer(
      ctx.tenantId,
      ctx.principal.userId,
      questionId,
      answer,
      ctx.principal.writesPerMinute,
    ),
  ) as { question_id: number; saved_at: string; feedback: AnswerFeedback | null };
}

/** Submits (idempotent: submitting again answers the same result). */
export async function submitAttempt(ctx: LearnerCtx, attemptId: number) {
  const [row] = await ctx.db
    .select({ status: quizAttempts.status })
    .from(quizAttempts)
    .where(
      and(
        eq(quizAttempts.tenantId, ctx.tenantId),
        eq(quizAttempts.id, attemptId),
        eq(quizAttempts.userId, ctx.principal.userId),
      ),
    )
    .limit(1);
  if (!row) throw ApiError.notFound(`Attempt ${attemptId}`);
  unwrap(await attemptStub(ctx.env, ctx.tenantId, attemptId).submit(ctx.tenantId, ctx.principal.userId, "learner"));
  return learnerResult(ctx, attemptId, ctx.principal.userId);
}
