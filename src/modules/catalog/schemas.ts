import { z } from "@hono/zod-openapi";
import { Timestamp } from "../../platform/openapi";
import { MODULE_TYPES } from "../content-modules/tables";
import { DRIP_RULES, DURATION_RULES } from "../courses/tables";
import { RatingSummary } from "../ratings/schemas";

export const CATALOG_KINDS = ["course", "learning_path"] as const;
export const CATALOG_SORTS = ["-published_at", "published_at", "name", "-name"] as const;

export const CatalogQuery = z.object({
  page: z.coerce.number().int().min(1).max(100_000).default(1).openapi({ description: "Page number, from 1" }),
  per_page: z.coerce.number().int().min(1).max(100).default(15).openapi({ description: "Items per page (max 100)" }),
  sort: z.enum(CATALOG_SORTS).default("-published_at").openapi({
    description:
      "One field: newest first (`-published_at`, the default), oldest first, or by name. There is no sort by rating: the average is not an indexed column, so it would sort every published course of the academy on each uncached read.",
  }),
  kind: z
    .enum(CATALOG_KINDS)
    .optional()
    .openapi({ description: "Only courses or only learning paths; both, merged in one order, when omitted" }),
  category_id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .optional()
    .openapi({ description: "Only items in this category" }),
  q: z.string().max(200).optional().openapi({ description: "Case-insensitive search in the name" }),
  cursor: z.string().min(1).max(2048).optional().openapi({
    description:
      "`meta.next_cursor` of the previous page (same `sort` and filters): the page right after it, as fast at any depth. `page` is ignored when a cursor is given. Use it to walk a large catalog; page numbers deep into a large catalog get slower as the number grows.",
    example: "WyJuYW1lIiwiSW50cm8iLCJjb3Vyc2UiLDEyXQ",
  }),
});

const PublicRating = z
  .object({
    average: z.number().nullable().openapi({ example: 4.5, description: "Two decimals; null without ratings" }),
    count: z.number().int().openapi({ example: 12 }),
  })
  .openapi("CatalogRating");

export const CatalogItem = z
  .object({
    kind: z.enum(CATALOG_KINDS),
    id: z.number().int().openapi({ description: "A course id or a learning path id, depending on `kind`" }),
    slug: z.string().openapi({ example: "introduction-to-statistics" }),
    name: z.string().openapi({ example: "Introduction to Statistics" }),
    summary: z.string().nullable().openapi({
      description: "A course's subtitle; the first 300 characters of a learning path's description",
    }),
    picture_url: z.string().nullable(),
    category_ids: z.array(z.number().int()),
    rating: PublicRating.nullable().openapi({
      description: "Courses: average and count; null for learning paths and for courses whose ratings are turned off",
    }),
    course_count: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Learning paths: how many published courses they hold; null for courses" }),
    published_at: Timestamp.nullable(),
  })
  .openapi("CatalogItem");

export const CatalogPageMeta = z
  .object({
    page: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "The page number asked for; null when a `cursor` was given" }),
    per_page: z.number().int(),
    total: z.number().int().openapi({ description: "Items matching the filters, over all pages" }),
    last_page: z.number().int(),
    next_cursor: z.string().nullable().openapi({
      description: "Send it as `cursor` (same `sort` and filters) for the next page; null on the last page",
    }),
  })
  .openapi("CatalogPageMeta");

export const CatalogPage = z.object({ data: z.array(CatalogItem), meta: CatalogPageMeta }).openapi("CatalogPage");

export const SlugParam = z.object({
  slug: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "slug", in: "path" }, example: "introduction-to-statistics" }),
});

export const PublicInstructor = z
  .object({
    id: z.number().int(),
    name: z.string().openapi({ example: "Grace Hopper" }),
    headline: z.string().nullable(),
    bio: z.string().nullable(),
    picture_url: z.string().nullable(),
  })
  .openapi("PublicInstructor");

export const PublicCategory = z
  .object({ id: z.number().int(), name: z.string(), slug: z.string() })
  .openapi("PublicCategory");

const Drip = z
  .object({
    rule: z.enum(DRIP_RULES),
    days: z.number().int().nullable().openapi({ description: "`after_enrollment`: days after enrolling" }),
    date: z.string().nullable().openapi({ description: "`on_date`: when it opens" }),
  })
  .openapi("Drip");

export const PublicPlacement = z
  .object({
    id: z.number().int(),
    position: z.number().int(),
    required: z.boolean(),
    drip: Drip,
    module: z.object({
      id: z.number().int(),
      type: z.enum(MODULE_TYPES),
      name: z.string(),
      estimated_minutes: z.number().int().nullable(),
    }),
  })
  .openapi("PublicPlacement", { description: "What anyone may know of a module in a course: never its content" });

export const PublicSection = z
  .object({
    id: z.number().int(),
    name: z.string(),
    description: z.string().nullable(),
    position: z.number().int(),
    release_at: z.string().nullable(),
    placements: z.array(PublicPlacement),
  })
  .openapi("PublicSection");

const courseLanding = {
  id: z.number().int(),
  slug: z.string(),
  name: z.string(),
  subtitle: z.string().nullable(),
  description: z.string().nullable(),
  picture_url: z.string().nullable(),
  thumbnail_url: z.string().nullable(),
  logo_url: z.string().nullable(),
  landing_page_url: z.string().nullable(),
  seo: z.object({
    title: z.string().nullable(),
    description: z.string().nullable(),
    keywords: z.string().nullable(),
  }),
  estimated_minutes: z.number().int().nullable(),
  duration: z.object({
    rule: z.enum(DURATION_RULES),
    access_days: z.number().int().nullable(),
    access_until: z.string().nullable(),
  }),
  sequential_navigation: z.boolean(),
  drip_enabled: z.boolean(),
  published_at: Timestamp.nullable(),
};

export const PublicCourse = z
  .object({
    ...courseLanding,
    instructors: z.array(PublicInstructor),
    categories: z.array(PublicCategory),
    rating: RatingSummary.nullable().openapi({ description: "null while the course's ratings are turned off" }),
    module_count: z.number().int(),
    sections: z.array(PublicSection),
  })
  .openapi("PublicCourse");

export const PublicPathStep = z
  .object({
    id: z.number().int(),
    position: z.number().int().openapi({ description: "From 0, among the steps shown" }),
    required: z.boolean(),
    prerequisite_step_ids: z.array(z.number().int()).openapi({ description: "Steps to complete before this one" }),
    course: z.object({
      id: z.number().int(),
      slug: z.string(),
      name: z.string(),
      subtitle: z.string().nullable(),
      picture_url: z.string().nullable(),
      listed: z.boolean().openapi({
        description:
          "false when the course is hidden from the catalog: it is part of the path but has no public landing page",
      }),
    }),
  })
  .openapi("PublicPathStep");

export const PublicLearningPath = z
  .object({
    id: z.number().int(),
    slug: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    picture_url: z.string().nullable(),
    categories: z.array(PublicCategory),
    course_count: z.number().int(),
    steps: z.array(PublicPathStep),
    published_at: Timestamp.nullable(),
  })
  .openapi("PublicLearningPath");

// ---- the signed-in learner's view ------------------------------------------------------------------------------

export const LearnerPlacement = z
  .object({
    id: z.number().int(),
    module_id: z.number().int(),
    position: z.number().int(),
    required: z.boolean(),
    drip: Drip,
    prerequisite_ids: z.array(z.number().int()).openapi({ description: "Placements to complete before this one" }),
    module: z.object({
      id: z.number().int(),
      type: z.enum(MODULE_TYPES),
      name: z.string(),
      slug: z.string(),
      description: z.string().nullable(),
      estimated_minutes: z.number().int().nullable(),
      points: z.number().int(),
    }),
    progress: z.null().openapi({
      description: "The learner's progress in this module; always null until enrollments and progress exist",
    }),
    locked: z.boolean().openapi({
      description:
        "Whether the module is closed to the learner (drip, prerequisites, sequential navigation); always false until enrollments exist",
    }),
  })
  .openapi("LearnerPlacement");

export const LearnerSection = PublicSection.extend({ placements: z.array(LearnerPlacement) }).openapi("LearnerSection");

export const LearnerCourse = z
  .object({
    ...courseLanding,
    ratings_enabled: z.boolean(),
    rating: PublicRating.nullable().openapi({ description: "null while the course's ratings are turned off" }),
    version: z.number().int().openapi({ description: "Grows with every change to the course or its curriculum" }),
    module_count: z.number().int(),
    sections: z.array(LearnerSection),
  })
  .openapi("LearnerCourse");
