/**
 * The question bank: questions of nine types with their answer keys, categories and tags; quizzes use them
 * (quiz_questions of the quizzes module) and attempts freeze copies of them (src/durable/quiz-attempt.ts).
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { TenantContext } from "../../platform/auth";
import { batchableRaw, chunk, inList } from "../../platform/db";
import { ApiError, type FieldError, zodFieldErrors } from "../../platform/errors";
import { outboxInsert, outboxInsertFor, outboxInsertMany } from "../../platform/events";
import { contains, type ListParams, orderBy, paginate } from "../../platform/pagination";
import { nowIso } from "../../platform/time";
import { assertCategoriesExist } from "../categories/service";
import { quizQuestions } from "../quizzes/tables";
import {
  KEY_SHAPES,
  QuestionCreate,
  type QuestionCreateInput,
  type QuestionType,
  type QuestionUpdateInput,
} from "./schemas";
import { QUESTION_TYPES, questionCategories, questions } from "./tables";

type Row = typeof questions.$inferSelect;
type Batch = [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];

export const QUESTION_TYPE_INFO: Record<QuestionType, { label: string; answer: string }> = {
  multiple_choice: { label: "Multiple Choice", answer: '{"option_id": 2}' },
  multiple_correct: { label: "Multiple Correct", answer: '{"option_ids": [1, 3]}' },
  true_false: { label: "True / False", answer: '{"value": true}' },
  short_answers: { label: "Short Answer", answer: '{"text": "Paris"}' },
  numeric: { label: "Numeric", answer: '{"number": 3.14}' },
  fill_in_blanks: { label: "Fill in the Blanks", answer: '{"blanks": ["first", "second"]}' },
  matching: { label: "Matching", answer: '{"matches": [{"left_id": 1, "right_id": 3}]}' },
  ordering: { label: "Ordering", answer: '{"order": [3, 1, 2]}' },
  essay: { label: "Essay", answer: '{"text": "..."}' },
};

export function questionTypes() {
  return QUESTION_TYPES.map((value) => ({
    value,
    label: QUESTION_TYPE_INFO[value].label,
    auto_graded: value !== "essay",
    answer_format: QUESTION_TYPE_INFO[value].answer,
  }));
}

// ---- the stored shape --------------------------------------------------------------------------------------------

const COMMON = ["title", "content", "media_ids", "hint", "explanation", "points", "negative_points"] as const;

/** The answer key as stored: the type's fields; choice options get ids (1..n, by position). */
export function keyOf(input: Record<string, unknown>): Record<string, unknown> {
  const type = input.type as QuestionType;
  const key: Record<string, unknown> = {};
  for (const field of Object.keys(KEY_SHAPES[type])) key[field] = input[field];
  if (Array.isArray(key.options)) {
    key.options = (key.options as Record<string, unknown>[]).map((o, i) => ({
      id: i + 1,
      text: o.text,
      correct: o.correct,
      feedback: o.feedback ?? null,
    }));
  }
  return key;
}

/** A question (stored row) in the create shape, so a PATCH can be merged into it and validated whole. */
function asInput(row: Row, categoryIds: number[]): Record<string, unknown> {
  const key = { ...row.answerKey };
  if (Array.isArray(key.options)) {
    key.options = (key.options as Record<string, unknown>[]).map(({ text, correct, feedback }) => ({
      text,
      correct,
      feedback,
    }));
  }
  return {
    type: row.type,
    title: row.title,
    content: row.content,
    media_ids: row.mediaIds,
    hint: row.hint,
    explanation: row.explanation,
    points: row.points,
    negative_points: row.negativePoints,
    category_ids: categoryIds,
    tags: row.tags,
    ...key,
  };
}

export function toQuestion(row: Row, categoryIds: number[], quizIds: number[]) {
  return {
    id: row.id,
    type: row.type,
    title: row.title,
    content: row.content,
    media_ids: row.mediaIds,
    hint: row.hint,
    explanation: row.explanation,
    points: row.points,
    negative_points: row.negativePoints,
    category_ids: categoryIds,
    tags: row.tags,
    author_id: row.authorId,
    quiz_ids: quizIds,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    ...row.answerKey,
    // biome-ignore lint/suspicious/noExplicitAny: the discriminated union's variants are checked by the response schema
  } as any;
}

// ---- reading ----------------------------------------------------------------------------------------------------

/** Categories and quizzes of many questions: two statements in one batch (ids as one json_each parameter). */
async function relationsOf(ctx: TenantContext, ids: number[]) {
  const cats = new Map<number, number[]>();
  const quizzes = new Map<number, number[]>();
  if (ids.length === 0) return { cats, quizzes };
  const [c, q] = await ctx.db.batch([
    ctx.db
      .select({ q: questionCategories.questionId, c: questionCategories.categoryId })
      .from(questionCategories)
      .where(and(eq(questionCategories.tenantId, ctx.tenantId), inList(questionCategories.questionId, ids)))
      .orderBy(questionCategories.questionId, questionCategories.categoryId),
    ctx.db
      .select({ q: quizQuestions.questionId, m: quizQuestions.moduleId })
      .from(quizQuestions)
      .where(and(eq(quizQuestions.tenantId, ctx.tenantId), inList(quizQuestions.questionId, ids)))
      .orderBy(quizQuestions.questionId, quizQuestions.moduleId),
  ]);
  for (const r of c) cats.set(r.q, [...(cats.get(r.q) ?? []), r.c]);
  for (const r of q) quizzes.set(r.q, [...(quizzes.get(r.q) ?? []), r.m]);
  return { cats, quizzes };
}

async function present(ctx: TenantContext, rows: Row[]) {
  const { cats, quizzes } = await relationsOf(
    ctx,
    rows.map((r) => r.id),
  );
  return rows.map((r) => toQuestion(r, cats.get(r.id) ?? [], quizzes.get(r.id) ?? []));
}

async function findRow(ctx: TenantContext, id: number): Promise<Row> {
  const [row] = await ctx.db
    .select()
    .from(questions)
    .where(and(eq(questions.tenantId, ctx.tenantId), eq(questions.id, id)))
    .limit(1);
  if (!row) throw ApiError.notFound(`Question ${id}`);
  return row;
}

export async function getQuestion(ctx: TenantContext, id: number) {
  const [out] = await present(ctx, [await findRow(ctx, id)]);
  return out;
}

export interface QuestionListQuery extends ListParams {
  q?: string;
  types?: QuestionType[];
  category_id?: number;
  quiz_id?: number;
  tag?: string;
}

function filters(ctx: TenantContext, query: Omit<QuestionListQuery, keyof ListParams>): SQL | undefined {
  const t = ctx.tenantId;
  return and(
    eq(questions.tenantId, t),
    query.types?.length ? inList(questions.type, query.types) : undefined,
    query.q ? contains(questions.title, query.q) : undefined,
    query.category_id !== undefined
      ? sql`${questions.id} IN (SELECT question_id FROM question_categories WHERE tenant_id = ${t} AND category_id = ${query.category_id})`
      : undefined,
    query.quiz_id !== undefined
      ? sql`${questions.id} IN (SELECT question_id FROM quiz_questions WHERE tenant_id = ${t} AND module_id = ${query.quiz_id})`
      : undefined,
    query.tag ? sql`EXISTS (SELECT 1 FROM json_each(${questions.tags}) WHERE value = ${query.tag})` : undefined,
  );
}

export async function listQuestions(ctx: TenantContext, query: QuestionListQuery) {
  const page = await paginate<Row, Row>(
    ctx.db,
    questions,
    filters(ctx, query),
    orderBy(
      query.sort,
      {
        created_at: questions.createdAt,
        updated_at: questions.updatedAt,
        title: questions.title,
        type: questions.type,
      },
      questions.id,
    ),
    query,
    (r) => r,
  );
  return { data: await present(ctx, page.data), meta: page.meta };
}

export async function lookupQuestions(
  ctx: TenantContext,
  q: string | undefined,
  limit: number,
  types?: QuestionType[],
) {
  const rows = await ctx.db
    .select({ value: questions.id, label: questions.title })
    .from(questions)
    .where(filters(ctx, { q, types }))
    .orderBy(questions.title, questions.id)
    .limit(limit);
  return rows;
}

// ---- writing ----------------------------------------------------------------------------------------------------

export function authorOf(ctx: TenantContext): number | null {
  const p = ctx.principal;
  if (p.kind === "staff") return p.userId;
  if (p.kind === "api_key") return p.userId;
  return null;
}

/** The id of the question inserted earlier in the same batch (a batch is one transaction). */
const lastQuestionId = (tenantId: number) => sql`(SELECT max(id) FROM questions WHERE tenant_id = ${tenantId})`;

/**
 * The statements that insert one question with its categories and its `question.created` event (ids resolved in
 * SQL, so many questions can go into one batch: imports).
 */
export function insertQuestionStatements(
  ctx: TenantContext,
  input: QuestionCreateInput,
  now: string,
  extra: Record<string, unknown> = {},
): BatchItem<"sqlite">[] {
  const t = ctx.tenantId;
  const categoryIds = [...new Set(input.category_ids)];
  return [
    ctx.db
      .insert(questions)
      .values({
        tenantId: t,
        type: input.type,
        title: input.title,
        content: input.content,
        mediaIds: input.media_ids,
        hint: input.hint,
        explanation: input.explanation,
        points: input.points,
        negativePoints: input.negative_points,
        tags: [...new Set(input.tags)],
        answerKey: keyOf(input as unknown as Record<string, unknown>),
        authorId: authorOf(ctx),
        createdAt: now,
        updatedAt: now,
      })
      .returning({ id: questions.id }),
    ...(categoryIds.length
      ? [
          batchableRaw(
            ctx.db,
            sql`INSERT INTO question_categories (tenant_id, question_id, category_id)
                SELECT ${t}, ${lastQuestionId(t)}, value FROM json_each(${JSON.stringify(categoryIds)})`,
          ),
        ]
      : []),
    outboxInsertFor(ctx.db, t, "question.created", lastQuestionId(t), {
      type: input.type,
      title: input.title,
      ...extra,
    }),
  ];
}

export async function createQuestion(ctx: TenantContext, input: QuestionCreateInput) {
  await assertCategoriesExist(ctx, [...new Set(input.category_ids)], "question", "category_ids");
  return insertOne(ctx, input);
}

async function insertOne(ctx: TenantContext, input: QuestionCreateInput, extra: Record<string, unknown> = {}) {
  const results = await ctx.db.batch(insertQuestionStatements(ctx, input, nowIso(), extra) as Batch);
  const [{ id }] = results[0] as { id: number }[];
  return getQuestion(ctx, id);
}

export async function updateQuestion(ctx: TenantContext, id: number, input: QuestionUpdateInput) {
  const row = await findRow(ctx, id);
  const { cats } = await relationsOf(ctx, [id]);
  const current = asInput(row, cats.get(id) ?? []);
  const typeChanged = input.type !== undefined && input.type !== row.type;
  const base: Record<string, unknown> = typeChanged
    ? Object.fromEntries(
        Object.entries(current).filter(
          ([k]) => (COMMON as readonly string[]).includes(k) || k === "category_ids" || k === "tags",
        ),
      )
    : current;
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const merged = { ...base, ...given, type: input.type ?? row.type };
  const parsed = QuestionCreate.safeParse(merged);
  if (!parsed.success) throw ApiError.validation(zodFieldErrors(parsed.error));
  const next = parsed.data;
  if (input.category_ids)
    await assertCategoriesExist(ctx, [...new Set(input.category_ids)], "question", "category_ids");
  const changed = Object.keys(given);
  const now = nowIso();
  const t = ctx.tenantId;
  const statements: BatchItem<"sqlite">[] = [
    ctx.db
      .update(questions)
      .set({
        type: next.type,
        title: next.title,
        content: next.content,
        mediaIds: next.media_ids,
        hint: next.hint,
        explanation: next.explanation,
        points: next.points,
        negativePoints: next.negative_points,
        tags: [...new Set(next.tags)],
        answerKey: keyOf(next as unknown as Record<string, unknown>),
        updatedAt: now,
      })
      .where(and(eq(questions.tenantId, t), eq(questions.id, id))),
    outboxInsert(ctx.db, t, "question.updated", { id, changed }),
  ];
  if (input.category_ids) {
    statements.push(
      ctx.db
        .delete(questionCategories)
        .where(and(eq(questionCategories.tenantId, t), eq(questionCategories.questionId, id))),
    );
    for (const part of chunk([...new Set(input.category_ids)], 3)) {
      statements.push(
        ctx.db
          .insert(questionCategories)
          .values(part.map((categoryId) => ({ tenantId: t, questionId: id, categoryId }))),
      );
    }
  }
  await ctx.db.batch(statements as Batch);
  return getQuestion(ctx, id);
}

export async function cloneQuestion(ctx: TenantContext, id: number) {
  const row = await findRow(ctx, id);
  const { cats } = await relationsOf(ctx, [id]);
  const input = asInput(row, cats.get(id) ?? []);
  const title = `${row.title} (copy)`.slice(0, 500);
  const parsed = QuestionCreate.parse({ ...input, title });
  return insertOne(ctx, parsed, { source_id: id });
}

/** Deletes questions (not found ids are a 422 naming them); used by quizzes -> 409 naming the quizzes unless forced. */
export async function deleteQuestions(ctx: TenantContext, ids: number[], force: boolean, single = false) {
  const unique = [...new Set(ids)];
  const found = await ctx.db
    .select({ id: questions.id })
    .from(questions)
    .where(and(eq(questions.tenantId, ctx.tenantId), inList(questions.id, unique)));
  const known = new Set(found.map((r) => r.id));
  if (single && !known.has(ids[0])) throw ApiError.notFound(`Question ${ids[0]}`);
  const errors: FieldError[] = ids
    .map((id, i) => ({ id, i }))
    .filter(({ id }) => !known.has(id))
    .map(({ id, i }) => ({ path: `ids.${i}`, message: `Question ${id} is not a question of this academy.` }));
  if (errors.length) throw ApiError.validation(errors);
  if (!force) {
    const used = await ctx.db
      .select({ questionId: quizQuestions.questionId, moduleId: quizQuestions.moduleId })
      .from(quizQuestions)
      .where(and(eq(quizQuestions.tenantId, ctx.tenantId), inList(quizQuestions.questionId, unique)));
    if (used.length) {
      const byQuestion = new Map<number, number[]>();
      for (const u of used) byQuestion.set(u.questionId, [...(byQuestion.get(u.questionId) ?? []), u.moduleId]);
      const list = [...byQuestion].map(([id, quizIds]) => ({ id, quiz_ids: quizIds }));
      throw ApiError.conflict(
        `${list.length === 1 ? `Question ${list[0].id} is` : `Questions ${list.map((l) => l.id).join(", ")} are`} used by quizzes (${[...new Set(used.map((u) => u.moduleId))].join(", ")}); remove ${list.length === 1 ? "it" : "them"} from the quizzes first or delete with force.`,
        { in_use: list },
      );
    }
  }
  await ctx.db.batch([
    ctx.db.delete(questions).where(and(eq(questions.tenantId, ctx.tenantId), inList(questions.id, unique))),
    ...outboxInsertMany(
      ctx.db,
      ctx.tenantId,
      "question.deleted",
      unique.map((id) => ({ id })),
    ),
  ]);
  return { deleted: unique };
}

/** Rows of this tenant among `ids` (for quizzes). */
export async function questionRows(ctx: TenantContext, ids: number[]): Promise<Row[]> {
  if (ids.length === 0) return [];
  return ctx.db
    .select()
    .from(questions)
    .where(and(eq(questions.tenantId, ctx.tenantId), inList(questions.id, ids)));
}
