import { z } from "@hono/zod-openapi";
import { listQuery, paginated, Timestamp } from "../../platform/openapi";
import { Name, Slug } from "../../platform/validation";
import { CATEGORY_TYPES } from "./tables";

export const Category = z
  .object({
    id: z.number().int(),
    type: z.enum(CATEGORY_TYPES),
    name: z.string(),
    slug: z.string(),
    description: z.string().nullable(),
    position: z.number().int(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Category");

export const CategoryCreate = z
  .strictObject({
    type: z.enum(CATEGORY_TYPES).default("course"),
    name: Name.openapi({ example: "Data science" }),
    slug: Slug.optional().openapi({ description: "Defaults to one made from the name" }),
    description: z.string().max(5000).nullish(),
    position: z.number().int().min(0).max(1_000_000).optional(),
  })
  .openapi("CategoryCreate");

export const CategoryListQuery = listQuery(["name", "position", "created_at"], "position").extend({
  type: z.enum(CATEGORY_TYPES).optional(),
});

export const CategoryList = paginated(Category, "CategoryList");
