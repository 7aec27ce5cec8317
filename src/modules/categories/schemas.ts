import { z } from "@hono/zod-openapi";
import { LookupQuery, listQuery, paginated, Timestamp } from "../../platform/openapi";
import { Name, Slug } from "../../platform/validation";
import { CATEGORY_TYPES } from "./tables";

const CategoryId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

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

export const CategoryUpdate = z
  .strictObject({
    type: z.enum(CATEGORY_TYPES).optional().openapi({
      description: "Immutable: accepted only when it repeats the category's current type (422 otherwise)",
    }),
    name: Name.openapi({ example: "Data science" }),
    slug: Slug.openapi({ description: "Unique per academy and type (409)" }),
    description: z.string().max(5000).nullable(),
    position: z.number().int().min(0).max(1_000_000),
  })
  .partial()
  .openapi("CategoryUpdate");

export const CategoryListQuery = listQuery(["name", "position", "created_at", "updated_at"], "position").extend({
  type: z.enum(CATEGORY_TYPES).optional(),
});

export const CategoryList = paginated(Category, "CategoryList");

export const CategoryLookupQuery = LookupQuery.extend({
  type: z.enum(CATEGORY_TYPES).optional().openapi({ description: "Only categories of this type" }),
});

export const CategoryDeleteQuery = z.object({
  force: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true")
    .openapi({ description: "Detach the category from everything that uses it, then delete it" }),
});

const UsageItem = z.object({ id: z.number().int(), name: z.string() });

export const CategoryUsage = z
  .object({
    courses: z.array(UsageItem),
    modules: z.array(UsageItem),
    learning_paths: z.array(UsageItem),
  })
  .openapi("CategoryUsage", {
    description: "What uses a category (at most 20 of each kind; `used_by_counts` has the totals).",
  });

export const CategoryBulkDelete = z
  .strictObject({
    ids: z
      .array(CategoryId)
      .min(1)
      .max(100)
      .openapi({ example: [4, 7] }),
    force: z.boolean().default(false).openapi({ description: "Detach categories still in use, then delete them" }),
  })
  .openapi("CategoryBulkDelete");

export const CategoryBulkDeleteResult = z
  .object({ deleted: z.array(z.number().int()).openapi({ description: "The ids deleted, in request order" }) })
  .openapi("CategoryBulkDeleteResult");

export const CategoryOrder = z
  .strictObject({
    type: z.enum(CATEGORY_TYPES),
    ids: z
      .array(CategoryId)
      .max(1000)
      .openapi({ description: "Every category of `type`, each once, in the new order", example: [7, 4, 9] }),
  })
  .openapi("CategoryOrder");

export const CategoryOrderResult = z.object({ data: z.array(Category) }).openapi("CategoryOrderResult");
