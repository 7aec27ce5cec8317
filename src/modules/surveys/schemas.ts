import { z } from "@hono/zod-openapi";
import { Timestamp } from "../../platform/openapi";

const Id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const ModuleIdParam = z.object({
  module_id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name: "module_id", in: "path" }, example: 12, description: "The survey module" }),
});

export const SurveyAnswerInput = z
  .strictObject({
    question_id: z.string().min(1).max(64).openapi({ example: "q1" }),
    value: z.union([z.number(), z.array(z.number()).max(50), z.string().max(10_000)]).openapi({
      description:
        "`rating`: a whole number within the question's scale; `single_choice`: the option's index (from 0); `multiple_choice`: an array of option indexes; `text`: a string",
      example: 4,
    }),
  })
  .openapi("SurveyAnswerInput");

export const SurveyResponseInput = z
  .strictObject({
    course_id: Id.openapi({ description: "The course the survey is answered in", example: 3 }),
    placement_id: Id.openapi({ description: "The survey's placement in that course", example: 17 }),
    answers: z.array(SurveyAnswerInput).max(100),
  })
  .openapi("SurveyResponseInput");

export const SurveyAnswer = z
  .object({
    question_id: z.string(),
    value: z.union([z.number(), z.array(z.number()), z.string()]),
  })
  .openapi("SurveyAnswer");

export const SurveyResponse = z
  .object({
    id: z.number().int(),
    module_id: z.number().int(),
    course_id: z.number().int(),
    placement_id: z.number().int(),
    anonymous: z.boolean().openapi({ description: "Stored without the learner" }),
    answers: z.array(SurveyAnswer),
    created_at: Timestamp,
    module_status: z.string().openapi({ description: "The placement's status after the response", example: "passed" }),
    progress_percent: z.number().openapi({ description: "The course progress after the response" }),
  })
  .openapi("SurveyResponse");

export const ResultsQuery = z.object({
  course_id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .optional()
    .openapi({ description: "Only responses given in this course" }),
});

const Bucket = z
  .object({
    value: z.number().openapi({ description: "The rating, or the option index" }),
    label: z.string().openapi({ description: "The rating as text, or the option's text" }),
    count: z.number().int(),
    percent: z.number().openapi({ description: "Of the responses that answered the question" }),
  })
  .openapi("SurveyResultBucket");

export const SurveyQuestionResult = z
  .object({
    question_id: z.string(),
    type: z.enum(["rating", "single_choice", "multiple_choice", "text"]),
    prompt: z.string(),
    answered: z.number().int().openapi({ description: "Responses that answered it" }),
    average: z.number().nullable().openapi({ description: "Ratings: the mean (2 decimals); else null" }),
    distribution: z.array(Bucket).openapi({ description: "Ratings and choices: every value with its count" }),
    recent_texts: z.array(z.string()).openapi({ description: "Text questions: the 10 latest answers" }),
  })
  .openapi("SurveyQuestionResult");

export const SurveyResults = z
  .object({
    module_id: z.number().int(),
    course_id: z.number().int().nullable(),
    anonymous: z.boolean(),
    responses: z.number().int(),
    questions: z.array(SurveyQuestionResult),
  })
  .openapi("SurveyResults");
