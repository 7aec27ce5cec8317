import { z } from "@hono/zod-openapi";
import { listQuery, PaginationMeta, Timestamp } from "../../platform/openapi";

export const RatingValue = z
  .number()
  .int("Use a whole number from 1 to 5.")
  .min(1, "Use a whole number from 1 to 5.")
  .max(5, "Use a whole number from 1 to 5.")
  .openapi({ example: 5, description: "Stars, 1 to 5" });

export const RatingUpsert = z
  .strictObject({
    rating: RatingValue,
    review: z
      .string()
      .trim()
      .max(5000)
      .nullish()
      .openapi({ example: "Clear explanations and good exercises.", description: "Optional text, at most 5000" }),
  })
  .openapi("RatingUpsert");

/** The signed-in learner's own rating of a course. */
export const MyRating = z
  .object({
    id: z.number().int(),
    course_id: z.number().int(),
    rating: z.number().int().openapi({ example: 5 }),
    review: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("MyRating");

export const RatingSummary = z
  .object({
    average: z
      .number()
      .nullable()
      .openapi({ example: 4.5, description: "Mean of the ratings, two decimals; null without ratings" }),
    count: z.number().int().openapi({ example: 12 }),
    distribution: z
      .object({
        "1": z.number().int(),
        "2": z.number().int(),
        "3": z.number().int(),
        "4": z.number().int(),
        "5": z.number().int(),
      })
      .openapi({ description: "How many ratings gave each number of stars" }),
  })
  .openapi("RatingSummary");

/** A rating as other learners see it: the reviewer's name only. */
export const PublicRating = z
  .object({
    id: z.number().int(),
    rating: z.number().int().openapi({ example: 4 }),
    review: z.string().nullable(),
    reviewer: z.object({ name: z.string().openapi({ example: "Ada Lovelace" }) }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("PublicRating");

/** A rating as staff see it: who gave it. */
export const AdminRating = z
  .object({
    id: z.number().int(),
    course_id: z.number().int(),
    rating: z.number().int().openapi({ example: 4 }),
    review: z.string().nullable(),
    learner: z.object({
      id: z.number().int(),
      name: z.string().openapi({ example: "Ada Lovelace" }),
      email: z.string().openapi({ example: "ada@example.com" }),
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("AdminRating");

export const PublicRatingList = z
  .object({ data: z.array(PublicRating), meta: PaginationMeta, summary: RatingSummary })
  .openapi("PublicRatingList");

export const AdminRatingList = z
  .object({ data: z.array(AdminRating), meta: PaginationMeta, summary: RatingSummary })
  .openapi("AdminRatingList");

export const RatingListQuery = listQuery(["created_at", "rating"], "-created_at").extend({
  rating: z.coerce
    .number()
    .int()
    .min(1)
    .max(5)
    .optional()
    .openapi({ description: "Only ratings with this many stars" }),
});

export const CourseRatingParams = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name: "id", in: "path" }, example: 42, description: "The course id" }),
  ratingId: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name: "ratingId", in: "path" }, example: 7, description: "The rating id" }),
});
