import { and, asc, eq, gt, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { LearnerPrincipal, TenantContext } from "../../platform/auth";
import { batchableRaw } from "../../platform/db";
import { ApiError, type FieldError } from "../../platform/errors";
import { nowIso } from "../../platform/time";
import { activityInsert } from "../activities/service";
import { SurveyModuleSettings } from "../content-modules/schemas";
import { getModule } from "../content-modules/service";
import { csvCell } from "../gradebook/service";
import { assertPlacementOpen, recordGradedResult } from "../progress/service";
import { surveyAnswers, surveyParticipations, surveyResponses } from "./tables";

type LearnerCtx = TenantContext<LearnerPrincipal>;
type Settings = ReturnType<typeof SurveyModuleSettings.parse>;
type Question = Settings["questions"][number];
type Value = number | number[] | string;

export interface ResponseInput {
  course_id: number;
  placement_id: number;
  answers: { question_id: string; value: Value }[];
}

/** One stored answer row: a rating, one chosen option, or a text. */
interface AnswerRow {
  questionId: string;
  optionIndex: number | null;
  number: number | null;
  text: string | null;
}

/** The placement of `moduleId` the learner answers in, open to them, with the survey's settings. */
export async function openSurvey(ctx: LearnerCtx, moduleId: number, courseId: number, placementId: number) {
  const access = await assertPlacementOpen(ctx, courseId, placementId);
  if (access.placement.module_id !== moduleId || access.placement.module.type !== "survey") {
    throw ApiError.notFound(`Survey module ${moduleId} in placement ${placementId} of course ${courseId}`);
  }
  return { ...access, settings: SurveyModuleSettings.parse(access.placement.module.settings) };
}

/** Checks every answer against its question; every problem is reported at once, with its path. */
export function validateAnswers(questions: Question[], answers: ResponseInput["answers"]): AnswerRow[] {
  const errors: FieldError[] = [];
  const byId = new Map(questions.map((q) => [q.id, q]));
  const seen = new Set<string>();
  const rows: AnswerRow[] = [];
  answers.forEach((answer, i) => {
    const path = `answers.${i}`;
    const question = byId.get(answer.question_id);
    if (!question) {
      errors.push({ path: `${path}.question_id`, message: `This survey has no question \`${answer.question_id}\`.` });
      return;
    }
    if (seen.has(question.id)) {
      errors.push({ path: `${path}.question_id`, message: `Question \`${question.id}\` is answered twice.` });
      return;
    }
    seen.add(question.id);
    const value = answer.value;
    const bad = (message: string) => errors.push({ path: `${path}.value`, message });
    switch (question.type) {
      case "rating":
        if (
          typeof value !== "number" ||
          !Number.isInteger(value) ||
          value < question.scale_min ||
          value > question.scale_max
        ) {
          bad(`A rating is a whole number from ${question.scale_min} to ${question.scale_max}.`);
        } else rows.push({ questionId: question.id, optionIndex: null, number: value, text: null });
        return;
      case "single_choice":
        if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value >= question.options.length) {
          bad(`Give the index of one option, from 0 to ${question.options.length - 1}.`);
        } else rows.push({ questionId: question.id, optionIndex: value, number: null, text: null });
        return;
      case "multiple_choice": {
        const valid =
          Array.isArray(value) &&
          value.every((v) => Number.isInteger(v) && v >= 0 && v < question.options.length) &&
          new Set(value).size === value.length;
        if (!valid) {
          bad(`Give an array of distinct option indexes, each from 0 to ${question.options.length - 1}.`);
        } else if (value.length === 0 && question.required) {
          bad("This question is required: choose at least one option.");
        } else {
          for (const v of [...value].sort((a, b) => a - b)) {
            rows.push({ questionId: question.id, optionIndex: v, number: null, text: null });
          }
        }
        return;
      }
      case "text": {
        if (typeof value !== "string") {
          bad("A text question takes a string.");
          return;
        }
        const text = value.trim();
        if (text.length > question.max_length) bad(`At most ${question.max_length} characters.`);
        else if (text === "" && question.required) bad("This question is required.");
        else if (text !== "") rows.push({ questionId: question.id, optionIndex: null, number: null, text });
        return;
      }
    }
  });
  questions.forEach((q) => {
    if (q.required && !seen.has(q.id)) {
      errors.push({ path: "answers", message: `Question \`${q.id}\` is required.` });
    }
  });
  if (errors.length > 0) throw ApiError.validation(errors);
  return rows;
}

/** Answer rows per INSERT statement: 5 bound values each, under D1's 100 bound parameters. */
const ANSWERS_PER_STATEMENT = 18;

/**
 * A learner's response: validated against the survey's questions, stored (without the learner when anonymous),
 * counted against the one-response rule, and the placement passed (survey modules complete on submission) with
 * progress, grade and course completion: all in one batch.
 */
export async function submitResponse(ctx: LearnerCtx, moduleId: number, input: ResponseInput) {
  const { enrollmentId, settings } = await openSurvey(ctx, moduleId, input.course_id, input.placement_id);
  if (settings.questions.length === 0) {
    throw ApiError.conflict(`Survey module ${moduleId} has no questions yet.`);
  }
  const rows = validateAnswers(settings.questions, input.answers);
  const userId = ctx.principal.userId;
  const [previous] = await ctx.db
    .select({ responses: surveyParticipations.responses })
    .from(surveyParticipations)
    .where(
      and(
        eq(surveyParticipations.tenantId, ctx.tenantId),
        eq(surveyParticipations.enrollmentId, enrollmentId),
        eq(surveyParticipations.placementId, input.placement_id),
      ),
    )
    .limit(1);
  if (previous && !settings.allow_multiple_responses) {
    throw alreadyResponded(moduleId);
  }
  const now = nowIso();
  const anonymous = settings.anonymous;
  const t = ctx.tenantId;
  // The response's id inside the batch: D1 runs a batch as one transaction, so the newest response of this
  // module for this tenant is the one just inserted.
  const responseIdSql = sql`(SELECT max(id) FROM survey_responses WHERE tenant_id = ${t} AND module_id = ${moduleId})`;
  const statements: BatchItem<"sqlite">[] = [
    ctx.db.insert(surveyResponses).values({
      tenantId: t,
      moduleId,
      courseId: input.course_id,
      placementId: input.placement_id,
      userId: anonymous ? null : userId,
      anonymous,
      createdAt: now,
    }),
  ];
  for (let i = 0; i < rows.length; i += ANSWERS_PER_STATEMENT) {
    const part = rows.slice(i, i + ANSWERS_PER_STATEMENT);
    const values = sql.join(
      part.map((r) => sql`(${r.questionId}, ${r.optionIndex}, ${r.number}, ${r.text}, ${0})`),
      sql`, `,
    );
    statements.push(
      batchableRaw(
        ctx.db,
        sql`INSERT INTO survey_answers (tenant_id, response_id, module_id, question_id, option_index, number, text)
            SELECT ${t}, ${responseIdSql}, ${moduleId}, v.column1, v.column2, v.column3, v.column4 FROM (VALUES ${values}) v`,
      ),
    );
  }
  const participation = ctx.db.insert(surveyParticipations).values({
    tenantId: t,
    enrollmentId,
    placementId: input.placement_id,
    moduleId,
    userId,
    responses: 1,
    firstRespondedAt: now,
    lastRespondedAt: now,
  });
  // Without multiple responses a second participation row breaks the unique key: the whole batch is refused.
  statements.push(
    settings.allow_multiple_responses
      ? participation.onConflictDoUpdate({
          target: [surveyParticipations.tenantId, surveyParticipations.enrollmentId, surveyParticipations.placementId],
          set: { responses: sql`${surveyParticipations.responses} + 1`, lastRespondedAt: now },
        })
      : participation,
    // The event names the response id, known only inside the batch.
    batchableRaw(
      ctx.db,
      sql`INSERT INTO outbox (tenant_id, type, data, occurred_at) SELECT ${t}, 'survey_response.created',
          json_object('response_id', ${responseIdSql}, 'module_id', ${moduleId}, 'course_id', ${input.course_id},
            'placement_id', ${input.placement_id}, 'user_id', ${anonymous ? null : userId},
            'anonymous', json(${anonymous ? "true" : "false"})), ${now}`,
    ),
    activityInsert(ctx.db, t, {
      type: "survey.responded",
      userId,
      courseId: input.course_id,
      placementId: input.placement_id,
      data: { module_id: moduleId, anonymous },
    }),
  );
  let state: Awaited<ReturnType<typeof recordGradedResult>>;
  try {
    state = await recordGradedResult(
      ctx,
      { enrollmentId, placementId: input.placement_id, score: 0, maxScore: 0, passed: true },
      statements,
    );
  } catch (err) {
    if (
      err instanceof Error &&
      /UNIQUE constraint failed: survey_participations/i.test(
        `${err.message} ${(err as { cause?: Error }).cause?.message ?? ""}`,
      )
    ) {
      throw alreadyResponded(moduleId);
    }
    throw err;
  }
  const [response] = await ctx.db
    .select()
    .from(surveyResponses)
    .where(
      and(
        eq(surveyResponses.tenantId, t),
        eq(surveyResponses.moduleId, moduleId),
        eq(surveyResponses.placementId, input.placement_id),
        eq(surveyResponses.createdAt, now),
        anonymous ? undefined : eq(surveyResponses.userId, userId),
      ),
    )
    .orderBy(sql`${surveyResponses.id} DESC`)
    .limit(1);
  return {
    id: response?.id ?? 0,
    module_id: moduleId,
    course_id: input.course_id,
    placement_id: input.placement_id,
    anonymous,
    answers: input.answers.map((a) => ({
      question_id: a.question_id,
      value: typeof a.value === "string" ? a.value.trim() : a.value,
    })),
    created_at: now,
    module_status: state.status as string,
    progress_percent: state.enrollment.progress_percent as number,
  };
}

function alreadyResponded(moduleId: number) {
  return ApiError.conflict(`You have already responded to survey ${moduleId}, which takes one response per learner.`, {
    code: "already_responded",
  });
}

// ---- admin: results --------------------------------------------------------------------------------------------

async function surveyModule(ctx: TenantContext, moduleId: number) {
  const module = await getModule(ctx, moduleId);
  if (module.type !== "survey") throw ApiError.notFound(`Survey module ${moduleId}`);
  return SurveyModuleSettings.parse(module.settings);
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * Aggregated results: per question the responses that answered it, the distribution of ratings or options, the
 * average rating, and the latest text answers. Three statements whatever the number of responses.
 */
export async function surveyResults(ctx: TenantContext, moduleId: number, courseId?: number) {
  const settings = await surveyModule(ctx, moduleId);
  const t = ctx.tenantId;
  const inCourse =
    courseId === undefined
      ? sql``
      : sql` AND response_id IN (SELECT id FROM survey_responses WHERE tenant_id = ${t} AND module_id = ${moduleId} AND course_id = ${courseId})`;
  const scope = sql`tenant_id = ${t} AND module_id = ${moduleId}${inCourse}`;
  const [totals, buckets, answered, texts] = await ctx.db.batch([
    batchableRaw(
      ctx.db,
      sql`SELECT count(*) AS n FROM survey_responses WHERE tenant_id = ${t} AND module_id = ${moduleId}${
        courseId === undefined ? sql`` : sql` AND course_id = ${courseId}`
      }`,
    ),
    batchableRaw(
      ctx.db,
      sql`SELECT question_id, option_index, number, count(*) AS n FROM survey_answers WHERE ${scope} AND text IS NULL
          GROUP BY question_id, option_index, number`,
    ),
    batchableRaw(
      ctx.db,
      sql`SELECT question_id, count(DISTINCT response_id) AS n FROM survey_answers WHERE ${scope} GROUP BY question_id`,
    ),
    batchableRaw(
      ctx.db,
      sql`SELECT question_id, text FROM (SELECT question_id, text, row_number() OVER (PARTITION BY question_id ORDER BY id DESC) AS r
          FROM survey_answers WHERE ${scope} AND text IS NOT NULL) WHERE r <= 10`,
    ),
  ]);
  const rowsOf = <T>(r: unknown) => ((r as { results?: T[] }).results ?? (r as T[])) as T[];
  const total = Number(rowsOf<{ n: number }>(totals)[0]?.n ?? 0);
  const counts = new Map<string, number>();
  for (const b of rowsOf<{ question_id: string; option_index: number | null; number: number | null; n: number }>(
    buckets,
  )) {
    counts.set(`${b.question_id}|${b.option_index ?? `r${b.number}`}`, Number(b.n));
  }
  const answeredBy = new Map(
    rowsOf<{ question_id: string; n: number }>(answered).map((r) => [r.question_id, Number(r.n)]),
  );
  const textsBy = new Map<string, string[]>();
  for (const r of rowsOf<{ question_id: string; text: string }>(texts)) {
    textsBy.set(r.question_id, [...(textsBy.get(r.question_id) ?? []), r.text]);
  }
  const questions = settings.questions.map((q) => {
    const n = answeredBy.get(q.id) ?? 0;
    const pct = (c: number) => (n > 0 ? round2((c / n) * 100) : 0);
    let distribution: { value: number; label: string; count: number; percent: number }[] = [];
    let average: number | null = null;
    if (q.type === "rating") {
      let sum = 0;
      for (let v = q.scale_min; v <= q.scale_max; v++) {
        const c = counts.get(`${q.id}|r${v}`) ?? 0;
        sum += c * v;
        distribution.push({ value: v, label: String(v), count: c, percent: pct(c) });
      }
      average = n > 0 ? round2(sum / n) : null;
    } else if (q.type !== "text") {
      distribution = q.options.map((label, i) => {
        const c = counts.get(`${q.id}|${i}`) ?? 0;
        return { value: i, label, count: c, percent: pct(c) };
      });
    }
    return {
      question_id: q.id,
      type: q.type,
      prompt: q.prompt,
      answered: n,
      average,
      distribution,
      recent_texts: q.type === "text" ? (textsBy.get(q.id) ?? []) : [],
    };
  });
  return {
    module_id: moduleId,
    course_id: courseId ?? null,
    anonymous: settings.anonymous,
    responses: total,
    questions,
  };
}

/** Responses per page of the CSV export (keyset on the response id). */
const CSV_PAGE = 200;

const csvLine = (cells: (string | number | boolean | null | undefined)[]) => `${cells.map(csvCell).join(",")}\r\n`;

/**
 * Every response as CSV, streamed in keyset pages of CSV_PAGE responses (2 statements per page): one row per
 * response, one column per question (choices by their text, several joined with `; `). Anonymous responses have
 * empty learner columns.
 */
export async function surveyCsv(ctx: TenantContext, moduleId: number, courseId?: number) {
  const settings = await surveyModule(ctx, moduleId);
  const questions = settings.questions;
  const t = ctx.tenantId;
  const encoder = new TextEncoder();
  let after = 0;
  let headerSent = false;
  const header = csvLine([
    "response_id",
    "created_at",
    "course_id",
    "placement_id",
    "learner_id",
    "learner_name",
    "learner_email",
    ...questions.map((q) => q.prompt),
  ]);
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!headerSent) {
        headerSent = true;
        controller.enqueue(encoder.encode(header));
        return;
      }
      try {
        const where = and(
          eq(surveyResponses.tenantId, t),
          eq(surveyResponses.moduleId, moduleId),
          gt(surveyResponses.id, after),
          courseId === undefined ? undefined : eq(surveyResponses.courseId, courseId),
        );
        const page = ctx.db
          .select({ id: surveyResponses.id })
          .from(surveyResponses)
          .where(where)
          .orderBy(asc(surveyResponses.id))
          .limit(CSV_PAGE);
        const [responses, answers] = await ctx.db.batch([
          batchableRaw(
            ctx.db,
            sql`SELECT r.id, r.created_at, r.course_id, r.placement_id, r.user_id, u.name, u.email
                FROM survey_responses r LEFT JOIN users u ON u.id = r.user_id AND u.tenant_id = r.tenant_id
                WHERE r.id IN (${page}) ORDER BY r.id`,
          ),
          ctx.db
            .select()
            .from(surveyAnswers)
            .where(and(eq(surveyAnswers.tenantId, t), sql`${surveyAnswers.responseId} IN (${page})`))
            .orderBy(asc(surveyAnswers.id)),
        ]);
        const rows = ((responses as { results?: unknown[] }).results ?? responses) as {
          id: number;
          created_at: string;
          course_id: number;
          placement_id: number;
          user_id: number | null;
          name: string | null;
          email: string | null;
        }[];
        if (rows.length === 0) {
          controller.close();
          return;
        }
        const byResponse = new Map<number, Map<string, string[]>>();
        for (const a of answers as (typeof surveyAnswers.$inferSelect)[]) {
          const q = questions.find((x) => x.id === a.questionId);
          if (!q) continue;
          const cell =
            a.text ?? (a.optionIndex !== null ? (q.options[a.optionIndex] ?? String(a.optionIndex)) : String(a.number));
          const m = byResponse.get(a.responseId) ?? new Map<string, string[]>();
          m.set(q.id, [...(m.get(q.id) ?? []), cell]);
          byResponse.set(a.responseId, m);
        }
        const lines = rows.map((r) =>
          csvLine([
            r.id,
            r.created_at,
            r.course_id,
            r.placement_id,
            r.user_id,
            r.name,
            r.email,
            ...questions.map((q) => byResponse.get(r.id)?.get(q.id)?.join("; ") ?? ""),
          ]),
        );
        controller.enqueue(encoder.encode(lines.join("")));
        after = rows[rows.length - 1].id;
        if (rows.length < CSV_PAGE) controller.close();
      } catch (err) {
        console.error(JSON.stringify({ level: "error", message: "survey CSV export failed", error: String(err) }));
        controller.error(err);
      }
    },
  });
  return { stream };
}
