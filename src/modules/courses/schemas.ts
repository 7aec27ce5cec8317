import { z } from "@hono/zod-openapi";
import { listQuery, paginated, Timestamp } from "../../platform/openapi";
import { Name, Slug } from "../../platform/validation";
import { COURSE_STATUSES } from "./tables";

export const Course = z
  .object({
    id: z.number().int(),
    name: z.string().openapi({ example: "Introduction to Statistics" }),
    slug: z.string().openapi({ example: "introduction-to-statistics" }),
    subtitle: z.string().nullable(),
    description: z.string().nullable(),
    status: z.enum(COURSE_STATUSES),
    show_in_catalog: z.boolean(),
    category_ids: z.array(z.number().int()),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Course");

export const CourseCreate = z
  .strictObject({
    name: Name.openapi({ example: "Introduction to Statistics" }),
    slug: Slug.optional().openapi({ description: "Unique per academy; defaults to one made from the name" }),
    subtitle: z.string().max(300).nullish(),
    description: z.string().max(100_000).nullish(),
    show_in_catalog: z.boolean().optional(),
    category_ids: z.array(z.number().int().positive()).max(50).default([]),
  })
  .openapi("CourseCreate");

export const CourseListQuery = listQuery(["name", "created_at", "updated_at"], "-created_at").extend({
  status: z.enum(COURSE_STATUSES).optional(),
  category_id: z.coerce.number().int().positive().optional(),
});

export const CourseList = paginated(Course, "CourseList");
