import { createRoute } from "@hono/zod-openapi";
import { adminContext, learnerContext } from "../../platform/auth";
import { adminAccess, createRouter, errorResponses, jsonBody, jsonResponse, SECURITY } from "../../platform/openapi";
import * as attempts from "./attempts";
import {
  AdminAttemptsQuery,
  AnswerParams,
  Attempt,
  AttemptIdParam,
  AttemptSummaryList,
  GradeAttempt,
  ModuleIdParam,
  MyAttemptsQuery,
  QuizAnalysis,
  QuizQuestions,
  QuizQuestionsUpdate,
  SaveAnswer,
  SavedAnswer,
  StartAttempt,
} from "./schemas";
import * as quizzes from "./service";

const tags = ["Quizzes"];
export const quizzesRouter = createRouter();

// ---- admin ------------------------------------------------------------------------------------------------------

quizzesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/quizzes/{module_id}/questions",
    operationId: "getQuizQuestions",
    tags,
    summary: "A quiz's questions",
    description:
      "The static question list of a quiz module, in order, and its dynamic rules with how many questions each category holds (`available`). Quiz settings themselves are the module's `settings` (`/v1/admin/modules/{id}`).",
    ...adminAccess("assessments:read"),
    request: { params: ModuleIdParam },
    responses: { 200: jsonResponse(QuizQuestions, "The questions"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await quizzes.getQuizQuestions(adminContext(c), c.req.valid("param").module_id), 200),
);

quizzesRouter.openapi(
  createRoute({
    method: "put",
    path: "/v1/admin/quizzes/{module_id}/questions",
    operationId: "setQuizQuestions",
    tags,
    summary: "Choose a quiz's questions",
    description:
      "Replaces the static quiz's questions with `question_ids`, in order, atomically. Unknown or repeated ids are a 422 naming each (`question_ids.3`). Attempts already started keep their frozen questions. Emits `quiz.questions_updated`.",
    ...adminAccess("assessments:write"),
    request: { params: ModuleIdParam, body: jsonBody(QuizQuestionsUpdate) },
    responses: { 200: jsonResponse(QuizQuestions, "The questions"), ...errorResponses(401, 403, 404, 413, 415) },
  }),
  async (c) =>
    c.json(
      await quizzes.setQuizQuestions(adminContext(c), c.req.valid("param").module_id, c.req.valid("json").question_ids),
      200,
    ),
);

quizzesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/quizzes/{module_id}/attempts",
    operationId: "listQuizAttempts",
    tags,
    summary: "A quiz's attempts",
    description:
      "Every learner's attempts at the quiz; filter by `status` (`pending_review` lists what waits for a grader), `user_id`, `course_id`.",
    ...adminAccess("assessments:read"),
    request: { params: ModuleIdParam, query: AdminAttemptsQuery },
    responses: { 200: jsonResponse(AttemptSummaryList, "A page of attempts"), ...errorResponses(401, 403, 404) },
  }),
  async (c) =>
    c.json(await quizzes.listQuizAttempts(adminContext(c), c.req.valid("param").module_id, c.req.valid("query")), 200),
);

quizzesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/quizzes/{module_id}/analysis",
    operationId: "getQuizAnalysis",
    tags,
    summary: "Quiz analysis",
    description:
      "Per question of the submitted attempts: attempts, answered, right answers and `correct_rate`, average score, answers waiting for review and the answer distribution (per option for choice and true/false questions, the 10 most frequent answers otherwise); with the quiz's attempts, average percent and pass rate.",
    ...adminAccess("assessments:read"),
    request: { params: ModuleIdParam },
    responses: { 200: jsonResponse(QuizAnalysis, "The analysis"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await quizzes.quizAnalysis(adminContext(c), c.req.valid("param").module_id), 200),
);

quizzesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/attempts/{id}",
    operationId: "getQuizAttempt",
    tags,
    summary: "An attempt in detail",
    description:
      "The attempt with its learner and every question as it was frozen, the answer, score, grader feedback and the right answer. A running attempt lists no questions yet (they are graded at submit).",
    ...adminAccess("assessments:read"),
    request: { params: AttemptIdParam },
    responses: { 200: jsonResponse(Attempt, "The attempt"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await quizzes.adminAttempt(adminContext(c), c.req.valid("param").id), 200),
);

quizzesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/attempts/{id}/grade",
    operationId: "gradeQuizAttempt",
    tags,
    summary: "Grade an attempt",
    description:
      "Scores answers by hand (essays, or to correct an automatic grade): `score` up to the question's points and optional `feedback`. Recomputes the attempt (status `graded` once nothing waits, `passed` against `pass_percent`) and the module status and course progress (`module.graded`). A running attempt is a 409. Emits `quiz_attempt.graded` when the attempt is fully graded.",
    ...adminAccess("grading:write"),
    request: { params: AttemptIdParam, body: jsonBody(GradeAttempt) },
    responses: { 200: jsonResponse(Attempt, "The graded attempt"), ...errorResponses(401, 403, 404, 409, 413, 415) },
  }),
  async (c) => c.json(await quizzes.gradeAttempt(adminContext(c), c.req.valid("param").id, c.req.valid("json")), 200),
);

// ---- learner ----------------------------------------------------------------------------------------------------

quizzesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/quizzes/{module_id}/attempts",
    operationId: "startQuizAttempt",
    tags,
    summary: "Start an attempt",
    description:
      "Starts an attempt at the quiz placed in `course_id` at `placement_id`, with launch's access rules (403 with `rule`: enrollment, course, section_release, drip, prerequisite, sequential). The questions are frozen for this attempt (shuffled as the quiz says; dynamic quizzes draw per category) and kept with their keys in the attempt's Durable Object, which enforces the deadline and submits by itself when time runs out. 409 when the quiz is outside its availability window, the learner has no attempts left, the quiz has no questions, or a category holds fewer questions than a rule draws. An attempt already running at that placement is returned (200) instead of a new one (201). Emits `quiz_attempt.started`.",
    security: SECURITY.learner,
    request: { params: ModuleIdParam, body: jsonBody(StartAttempt) },
    responses: {
      200: jsonResponse(Attempt, "The attempt already in progress"),
      201: jsonResponse(Attempt, "The new attempt"),
      ...errorResponses(401, 403, 404, 409, 413, 415),
    },
  }),
  async (c) => {
    const { resumed, attempt } = await attempts.startAttempt(
      learnerContext(c),
      c.req.valid("param").module_id,
      c.req.valid("json"),
    );
    c.header("Location", `/v1/learner/attempts/${attempt.id}`);
    // biome-ignore lint/suspicious/noExplicitAny: the live and result shapes are both the documented QuizAttempt
    return resumed ? c.json(attempt as any, 200) : c.json(attempt as any, 201);
  },
);

quizzesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/quizzes/{module_id}/attempts",
    operationId: "listMyQuizAttempts",
    tags,
    summary: "My attempts at a quiz",
    description: "The signed-in learner's attempts at the quiz, newest first; `course_id` narrows to one course.",
    security: SECURITY.learner,
    request: { params: ModuleIdParam, query: MyAttemptsQuery },
    responses: { 200: jsonResponse(AttemptSummaryList, "A page of attempts"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const ctx = learnerContext(c);
    return c.json(
      await quizzes.listMyAttempts(ctx, ctx.principal.userId, c.req.valid("param").module_id, c.req.valid("query")),
      200,
    );
  },
);

quizzesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/attempts/{id}",
    operationId: "getMyQuizAttempt",
    tags,
    summary: "An attempt (resume or results)",
    description:
      "While running: the questions (never their keys), the saved answers, `deadline_at`, `seconds_left` and `current_question_id`: the same from any device, so a reload resumes. Past the deadline the attempt is submitted first. Once finished: the result with per-question score and feedback; `correct_answer` and `explanation` only as the quiz's `show_correct_answers` rule allows (`not_till_retake_allowed`: once no retake is left), checked on every read.",
    security: SECURITY.learner,
    request: { params: AttemptIdParam },
    responses: { 200: jsonResponse(Attempt, "The attempt"), ...errorResponses(401, 403, 404) },
  }),
  // biome-ignore lint/suspicious/noExplicitAny: the live and result shapes are both the documented QuizAttempt
  async (c) => c.json((await attempts.attemptState(learnerContext(c), c.req.valid("param").id)) as any, 200),
);

quizzesRouter.openapi(
  createRoute({
    method: "put",
    path: "/v1/learner/attempts/{id}/answers/{question_id}",
    operationId: "saveQuizAnswer",
    tags,
    summary: "Save an answer",
    description:
      "Saves (or replaces) the answer to one question of a running attempt; saving the same answer again changes nothing. Only the attempt's Durable Object is touched. 404 for a question not in the attempt; 409 after submit or past the deadline, for a question out of order when the quiz forces sequential answering, or to change an answer already graded in real time; 422 when the answer does not fit the question's type. With real-time grading the answer's grade comes back in `feedback`.",
    security: SECURITY.learner,
    request: { params: AnswerParams, body: jsonBody(SaveAnswer) },
    responses: { 200: jsonResponse(SavedAnswer, "Saved"), ...errorResponses(401, 403, 404, 409, 413, 415) },
  }),
  async (c) => {
    const { id, question_id } = c.req.valid("param");
    return c.json(
      await attempts.saveAnswer(
        learnerContext(c),
        id,
        question_id,
        c.req.valid("json").answer as Record<string, unknown>,
      ),
      200,
    );
  },
);

quizzesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/attempts/{id}/submit",
    operationId: "submitQuizAttempt",
    tags,
    summary: "Submit an attempt",
    description:
      "Ends the attempt: every auto-gradable question is graded (unanswered ones score 0; negative marking applies to wrong answers), essays wait for a grader (status `pending_review`, module `submitted`); the attempt and its answers are written in one batch, then the module status and course progress (`passed`/`failed` against `pass_percent`). Idempotent: submitting again returns the same result. Emits `quiz_attempt.submitted` (and `quiz_attempt.graded` when nothing waits for a grader).",
    security: SECURITY.learner,
    request: { params: AttemptIdParam },
    responses: { 200: jsonResponse(Attempt, "The result"), ...errorResponses(401, 403, 404) },
  }),
  // biome-ignore lint/suspicious/noExplicitAny: the result shape is the documented QuizAttempt
  async (c) => c.json((await attempts.submitAttempt(learnerContext(c), c.req.valid("param").id)) as any, 200),
);
