import { createRoute } from "@hono/zod-openapi";
import { adminContext } from "../../platform/auth";
import {
  adminAccess,
  createRouter,
  errorResponses,
  IdParam,
  jsonBody,
  jsonResponse,
  LookupResponse,
} from "../../platform/openapi";
import {
  Category,
  CategoryBulkDelete,
  CategoryBulkDeleteResult,
  CategoryCreate,
  CategoryDeleteQuery,
  CategoryList,
  CategoryListQuery,
  CategoryLookupQuery,
  CategoryOrder,
  CategoryOrderResult,
  CategoryUpdate,
} from "./schemas";
import * as categories from "./service";

const tags = ["Categories"];
export const categoriesRouter = createRouter();

categoriesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/categories",
    operationId: "listCategories",
    tags,
    summary: "List categories",
    description:
      "Typed categories (course, module, product, question, user, learning_path); filter by type, search by name, sort by position (default), name, created_at or updated_at.",
    ...adminAccess("categories:read"),
    request: { query: CategoryListQuery },
    responses: { 200: jsonResponse(CategoryList, "A page of categories"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await categories.listCategories(adminContext(c), c.req.valid("query")), 200),
);

categoriesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/categories/lookup",
    operationId: "lookupCategories",
    tags,
    summary: "Category picker",
    description: "`[{value, label}]` pairs for a category picker, in display order; filter by type, search by name.",
    ...adminAccess("categories:read"),
    request: { query: CategoryLookupQuery },
    responses: { 200: jsonResponse(LookupResponse, "Matching categories"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await categories.lookupCategories(adminContext(c), c.req.valid("query")), 200),
);

categoriesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/categories",
    operationId: "createCategory",
    tags,
    summary: "Create a category",
    description: "Slugs are unique per academy and type (409).",
    ...adminAccess("categories:write"),
    request: { body: jsonBody(CategoryCreate) },
    responses: { 201: jsonResponse(Category, "The new category"), ...errorResponses(401, 403, 409, 413, 415) },
  }),
  async (c) => {
    const category = await categories.createCategory(adminContext(c), c.req.valid("json"));
    c.header("Location", `/v1/admin/categories/${category.id}`);
    return c.json(category, 201);
  },
);

categoriesRouter.openapi(
  createRoute({
    method: "put",
    path: "/v1/admin/categories/order",
    operationId: "orderCategories",
    tags,
    summary: "Reorder the categories of a type",
    description:
      "Sets each category's `position` to its index in `ids`. `ids` must list every category of `type` exactly once and nothing else: missing, repeated or foreign ids are a 422 naming them, and nothing is written. Answers the categories of the type in their new order.",
    ...adminAccess("categories:write"),
    request: { body: jsonBody(CategoryOrder) },
    responses: {
      200: jsonResponse(CategoryOrderResult, "The categories of the type, in order"),
      ...errorResponses(401, 403, 413, 415),
    },
  }),
  async (c) => c.json(await categories.orderCategories(adminContext(c), c.req.valid("json")), 200),
);

categoriesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/categories/bulk-delete",
    operationId: "bulkDeleteCategories",
    tags,
    summary: "Delete many categories",
    description:
      "Deletes the listed categories atomically (all or none). Unknown or repeated ids are a 422 naming `ids.N`. Categories still used by courses, modules or learning paths are a 409 whose `in_use` lists, per category, what uses it; with `force: true` they are detached from those and deleted.",
    ...adminAccess("categories:write"),
    request: { body: jsonBody(CategoryBulkDelete) },
    responses: {
      200: jsonResponse(CategoryBulkDeleteResult, "The deleted categories"),
      ...errorResponses(401, 403, 409, 413, 415),
    },
  }),
  async (c) => c.json(await categories.bulkDeleteCategories(adminContext(c), c.req.valid("json")), 200),
);

categoriesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/categories/{id}",
    operationId: "getCategory",
    tags,
    summary: "Get a category",
    description: "One category.",
    ...adminAccess("categories:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Category, "The category"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    return c.json(categories.toCategory(await categories.findCategory(ctx, c.req.valid("param").id)), 200);
  },
);

categoriesRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/admin/categories/{id}",
    operationId: "updateCategory",
    tags,
    summary: "Update a category",
    description:
      "Changes the name, slug (unique per academy and type: 409), description or position. The type cannot change (422).",
    ...adminAccess("categories:write"),
    request: { params: IdParam, body: jsonBody(CategoryUpdate) },
    responses: {
      200: jsonResponse(Category, "The updated category"),
      ...errorResponses(401, 403, 404, 409, 413, 415),
    },
  }),
  async (c) =>
    c.json(await categories.updateCategory(adminContext(c), c.req.valid("param").id, c.req.valid("json")), 200),
);

categoriesRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/categories/{id}",
    operationId: "deleteCategory",
    tags,
    summary: "Delete a category",
    description:
      "A category still used by courses, modules or learning paths is a 409 whose `used_by` names them (up to 20 of each; `used_by_counts` has the totals). With `?force=true` it is detached from them and deleted.",
    ...adminAccess("categories:write"),
    request: { params: IdParam, query: CategoryDeleteQuery },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    await categories.deleteCategory(adminContext(c), c.req.valid("param").id, c.req.valid("query").force);
    return c.body(null, 204);
  },
);
