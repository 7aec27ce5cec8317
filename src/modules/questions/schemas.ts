import { z } from "@hono/zod-openapi";
import { LookupQuery, listQuery, paginated, Timestamp } from "../../platform/openapi";
import { QUESTION_TYPES } from "./tables";

export type QuestionType = (typeof QUESTION_TYPES)[number];

const Id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const Ids = (max: number) => z.array(Id).max(max);
const ShortText = (max: number) => z.string().trim().min(1, "Required.").max(max);

// ---- answer keys, one shape per type ------------------------------------------------------------------------------

export const ChoiceOption = z
  .strictObject({
    text: ShortText(2000).openapi({ example: "Paris" }),
    correct: z.boolean().default(false),
    feedback: z
      .string()
      .max(2000)
      .nullable()
      .default(null)
      .openapi({ description: "Shown with this option in results" }),
  })
  .openapi("ChoiceOption");

const options = z.array(ChoiceOption).min(2, "Give at least 2 options.").max(20);
const Accepted = z
  .array(ShortText(500))
  .min(1, "Give at least one accepted answer.")
  .max(50)
  .openapi({ example: ["Paris", "paris, france"] });
const CaseSensitive = z
  .boolean()
  .default(false)
  .openapi({ description: "Compare letter case too (whitespace is always trimmed and collapsed)" });

/** The type-specific fields of each question type: its options and correct answers (the answer key). */
export const KEY_SHAPES = {
  multiple_choice: { options },
  multiple_correct: {
    options,
    partial_credit: z.boolean().default(false).openapi({
      description:
        "Score (right picks - wrong picks) / right options of the points, floored at 0; otherwise all or nothing",
    }),
  },
  true_false: { correct_answer: z.boolean() },
  short_answers: { accepted_answers: Accepted, case_sensitive: CaseSensitive },
  numeric: {
    correct_value: z.number().finite().openapi({ example: 3.14 }),
    tolerance: z.number().finite().min(0).default(0).openapi({ description: "Answers within +/- this are right" }),
  },
  fill_in_blanks: {
    blanks: z
      .array(z.strictObject({ accepted_answers: Accepted }))
      .min(1)
      .max(20)
      .openapi({ description: "One entry per blank of `content`, in order (mark blanks as `[[1]]`, `[[2]]`, ...)" }),
    case_sensitive: CaseSensitive,
  },
  matching: {
    pairs: z
      .array(z.strictObject({ left: ShortText(500), right: ShortText(500) }))
      .min(2)
      .max(20)
      .openapi({ description: "Each left item and the right item it matches; learners see the right items shuffled" }),
  },
  ordering: {
    items: z
      .array(ShortText(500))
      .min(2)
      .max(20)
      .openapi({ description: "The items in their correct order; learners see them shuffled" }),
  },
  essay: {
    reference_answer: z.string().max(20_000).nullable().default(null).openapi({ description: "For graders only" }),
    min_words: z.number().int().min(0).max(10_000).nullable().default(null),
    max_words: z.number().int().min(1).max(10_000).nullable().default(null),
  },
} as const satisfies Record<QuestionType, z.ZodRawShape>;

/** Rules a shape alone cannot say (exactly one correct option, ...), as field errors under the body. */
export function keyIssues(type: QuestionType, v: Record<string, unknown>): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  if (type === "multiple_choice" || type === "multiple_correct") {
    const opts = (v.options as { correct: boolean; text: string }[] | undefined) ?? [];
    const right = opts.filter((o) => o.correct).length;
    if (type === "multiple_choice" && right !== 1) {
      issues.push({ path: ["options"], message: `Mark exactly one option correct (${right} are).` });
    }
    if (type === "multiple_correct" && right < 1) {
      issues.push({ path: ["options"], message: "Mark at least one option correct." });
    }
    const texts = opts.map((o) => o.text.toLowerCase());
    if (new Set(texts).size !== texts.length) issues.push({ path: ["options"], message: "Options must differ." });
  }
  if (type === "matching") {
    const pairs = (v.pairs as { left: string; right: string }[] | undefined) ?? [];
    if (new Set(pairs.map((p) => p.left)).size !== pairs.length) {
      issues.push({ path: ["pairs"], message: "Left items must differ." });
    }
  }
  if (type === "ordering") {
    const items = (v.items as string[] | undefined) ?? [];
    if (new Set(items).size !== items.length) issues.push({ path: ["items"], message: "Items must differ." });
  }
  if (type === "essay" && typeof v.min_words === "number" && typeof v.max_words === "number") {
    if (v.min_words > v.max_words) issues.push({ path: ["max_words"], message: "Must be at least `min_words`." });
  }
  return issues;
}

// ---- writes -----------------------------------------------------------------------------------------------------

const commonWritable = {
  title: ShortText(500).openapi({ example: "What is the capital of France?" }),
  content: z.string().max(100_000).nullable().openapi({ description: "The question body (HTML)" }),
  media_ids: Ids(20).openapi({ description: "Files of the media library shown with the question" }),
  hint: z.string().max(5000).nullable(),
  explanation: z.string().max(20_000).nullable().openapi({ description: "Shown in results when answers are shown" }),
  points: z.number().int().min(0).max(1000).openapi({ description: "Points for a right answer", example: 1 }),
  negative_points: z.number().int().min(0).max(1000).openapi({
    description: "Negative marking: points taken away for a wrong answer (an unanswered question costs nothing)",
  }),
  category_ids: Ids(50).openapi({ description: "Question categories (type `question`)" }),
  tags: z
    .array(ShortText(50))
    .max(30)
    .openapi({ example: ["geography"] }),
};

const commonCreate = {
  title: commonWritable.title,
  content: commonWritable.content.default(null),
  media_ids: commonWritable.media_ids.default([]),
  hint: commonWritable.hint.default(null),
  explanation: commonWritable.explanation.default(null),
  points: commonWritable.points.default(1),
  negative_points: commonWritable.negative_points.default(0),
  category_ids: commonWritable.category_ids.default([]),
  tags: commonWritable.tags.default([]),
};

const pascal = (type: string) =>
  type
    .split("_")
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join("");

function createVariant<T extends QuestionType>(type: T) {
  return z
    .strictObject({ type: z.literal(type), ...commonCreate, ...KEY_SHAPES[type] })
    .superRefine((v, ctx) => {
      for (const issue of keyIssues(type, v as Record<string, unknown>)) ctx.addIssue({ code: "custom", ...issue });
    })
    .openapi(`${pascal(type)}QuestionCreate`);
}

/** Every answer-key field of every type, optional: PATCH merges them into the question and validates the result. */
const keyFieldsOptional = Object.fromEntries(
  Object.values(KEY_SHAPES).flatMap((shape) =>
    // without their defaults: a field left out of a PATCH stays out (zod would fill the default in)
    Object.entries(shape).map(
      ([k, s]) => [k, ((s instanceof z.ZodDefault ? s.unwrap() : s) as z.ZodType).optional()] as const,
    ),
  ),
) as Record<string, z.ZodOptional<z.ZodType>>;

/**
 * The fields a create body may have, whatever its type (documented once with `allOf` next to the per-type
 * variants): `essay` first, the one type whose key fields all have defaults.
 */
export const QuestionCreateFields = z
  .strictObject({
    type: z.enum(["essay", ...QUESTION_TYPES.filter((t) => t !== "essay")] as [QuestionType, ...QuestionType[]]),
    title: commonWritable.title,
    content: commonWritable.content.optional(),
    media_ids: commonWritable.media_ids.optional(),
    hint: commonWritable.hint.optional(),
    explanation: commonWritable.explanation.optional(),
    points: commonWritable.points.optional(),
    negative_points: commonWritable.negative_points.optional(),
    category_ids: commonWritable.category_ids.optional(),
    tags: commonWritable.tags.optional(),
    ...keyFieldsOptional,
  })
  .openapi("QuestionCreateFields", {
    description: "The fields of a question create body, whatever its type (which key fields apply depends on `type`).",
  });

export const QuestionCreate = z
  .discriminatedUnion("type", [
    createVariant("multiple_choice"),
    createVariant("multiple_correct"),
    createVariant("true_false"),
    createVariant("short_answers"),
    createVariant("numeric"),
    createVariant("fill_in_blanks"),
    createVariant("matching"),
    createVariant("ordering"),
    createVariant("essay"),
  ])
  .openapi("QuestionCreate", {
    description: "A new question: common fields plus the answer key of its `type` (one schema per type).",
    allOf: [{ $ref: "#/components/schemas/QuestionCreateFields" }],
  } as object);

export type QuestionCreateInput = z.output<typeof QuestionCreate>;

export const QuestionUpdate = z
  .strictObject({
    type: z.enum(QUESTION_TYPES).optional().openapi({
      description: "A new type needs the answer-key fields of that type in the same request",
    }),
    title: commonWritable.title.optional(),
    content: commonWritable.content.optional(),
    media_ids: commonWritable.media_ids.optional(),
    hint: commonWritable.hint.optional(),
    explanation: commonWritable.explanation.optional(),
    points: commonWritable.points.optional(),
    negative_points: commonWritable.negative_points.optional(),
    category_ids: commonWritable.category_ids.optional(),
    tags: commonWritable.tags.optional(),
    ...keyFieldsOptional,
  })
  .openapi("QuestionUpdate", {
    description:
      "Partial update. Answer-key fields replace the question's (the result is validated as a whole against the type's `<Type>QuestionCreate` schema).",
  });

export type QuestionUpdateInput = z.output<typeof QuestionUpdate>;

export const QuestionBulkDelete = z
  .strictObject({
    ids: Ids(100).min(1),
    force: z
      .boolean()
      .default(false)
      .openapi({ description: "Also delete questions used by quizzes (removed from them)" }),
  })
  .openapi("QuestionBulkDelete");

export const QuestionBulkDeleted = z.object({ deleted: z.array(z.number().int()) }).openapi("QuestionBulkDeleted");

export const QuestionForceQuery = z.object({
  force: z
    .enum(["true", "false"])
    .default("false")
    .openapi({ description: "`true` deletes the question even when quizzes use it (removes it from them)" }),
});

// ---- the resource -------------------------------------------------------------------------------------------------

const OptionOut = z
  .object({ id: z.number().int(), text: z.string(), correct: z.boolean(), feedback: z.string().nullable() })
  .openapi("ChoiceOptionOut");

const outKeyShapes: Record<QuestionType, z.ZodRawShape> = {
  ...KEY_SHAPES,
  multiple_choice: { options: z.array(OptionOut) },
  multiple_correct: { options: z.array(OptionOut), partial_credit: z.boolean() },
};

const commonOut = {
  id: z.number().int().openapi({ example: 31 }),
  title: z.string(),
  content: z.string().nullable(),
  media_ids: z.array(z.number().int()),
  hint: z.string().nullable(),
  explanation: z.string().nullable(),
  points: z.number().int(),
  negative_points: z.number().int(),
  category_ids: z.array(z.number().int()),
  tags: z.array(z.string()),
  author_id: z.number().int().nullable(),
  quiz_ids: z.array(z.number().int()).openapi({ description: "Quiz modules that use this question (static quizzes)" }),
  created_at: Timestamp,
  updated_at: Timestamp,
};

function outVariant<T extends QuestionType>(type: T) {
  return z.object({ type: z.literal(type), ...commonOut, ...outKeyShapes[type] }).openapi(`${pascal(type)}Question`);
}

export const Question = z
  .discriminatedUnion("type", [
    outVariant("multiple_choice"),
    outVariant("multiple_correct"),
    outVariant("true_false"),
    outVariant("short_answers"),
    outVariant("numeric"),
    outVariant("fill_in_blanks"),
    outVariant("matching"),
    outVariant("ordering"),
    outVariant("essay"),
  ])
  .openapi("Question", { description: "A question of the bank with its answer key (staff only)." });

export const QuestionList = paginated(Question, "QuestionList");

const TypesParam = z
  .string()
  .max(300)
  .refine(
    (v) => v.split(",").every((t) => (QUESTION_TYPES as readonly string[]).includes(t)),
    `Use a comma-separated list of: ${QUESTION_TYPES.join(", ")}.`,
  )
  .transform((v) => v.split(",") as QuestionType[]);

const QueryId = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const QuestionListQuery = listQuery(["created_at", "updated_at", "title", "type"], "-created_at").extend({
  types: TypesParam.optional().openapi({ description: "Comma-separated types", example: "multiple_choice,essay" }),
  category_id: QueryId.optional(),
  quiz_id: QueryId.optional().openapi({ description: "Only questions of this (static) quiz module" }),
  tag: z.string().max(50).optional(),
});

export const QuestionLookupQuery = LookupQuery.extend({
  types: TypesParam.optional().openapi({ description: "Comma-separated types" }),
});

export const QuestionTypeInfo = z
  .object({
    value: z.enum(QUESTION_TYPES),
    label: z.string(),
    auto_graded: z.boolean(),
    answer_format: z.string().openapi({ description: "The `answer` a learner sends for this type" }),
  })
  .openapi("QuestionTypeInfo");
