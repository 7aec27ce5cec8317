import { z } from "@hono/zod-openapi";
import { listQuery, paginated, Timestamp } from "../../platform/openapi";
import { QUESTION_TYPES } from "../questions/tables";
import { ATTEMPT_STATUSES } from "./tables";

const Id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const PathId = (name: string, description: string) =>
  z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name, in: "path" }, example: 42, description });

export const ModuleIdParam = z.object({ module_id: PathId("module_id", "The quiz module") });
export const AttemptIdParam = z.object({ id: PathId("id", "The attempt") });
export const AnswerParams = z.object({
  id: PathId("id", "The attempt"),
  question_id: PathId("question_id", "A question of the attempt"),
});

// ---- quiz questions -----------------------------------------------------------------------------------------------

export const QuizQuestionsUpdate = z
  .strictObject({
    question_ids: z
      .array(Id)
      .max(500)
      .openapi({ description: "The quiz's questions, in order", example: [31, 32] }),
  })
  .openapi("QuizQuestionsUpdate");

export const QuizQuestions = z
  .object({
    module_id: z.number().int(),
    selection: z.enum(["static", "dynamic"]),
    question_ids: z.array(z.number().int()),
    total_points: z.number(),
    questions: z.array(
      z.object({ id: z.number().int(), type: z.enum(QUESTION_TYPES), title: z.string(), points: z.number().int() }),
    ),
    question_rules: z
      .array(z.object({ category_id: z.number().int(), count: z.number().int(), available: z.number().int() }))
      .openapi({ description: "Dynamic rules with the questions their category holds now" }),
  })
  .openapi("QuizQuestions");

// ---- answers ------------------------------------------------------------------------------------------------------

const MatchPair = z.object({ left_id: z.number().int(), right_id: z.number().int() });

/** The answer formats, one per question family; the attempt checks the one its question's type needs. */
export const AnswerValue = z
  .union([
    z.strictObject({ option_id: z.number().int() }).openapi({ title: "multiple_choice" }),
    z.strictObject({ option_ids: z.array(z.number().int()).max(20) }).openapi({ title: "multiple_correct" }),
    z.strictObject({ value: z.boolean() }).openapi({ title: "true_false" }),
    z.strictObject({ text: z.string().max(50_000) }).openapi({ title: "short_answers or essay" }),
    z.strictObject({ number: z.number() }).openapi({ title: "numeric" }),
    z.strictObject({ blanks: z.array(z.string().max(500)).max(20) }).openapi({ title: "fill_in_blanks" }),
    z.strictObject({ matches: z.array(MatchPair).max(20) }).openapi({ title: "matching" }),
    z.strictObject({ order: z.array(z.number().int()).max(20) }).openapi({ title: "ordering" }),
  ])
  .openapi("AnswerValue", {
    description:
      "`{option_id}` multiple_choice, `{option_ids}` multiple_correct, `{value}` true_false, `{text}` short_answers and essay, `{number}` numeric, `{blanks}` fill_in_blanks, `{matches:[{left_id,right_id}]}` matching, `{order}` ordering (ids as the attempt shows them).",
  });

export const SaveAnswer = z.strictObject({ answer: AnswerValue }).openapi("SaveAnswer");

const Feedback = z
  .object({
    correct: z.boolean().nullable(),
    score: z.number().nullable(),
    correct_answer: z.record(z.string(), z.unknown()).optional(),
    explanation: z.string().nullable().optional(),
  })
  .openapi("AnswerFeedback", { description: "Real-time grading: the saved answer's grade" });

export const SavedAnswer = z
  .object({ question_id: z.number().int(), saved_at: Timestamp, feedback: Feedback.nullable() })
  .openapi("SavedAnswer");

// ---- attempts -----------------------------------------------------------------------------------------------------

export const StartAttempt = z
  .strictObject({
    course_id: Id.openapi({ description: "The course the learner takes the quiz in", example: 12 }),
    placement_id: Id.openapi({ description: "The quiz's placement in that course", example: 57 }),
  })
  .openapi("StartAttempt");

const Item = z.object({ id: z.number().int(), text: z.string() });

export const AttemptQuestion = z
  .object({
    id: z.number().int(),
    position: z.number().int(),
    type: z.enum(QUESTION_TYPES),
    title: z.string(),
    content: z.string().nullable(),
    media_ids: z.array(z.number().int()),
    hint: z.string().nullable(),
    points: z.number().int(),
    negative_points: z.number().int(),
    options: z.array(Item).optional().openapi({ description: "Choice questions, in the order shown" }),
    blank_count: z.number().int().optional(),
    left: z.array(Item).optional().openapi({ description: "Matching: the items to match" }),
    right: z.array(Item).optional().openapi({ description: "Matching: the candidates" }),
    items: z.array(Item).optional().openapi({ description: "Ordering: the items to put in order" }),
    min_words: z.number().int().nullable().optional(),
    max_words: z.number().int().nullable().optional(),
    answer: z.record(z.string(), z.unknown()).nullable().openapi({ description: "The learner's answer" }),
    feedback: z.union([Feedback, z.string()]).nullable().optional().openapi({
      description: "Running attempt: real-time grading feedback; results: the grader's comment",
    }),
    status: z
      .enum(["correct", "incorrect", "partial", "unanswered", "pending_review"])
      .optional()
      .openapi({ description: "Results only" }),
    correct: z.boolean().nullable().optional(),
    score: z.number().nullable().optional(),
    max_score: z.number().optional(),
    correct_answer: z.record(z.string(), z.unknown()).optional().openapi({
      description: "Only when the quiz's `show_correct_answers` rule allows it (staff: always)",
    }),
    explanation: z.string().nullable().optional(),
  })
  .openapi("AttemptQuestion");

const summaryFields = {
  id: z.number().int(),
  module_id: z.number().int(),
  course_id: z.number().int(),
  placement_id: z.number().int(),
  enrollment_id: z.number().int(),
  user_id: z.number().int(),
  number: z.number().int().openapi({ description: "1 for the first attempt, then 2, ..." }),
  status: z.enum(ATTEMPT_STATUSES).openapi({
    description: "`in_progress`, `pending_review` (essays wait for a grader) or `graded`",
  }),
  submitted_by: z.enum(["learner", "deadline"]).nullable(),
  question_count: z.number().int(),
  started_at: Timestamp,
  deadline_at: Timestamp.nullable(),
  submitted_at: Timestamp.nullable(),
  graded_at: Timestamp.nullable(),
  score: z.number().nullable(),
  max_score: z.number().nullable(),
  percent: z.number().nullable(),
  passed: z.boolean().nullable(),
};

export const AttemptSummary = z.object(summaryFields).openapi("QuizAttemptSummary");
export const AttemptSummaryList = paginated(AttemptSummary, "QuizAttemptList");

export const Attempt = z
  .object({
    ...summaryFields,
    pass_percent: z.number().int(),
    attempts_used: z.number().int(),
    attempts_allowed: z.number().int().nullable().openapi({ description: "null: unlimited" }),
    can_retake: z.boolean(),
    correct_answers_visible: z.boolean(),
    seconds_left: z.number().int().nullable().optional().openapi({ description: "Running attempt only" }),
    current_question_id: z.number().int().nullable().optional().openapi({
      description: "Running attempt: the first unanswered question (where to resume)",
    }),
    answered_count: z.number().int().optional(),
    learner: z.object({ id: z.number().int(), name: z.string(), email: z.string() }).nullable().optional(),
    questions: z.array(AttemptQuestion),
  })
  .openapi("QuizAttempt", {
    description:
      "A running attempt (questions without answer keys, saved answers, time left) or a finished one (scores and feedback per question; right answers as the quiz's rules allow).",
  });

export const MyAttemptsQuery = listQuery(["started_at"], "-started_at").extend({
  course_id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});

export const AdminAttemptsQuery = listQuery(["started_at", "submitted_at", "score"], "-started_at").extend({
  status: z.enum(ATTEMPT_STATUSES).optional(),
  user_id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  course_id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});

// ---- grading and analysis -----------------------------------------------------------------------------------------

export const GradeAttempt = z
  .strictObject({
    grades: z
      .array(
        z.strictObject({
          question_id: Id,
          score: z.number().min(0).max(1000).openapi({ description: "At most the question's points" }),
          feedback: z.string().max(20_000).nullable().optional(),
        }),
      )
      .min(1)
      .max(500),
  })
  .openapi("GradeAttempt");

export const QuizAnalysis = z
  .object({
    module_id: z.number().int(),
    name: z.string(),
    attempts: z.number().int().openapi({ description: "Submitted attempts" }),
    average_percent: z.number().nullable(),
    pass_rate: z.number().nullable(),
    questions: z.array(
      z.object({
        question_id: z.number().int(),
        type: z.enum(QUESTION_TYPES),
        title: z.string(),
        attempts: z.number().int(),
        answered: z.number().int(),
        correct: z.number().int(),
        correct_rate: z.number().nullable(),
        average_score: z.number().nullable(),
        max_score: z.number(),
        pending_review: z.number().int(),
        distribution: z.array(
          z.object({
            answer: z.record(z.string(), z.unknown()),
            label: z.string().nullable(),
            count: z.number().int(),
          }),
        ),
      }),
    ),
  })
  .openapi("QuizAnalysis");
