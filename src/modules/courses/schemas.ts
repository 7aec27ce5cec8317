import { z } from "@hono/zod-openapi";
import { listQuery, paginated, Timestamp } from "../../platform/openapi";
import { IsoDateTime, Name, Slug, Url } from "../../platform/validation";
import { COMPLETION_RULES, COURSE_STATUSES, DRIP_RULES, DURATION_RULES, GRADING_RULES } from "./tables";

const Ids = (max: number) => z.array(z.number().int().positive().max(Number.MAX_SAFE_INTEGER)).max(max);

export const ThankYouPage = z
  .strictObject({
    enabled: z.boolean(),
    url: Url.nullable().default(null),
    message: z.string().max(5000).nullable().default(null),
  })
  .openapi("ThankYouPage", { description: "Where learners land after finishing: an URL, or a message." });

export const Course = z
  .object({
    id: z.number().int(),
    name: z.string().openapi({ example: "Introduction to Statistics" }),
    slug: z.string().openapi({ example: "introduction-to-statistics" }),
    subtitle: z.string().nullable(),
    description: z.string().nullable(),
    status: z.enum(COURSE_STATUSES),
    show_in_catalog: z.boolean().openapi({ description: "Listed in the public catalog once published" }),
    picture_url: z.string().nullable(),
    thumbnail_url: z.string().nullable(),
    logo_url: z.string().nullable(),
    landing_page_url: z.string().nullable(),
    custom_url: z.string().nullable(),
    seo_title: z.string().nullable(),
    seo_description: z.string().nullable(),
    seo_keywords: z.string().nullable(),
    finish_message: z.string().nullable(),
    thank_you_page: ThankYouPage,
    ratings_enabled: z.boolean(),
    rating: z.object({ average: z.number().nullable(), count: z.number().int() }),
    duration_rule: z.enum(DURATION_RULES),
    access_days: z.number().int().nullable(),
    access_until: z.string().nullable(),
    grading_rule: z.enum(GRADING_RULES),
    graded_module_ids: z.array(z.number().int()),
    passing_grade: z.number().int().nullable(),
    completion_rule: z.enum(COMPLETION_RULES),
    completion_percentage: z.number().int().nullable(),
    certificate_template_ids: z.array(z.number().int()),
    sequential_navigation: z.boolean(),
    drip_enabled: z.boolean(),
    estimated_minutes: z.number().int().nullable(),
    category_ids: z.array(z.number().int()),
    instructor_ids: z.array(z.number().int()),
    version: z.number().int().openapi({ description: "Grows with every change to the course or its curriculum" }),
    published_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
    deleted_at: Timestamp.nullable(),
  })
  .openapi("Course");

/** The settable fields; create needs only `name` (a draft), update takes any subset. */
const courseFields = {
  name: Name.openapi({ example: "Introduction to Statistics" }),
  slug: Slug.openapi({ description: "Unique per academy; defaults to one made from the name" }),
  subtitle: z.string().max(300).nullable(),
  description: z.string().max(100_000).nullable(),
  show_in_catalog: z.boolean(),
  picture_url: Url.nullable(),
  thumbnail_url: Url.nullable(),
  logo_url: Url.nullable(),
  landing_page_url: Url.nullable(),
  custom_url: Url.nullable(),
  seo_title: z.string().max(200).nullable(),
  seo_description: z.string().max(1000).nullable(),
  seo_keywords: z.string().max(1000).nullable(),
  finish_message: z.string().max(5000).nullable(),
  thank_you_page: ThankYouPage,
  ratings_enabled: z.boolean(),
  duration_rule: z.enum(DURATION_RULES),
  access_days: z.number().int().min(1).max(3650).nullable().openapi({ description: "For the x_days_* rules" }),
  access_until: IsoDateTime.nullable().openapi({ description: "For the on_specific_date rule" }),
  grading_rule: z.enum(GRADING_RULES),
  graded_module_ids: Ids(500).openapi({ description: "Modules averaged by avg_specific_modules" }),
  passing_grade: z.number().int().min(0).max(100).nullable().openapi({ description: "Percent" }),
  completion_rule: z.enum(COMPLETION_RULES),
  completion_percentage: z.number().int().min(1).max(100).nullable(),
  certificate_template_ids: Ids(20),
  sequential_navigation: z.boolean(),
  drip_enabled: z.boolean(),
  estimated_minutes: z.number().int().min(0).max(1_000_000).nullable(),
  category_ids: Ids(50),
  instructor_ids: Ids(50).openapi({ description: "Staff users who teach the course, in display order" }),
};

export const CourseCreate = z
  .strictObject({
    ...Object.fromEntries(Object.entries(courseFields).map(([k, v]) => [k, v.optional()])),
    name: courseFields.name,
  } as {
    [K in keyof typeof courseFields]: K extends "name"
      ? (typeof courseFields)[K]
      : z.ZodOptional<(typeof courseFields)[K]>;
  })
  .openapi("CourseCreate");

export const CourseUpdate = z
  .strictObject({
    ...Object.fromEntries(Object.entries(courseFields).map(([k, v]) => [k, v.optional()])),
    status: z.enum(COURSE_STATUSES).optional().openapi({
      description:
        "`published` runs the same checks as `POST /publish`; `archived` hides the course from learners' catalog",
    }),
  } as { [K in keyof typeof courseFields]: z.ZodOptional<(typeof courseFields)[K]> } & {
    status: z.ZodOptional<z.ZodEnum<{ draft: "draft"; published: "published"; archived: "archived" }>>;
  })
  .openapi("CourseUpdate");

export const CourseQuickEditItem = z
  .strictObject({
    id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    name: courseFields.name.optional(),
    subtitle: courseFields.subtitle.optional(),
    slug: courseFields.slug.optional(),
    status: z.enum(["draft", "archived"]).optional().openapi({ description: "Publishing goes through `/publish`" }),
    show_in_catalog: z.boolean().optional(),
    ratings_enabled: z.boolean().optional(),
    sequential_navigation: z.boolean().optional(),
    category_ids: courseFields.category_ids.optional(),
  })
  .openapi("CourseQuickEditItem");

export const CourseQuickEdit = z
  .strictObject({ items: z.array(CourseQuickEditItem).min(1).max(100) })
  .openapi("CourseQuickEdit");

export const CourseListQuery = listQuery(["name", "created_at", "updated_at", "published_at"], "-created_at").extend({
  status: z.enum(COURSE_STATUSES).optional(),
  category_id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  instructor_id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  deleted: z
    .enum(["exclude", "only"])
    .default("exclude")
    .openapi({ description: "`only` lists soft-deleted courses (to restore them)" }),
});

export const CourseList = paginated(Course, "CourseList");
export const CourseBatch = z.object({ data: z.array(Course) }).openapi("CourseBatch");

export const BulkIds = z
  .strictObject({
    ids: Ids(100).min(1),
    force: z.boolean().default(false).openapi({ description: "Also delete courses that learning paths contain" }),
  })
  .openapi("CourseBulkDelete");
export const BulkDeleted = z.object({ deleted: z.array(z.number().int()) }).openapi("BulkDeleted");

export const ForceQuery = z.object({
  force: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true")
    .openapi({ description: "Delete even when learning paths contain the course (removes it from them)" }),
});

export const CourseClone = z
  .strictObject({
    name: courseFields.name.optional().openapi({ description: "Defaults to `<name> (copy)`" }),
    slug: courseFields.slug.optional(),
    modules: z
      .enum(["share", "copy"])
      .default("share")
      .openapi({ description: "`share` places the same modules; `copy` places new copies of them" }),
  })
  .openapi("CourseClone");

export const Option = z.object({ value: z.string(), label: z.string() }).openapi("Option");
export const OptionList = z.array(Option).openapi("OptionList");

export const PublishProblemNote =
  "A course that is not ready answers 422 with one `errors` item per missing thing (for example `curriculum`: the course has no modules).";

// Curriculum

export const Drip = {
  drip_rule: z
    .enum(DRIP_RULES)
    .openapi({ description: "`after_enrollment` uses `drip_days`; `on_date` uses `drip_date`" }),
  drip_days: z.number().int().min(0).max(3650).nullable(),
  drip_date: IsoDateTime.nullable(),
};

export const OutlineModule = z
  .object({
    id: z.number().int(),
    type: z.string(),
    name: z.string(),
    slug: z.string(),
    description: z.string().nullable(),
    estimated_minutes: z.number().int().nullable(),
    points: z.number().int(),
    settings: z.record(z.string(), z.unknown()),
  })
  .openapi("OutlineModule");

export const Placement = z
  .object({
    id: z.number().int(),
    section_id: z.number().int(),
    module_id: z.number().int(),
    position: z.number().int(),
    required: z.boolean(),
    drip_rule: z.enum(DRIP_RULES),
    drip_days: z.number().int().nullable(),
    drip_date: z.string().nullable(),
    prerequisite_ids: z.array(z.number().int()).openapi({ description: "Placements to complete first" }),
    module: OutlineModule,
  })
  .openapi("Placement");

export const Section = z
  .object({
    id: z.number().int(),
    name: z.string(),
    description: z.string().nullable(),
    position: z.number().int(),
    release_at: z.string().nullable(),
    placements: z.array(Placement),
  })
  .openapi("Section");

export const Outline = z
  .object({ course_id: z.number().int(), version: z.number().int(), sections: z.array(Section) })
  .openapi("Outline");

export const SectionCreate = z
  .strictObject({
    name: Name.openapi({ example: "Getting started" }),
    description: z.string().max(5000).nullish(),
    release_at: IsoDateTime.nullish().openapi({ description: "The section opens at this time" }),
    position: z.number().int().min(0).max(10_000).optional().openapi({ description: "Defaults to the end" }),
  })
  .openapi("SectionCreate");

export const SectionUpdate = z
  .strictObject({
    name: Name.optional(),
    description: z.string().max(5000).nullish(),
    release_at: IsoDateTime.nullish(),
  })
  .openapi("SectionUpdate");

export const PlacementCreate = z
  .strictObject({
    module_id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    required: z.boolean().default(true),
    ...Object.fromEntries(Object.entries(Drip).map(([k, v]) => [k, v.optional()])),
    prerequisite_ids: Ids(50).default([]),
    position: z.number().int().min(0).max(10_000).optional().openapi({ description: "Defaults to the end" }),
  } as {
    module_id: z.ZodNumber;
    required: z.ZodDefault<z.ZodBoolean>;
    drip_rule: z.ZodOptional<(typeof Drip)["drip_rule"]>;
    drip_days: z.ZodOptional<(typeof Drip)["drip_days"]>;
    drip_date: z.ZodOptional<(typeof Drip)["drip_date"]>;
    prerequisite_ids: z.ZodDefault<ReturnType<typeof Ids>>;
    position: z.ZodOptional<z.ZodNumber>;
  })
  .openapi("PlacementCreate");

export const PlacementUpdate = z
  .strictObject({
    required: z.boolean().optional(),
    drip_rule: Drip.drip_rule.optional(),
    drip_days: Drip.drip_days.optional(),
    drip_date: Drip.drip_date.optional(),
    prerequisite_ids: Ids(50).optional(),
  })
  .openapi("PlacementUpdate");

export const CurriculumOrder = z
  .strictObject({
    sections: z
      .array(
        z.strictObject({
          id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
          placement_ids: Ids(1000),
        }),
      )
      .max(500)
      .openapi({
        description:
          "Every section of the course, in the new order, each with every placement it holds in the new order (placements may move between sections).",
      }),
  })
  .openapi("CurriculumOrder");

export const SectionParams = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name: "id", in: "path" }, description: "The course id", example: 42 }),
  sectionId: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name: "sectionId", in: "path" }, description: "The section id", example: 7 }),
});

export const PlacementParams = z.object({
  id: SectionParams.shape.id,
  placementId: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name: "placementId", in: "path" }, description: "The placement id", example: 11 }),
});

export const SectionResponse = Section;
