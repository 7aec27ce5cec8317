/**
 * Quizzes (quiz modules): their settings, their static question list, and the results side of attempts shared by
 * learners and staff (results with the visibility rules, admin lists, manual grading, analysis). The running
 * attempt itself lives in the QuizAttempt Durable Object (src/durable/quiz-attempt.ts; learner side: attempts.ts).
 */
import { and, asc, count, eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { TenantContext } from "../../platform/auth";
import { chunk } from "../../platform/db";
import { ApiError, type FieldError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { type ListParams, orderBy, paginate } from "../../platform/pagination";
import { nowIso } from "../../platform/time";
import { QuizModuleSettings } from "../content-modules/schemas";
import { contentModules } from "../content-modules/tables";
import { questionRows, toQuestion } from "../questions/service";
import { users } from "../users/tables";
import { recordAttemptResult } from "./finalize";
import { type Answer, correctAnswer, type FrozenQuestion, present, totals } from "./grading";
import { quizAttemptAnswers, quizAttempts, quizQuestions } from "./tables";

type Batch = [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];
export type QuizSettings = ReturnType<typeof QuizModuleSettings.parse>;
type AttemptRow = typeof quizAttempts.$inferSelect;
type AnswerRow = typeof quizAttemptAnswers.$inferSelect;

/** A module's quiz settings with defaults filled (stored settings were validated when written). */
export function quizSettings(settings: Record<string, unknown>): QuizSettings {
  const parsed = QuizModuleSettings.safeParse(settings);
  return parsed.success ? parsed.data : QuizModuleSettings.parse({});
}

export function timeLimitSeconds(s: QuizSettings) {
  return (s.time_limit_hours * 60 + s.time_limit_minutes) * 60;
}

/** Attempts a learner may make at a placement: null = unlimited. */
export function attemptsAllowed(s: QuizSettings): number | null {
  if (!s.allow_retakes) return 1;
  return s.retakes_allowed === 0 ? null : 1 + s.retakes_allowed;
}

export async function findQuiz(ctx: TenantContext, moduleId: number) {
  const [row] = await ctx.db
    .select()
    .from(contentModules)
    .where(and(eq(contentModules.tenantId, ctx.tenantId), eq(contentModules.id, moduleId)))
    .limit(1);
  if (!row) throw ApiError.notFound(`Module ${moduleId}`);
  if (row.type !== "quiz") throw ApiError.notFound(`Quiz module ${moduleId}`);
  return { ...row, quiz: quizSettings(row.settings) };
}

// ---- the static question list ------------------------------------------------------------------------------------

export async function getQuizQuestions(ctx: TenantContext, moduleId: number) {
  const quiz = await findQuiz(ctx, moduleId);
  const rows = await ctx.db
    .select({ questionId: quizQuestions.questionId })
    .from(quizQuestions)
    .where(and(eq(quizQuestions.tenantId, ctx.tenantId), eq(quizQuestions.moduleId, moduleId)))
    .orderBy(asc(quizQuestions.position));
  const ids = rows.map((r) => r.questionId);
  const byId = new Map((await questionRows(ctx, ids)).map((q) => [q.id, q]));
  const questions = ids.flatMap((id) => {
    const q = byId.get(id);
    return q ? [toQuestion(q, [], [moduleId])] : [];
  });
  const rules = await ruleAvailability(ctx, quiz.quiz.question_rules);
  return {
    module_id: moduleId,
    selection: quiz.quiz.selection,
    question_ids: ids,
    total_points: questions.reduce((s, q) => s + (q.points as number), 0),
    questions: questions.map((q) => ({ id: q.id, type: q.type, title: q.title, points: q.points })),
    question_rules: rules,
  };
}

/** Each dynamic rule with how many questions its category holds (one grouped statement). */
async function ruleAvailability(ctx: TenantContext, rules: { category_id: number; count: number }[]) {
  if (rules.length === 0) return [];
  const counts = await ctx.db.all<{ category_id: number; n: number }>(
    sql`SELECT category_id, count(*) AS n FROM question_categories WHERE tenant_id = ${ctx.tenantId}
        AND category_id IN (SELECT value FROM json_each(${JSON.stringify(rules.map((r) => r.category_id))}))
        GROUP BY category_id`,
  );
  const byCat = new Map(counts.map((c) => [c.category_id, c.n]));
  return rules.map((r) => ({ ...r, available: byCat.get(r.category_id) ?? 0 }));
}

/** Replaces a quiz's chosen questions (in order) atomically. */
export async function setQuizQuestions(ctx: TenantContext, moduleId: number, questionIds: number[]) {
  await findQuiz(ctx, moduleId);
  const found = new Set((await questionRows(ctx, questionIds)).map((q) => q.id));
  const errors: FieldError[] = [];
  const seen = new Set<number>();
  questionIds.forEach((id, i) => {
    if (!found.has(id))
      errors.push({ path: `question_ids.${i}`, message: `Question ${id} is not a question of this academy.` });
    else if (seen.has(id)) errors.push({ path: `question_ids.${i}`, message: `Question ${id} is listed twice.` });
    seen.add(id);
  });
  if (errors.length) throw ApiError.validation(errors);
  const t = ctx.tenantId;
  const now = nowIso();
  await ctx.db.batch([
    ctx.db.delete(quizQuestions).where(and(eq(quizQuestions.tenantId, t), eq(quizQuestions.moduleId, moduleId))),
    ...chunk(
      questionIds.map((questionId, i) => ({ tenantId: t, moduleId, questionId, position: i + 1 })),
      4,
    ).map((part) => ctx.db.insert(quizQuestions).values(part)),
    ctx.db
      .update(contentModules)
      .set({ updatedAt: now })
      .where(and(eq(contentModules.tenantId, t), eq(contentModules.id, moduleId))),
    outboxInsert(ctx.db, t, "quiz.questions_updated", { module_id: moduleId, question_ids: questionIds }),
  ] as Batch);
  return getQuizQuestions(ctx, moduleId);
}

// ---- results -----------------------------------------------------------------------------------------------------

function attemptSummary(row: AttemptRow) {
  return {
    id: row.id,
    module_id: row.moduleId,
    course_id: row.courseId,
    placement_id: row.placementId,
    enrollment_id: row.enrollmentId,
    user_id: row.userId,
    number: row.number,
    status: row.status,
    submitted_by: row.submittedBy,
    question_count: row.questionCount,
    started_at: row.startedAt,
    deadline_at: row.deadlineAt,
    submitted_at: row.submittedAt,
    graded_at: row.gradedAt,
    score: row.score,
    max_score: row.maxScore,
    percent: row.percent,
    passed: row.passed,
  };
}

export type AttemptSummary = ReturnType<typeof attemptSummary>;

function answerStatus(a: AnswerRow) {
  if (a.score === null) return "pending_review" as const;
  if (a.answer === null) return "unanswered" as const;
  if (a.correct) return "correct" as const;
  return a.score > 0 ? ("partial" as const) : ("incorrect" as const);
}

/**
 * One answered question in results. Whether the right answers show follows the quiz's rule; staff see them always.
 */
function resultQuestion(a: AnswerRow, reveal: boolean) {
  const q = a.question as unknown as FrozenQuestion;
  return {
    ...present(q),
    answer: (a.answer as Answer | null) ?? null,
    status: answerStatus(a),
    correct: a.correct,
    score: a.score,
    max_score: a.maxScore,
    feedback: a.feedback,
    ...(reveal ? { correct_answer: correctAnswer(q), explanation: q.explanation } : {}),
  };
}

/** Reads an attempt, its answers, its quiz's settings and how many attempts the learner has made, in one batch. */
async function loadResult(ctx: TenantContext, attemptId: number, userId?: number) {
  const t = ctx.tenantId;
  const where = and(
    eq(quizAttempts.tenantId, t),
    eq(quizAttempts.id, attemptId),
    userId !== undefined ? eq(quizAttempts.userId, userId) : undefined,
  );
  const [attempts, answers, modules, used] = await ctx.db.batch([
    ctx.db.select().from(quizAttempts).where(where).limit(1),
    ctx.db
      .select()
      .from(quizAttemptAnswers)
      .where(
        and(
          eq(quizAttemptAnswers.tenantId, t),
          eq(quizAttemptAnswers.attemptId, attemptId),
          sql`EXISTS (SELECT 1 FROM quiz_attempts WHERE ${where})`,
        ),
      )
      .orderBy(asc(quizAttemptAnswers.position)),
    ctx.db
      .select({ settings: contentModules.settings })
      .from(contentModules)
      .where(
        and(
          eq(contentModules.tenantId, t),
          sql`${contentModules.id} = (SELECT module_id FROM quiz_attempts WHERE ${where})`,
        ),
      ),
    ctx.db
      .select({ n: count() })
      .from(quizAttempts)
      .where(
        and(
          eq(quizAttempts.tenantId, t),
          sql`(${quizAttempts.enrollmentId}, ${quizAttempts.placementId}) = (SELECT enrollment_id, placement_id FROM quiz_attempts WHERE ${where})`,
        ),
      ),
  ]);
  const row = attempts[0];
  if (!row) throw ApiError.notFound(`Attempt ${attemptId}`);
  const settings = quizSettings(modules[0]?.settings ?? {});
  const allowed = attemptsAllowed(settings);
  const attemptsUsed = used[0]?.n ?? 1;
  const canRetake = row.status !== "in_progress" && (allowed === null || attemptsUsed < allowed);
  return { row, answers, settings, allowed, attemptsUsed, canRetake };
}

function revealFor(settings: QuizSettings, canRetake: boolean) {
  if (settings.show_correct_answers === "always") return true;
  if (settings.show_correct_answers === "never") return false;
  return !canRetake;
}

/** A finished attempt as its learner sees it: scores and feedback, right answers only as the rules allow. */
export async function learnerResult(ctx: TenantContext, attemptId: number, userId: number) {
  const r = await loadResult(ctx, attemptId, userId);
  const reveal = revealFor(r.settings, r.canRetake);
  return {
    ...attemptSummary(r.row),
    pass_percent: r.settings.pass_percent,
    attempts_used: r.attemptsUsed,
    attempts_allowed: r.allowed,
    can_retake: r.canRetake,
    correct_answers_visible: reveal,
    questions: r.answers.map((a) => resultQuestion(a, reveal)),
  };
}

/** Staff view of an attempt: everything, right answers included. */
export async function adminAttempt(ctx: TenantContext, attemptId: number) {
  const r = await loadResult(ctx, attemptId);
  const [learner] = await ctx.db
    .select({ name: users.name, email: users.email })
    .from(users)
    .where(and(eq(users.tenantId, ctx.tenantId), eq(users.id, r.row.userId)))
    .limit(1);
  return {
    ...attemptSummary(r.row),
    learner: learner ? { id: r.row.userId, name: learner.name, email: learner.email } : null,
    pass_percent: r.settings.pass_percent,
    attempts_used: r.attemptsUsed,
    attempts_allowed: r.allowed,
    can_retake: r.canRetake,
    correct_answers_visible: true,
    questions: r.answers.map((a) => resultQuestion(a, true)),
  };
}

export interface AttemptListQuery extends ListParams {
  status?: AttemptRow["status"];
  user_id?: number;
  course_id?: number;
}

export async function listQuizAttempts(ctx: TenantContext, moduleId: number, query: AttemptListQuery) {
  await findQuiz(ctx, moduleId);
  return paginate<AttemptRow, AttemptSummary>(
    ctx.db,
    quizAttempts,
    and(
      eq(quizAttempts.tenantId, ctx.tenantId),
      eq(quizAttempts.moduleId, moduleId),
      query.status ? eq(quizAttempts.status, query.status) : undefined,
      query.user_id !== undefined ? eq(quizAttempts.userId, query.user_id) : undefined,
      query.course_id !== undefined ? eq(quizAttempts.courseId, query.course_id) : undefined,
    ),
    orderBy(
      query.sort,
      { started_at: quizAttempts.startedAt, submitted_at: quizAttempts.submittedAt, score: quizAttempts.score },
      quizAttempts.id,
    ),
    query,
    attemptSummary,
  );
}

export async function listMyAttempts(
  ctx: TenantContext,
  userId: number,
  moduleId: number,
  query: ListParams & { course_id?: number },
) {
  return paginate<AttemptRow, AttemptSummary>(
    ctx.db,
    quizAttempts,
    and(
      eq(quizAttempts.tenantId, ctx.tenantId),
      eq(quizAttempts.userId, userId),
      eq(quizAttempts.moduleId, moduleId),
      query.course_id !== undefined ? eq(quizAttempts.courseId, query.course_id) : undefined,
    ),
    orderBy(query.sort, { started_at: quizAttempts.startedAt }, quizAttempts.id),
    query,
    attemptSummary,
  );
}

// ---- manual grading ----------------------------------------------------------------------------------------------

export interface GradeInput {
  grades: { question_id: number; score: number; feedback?: string | null }[];
}

/**
 * Scores essays (and, to correct the machine, any answer) of a submitted attempt; recomputes the attempt, and its
 * module status through the progress contract. `quiz_attempt.graded` is emitted when nothing is left to grade.
 */
export async function gradeAttempt(ctx: TenantContext, attemptId: number, input: GradeInput) {
  const r = await loadResult(ctx, attemptId);
  if (r.row.status === "in_progress") {
    throw ApiError.conflict(`Attempt ${attemptId} is still in progress: it can be graded once submitted.`);
  }
  const byQuestion = new Map(r.answers.map((a) => [a.questionId, a]));
  const errors: FieldError[] = [];
  const seen = new Set<number>();
  input.grades.forEach((g, i) => {
    const a = byQuestion.get(g.question_id);
    if (!a)
      errors.push({
        path: `grades.${i}.question_id`,
        message: `Question ${g.question_id} is not part of this attempt.`,
      });
    else if (g.score > a.maxScore) {
      errors.push({ path: `grades.${i}.score`, message: `At most ${a.maxScore} (the question's points).` });
    } else if (seen.has(g.question_id)) {
      errors.push({ path: `grades.${i}.question_id`, message: `Question ${g.question_id} is graded twice.` });
    }
    seen.add(g.question_id);
  });
  if (errors.length) throw ApiError.validation(errors);
  const graderId = ctx.principal.kind === "staff" || ctx.principal.kind === "api_key" ? ctx.principal.userId : null;
  const now = nowIso();
  const given = new Map(input.grades.map((g) => [g.question_id, g]));
  const after = r.answers.map((a) => {
    const g = given.get(a.questionId);
    return g ? { score: g.score, maxScore: a.maxScore } : { score: a.score, maxScore: a.maxScore };
  });
  const result = totals(after, r.settings.pass_percent);
  const status = result.pending ? "pending_review" : "graded";
  const t = ctx.tenantId;
  const summary = {
    status,
    score: result.score,
    max_score: result.maxScore,
    percent: result.percent,
    passed: result.passed,
  };
  const statements: BatchItem<"sqlite">[] = input.grades.map((g) =>
    ctx.db
      .update(quizAttemptAnswers)
      .set({
        score: g.score,
        correct: g.score >= (byQuestion.get(g.question_id)?.maxScore ?? 0),
        feedback: g.feedback ?? null,
        gradedBy: graderId,
        gradedAt: now,
      })
      .where(
        and(
          eq(quizAttemptAnswers.tenantId, t),
          eq(quizAttemptAnswers.attemptId, attemptId),
          eq(quizAttemptAnswers.questionId, g.question_id),
        ),
      ),
  );
  statements.push(
    ctx.db
      .update(quizAttempts)
      .set({
        status,
        score: result.score,
        maxScore: result.maxScore,
        percent: result.percent,
        passed: result.passed,
        gradedAt: result.pending ? null : now,
        updatedAt: now,
      })
      .where(and(eq(quizAttempts.tenantId, t), eq(quizAttempts.id, attemptId))),
  );
  if (!result.pending) {
    statements.push(
      outboxInsert(ctx.db, t, "quiz_attempt.graded", {
        id: attemptId,
        module_id: r.row.moduleId,
        course_id: r.row.courseId,
        placement_id: r.row.placementId,
        enrollment_id: r.row.enrollmentId,
        user_id: r.row.userId,
        number: r.row.number,
        graded_by: graderId,
        ...summary,
      }),
    );
  }
  await ctx.db.batch(statements as Batch);
  await recordAttemptResult(ctx.env, { tenantId: t, attemptId });
  return adminAttempt(ctx, attemptId);
}

// ---- analysis ----------------------------------------------------------------------------------------------------

/**
 * Per question of a quiz's submitted attempts: answers, right answers, average score, and the answer
 * distribution (per option for choice questions, the ten most frequent answers otherwise). Two grouped statements.
 */
export async function quizAnalysis(ctx: TenantContext, moduleId: number) {
  const quiz = await findQuiz(ctx, moduleId);
  const t = ctx.tenantId;
  const dist = await ctx.db.all<{ question_id: number; answer: string; n: number }>(
    sql`SELECT question_id, answer, n FROM (
          SELECT question_id, answer, count(*) AS n,
                 row_number() OVER (PARTITION BY question_id ORDER BY count(*) DESC, answer) AS rank
          FROM quiz_attempt_answers WHERE tenant_id = ${t} AND module_id = ${moduleId} AND answer IS NOT NULL
          GROUP BY question_id, answer)
        WHERE rank <= 50`,
  );
  const [stats, attempts] = await ctx.db.batch([
    ctx.db
      .select({
        questionId: quizAttemptAnswers.questionId,
        question: sql<string>`max(${quizAttemptAnswers.question})`,
        answered: sql<number>`count(${quizAttemptAnswers.answer})`,
        total: count(),
        right: sql<number>`coalesce(sum(${quizAttemptAnswers.correct}), 0)`,
        avgScore: sql<number | null>`avg(${quizAttemptAnswers.score})`,
        maxScore: sql<number>`max(${quizAttemptAnswers.maxScore})`,
        pending: sql<number>`sum(CASE WHEN ${quizAttemptAnswers.score} IS NULL THEN 1 ELSE 0 END)`,
      })
      .from(quizAttemptAnswers)
      .where(and(eq(quizAttemptAnswers.tenantId, t), eq(quizAttemptAnswers.moduleId, moduleId)))
      .groupBy(quizAttemptAnswers.questionId),
    ctx.db
      .select({
        total: count(),
        avgPercent: sql<number | null>`avg(${quizAttempts.percent})`,
        passed: sql<number>`coalesce(sum(${quizAttempts.passed}), 0)`,
      })
      .from(quizAttempts)
      .where(
        and(
          eq(quizAttempts.tenantId, t),
          eq(quizAttempts.moduleId, moduleId),
          sql`${quizAttempts.status} != 'in_progress'`,
        ),
      ),
  ]);
  const byQuestion = new Map<number, { answer: string; n: number }[]>();
  for (const d of dist) {
    byQuestion.set(d.question_id, [...(byQuestion.get(d.question_id) ?? []), d]);
  }
  const round = (n: number | null) => (n === null ? null : Math.round(n * 100) / 100);
  const questions = (
    stats as {
      questionId: number;
      question: string;
      answered: number;
      total: number;
      right: number;
      avgScore: number | null;
      maxScore: number;
      pending: number;
    }[]
  )
    .map((s) => {
      const q = JSON.parse(s.question) as FrozenQuestion;
      const rows = byQuestion.get(s.questionId) ?? [];
      let distribution: { answer: Answer; label: string | null; count: number }[];
      if (q.type === "multiple_choice" || q.type === "multiple_correct" || q.type === "true_false") {
        const counts = new Map<string, number>();
        for (const r of rows) {
          const a = JSON.parse(r.answer) as Answer;
          const keys =
            q.type === "multiple_choice"
              ? [String(a.option_id)]
              : q.type === "multiple_correct"
                ? (a.option_ids as number[]).map(String)
                : [String(a.value)];
          for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + r.n);
        }
        if (q.type === "true_false") {
          distribution = ["true", "false"].map((k) => ({
            answer: { value: k === "true" },
            label: k,
            count: counts.get(k) ?? 0,
          }));
        } else {
          const opts = q.key.options as { id: number; text: string }[];
          distribution = opts.map((o) => ({
            answer: q.type === "multiple_choice" ? { option_id: o.id } : { option_ids: [o.id] },
            label: o.text,
            count: counts.get(String(o.id)) ?? 0,
          }));
        }
      } else {
        distribution = rows
          .slice(0, 10)
          .map((r) => ({ answer: JSON.parse(r.answer) as Answer, label: null, count: r.n }));
      }
      return {
        question_id: s.questionId,
        type: q.type,
        title: q.title,
        attempts: s.total,
        answered: s.answered,
        correct: s.right,
        correct_rate: s.total > 0 ? round(s.right / s.total) : null,
        average_score: round(s.avgScore),
        max_score: s.maxScore,
        pending_review: s.pending,
        distribution,
      };
    })
    .sort((a, b) => a.question_id - b.question_id);
  const a = (attempts as { total: number; avgPercent: number | null; passed: number }[])[0];
  return {
    module_id: moduleId,
    name: quiz.name,
    attempts: a?.total ?? 0,
    average_percent: round(a?.avgPercent ?? null),
    pass_rate: a && a.total > 0 ? round(a.passed / a.total) : null,
    questions,
  };
}
