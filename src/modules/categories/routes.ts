import { createRoute } from "@hono/zod-openapi";
import { adminContext } from "../../platform/auth";
import { adminAccess, createRouter, errorResponses, IdParam, jsonBody, jsonResponse } from "../../platform/openapi";
import { Category, CategoryCreate, CategoryList, CategoryListQuery } from "./schemas";
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
    description: "Typed categories (course, module, product, question, user, learning_path); filter by type.",
    ...adminAccess("categories:read"),
    request: { query: CategoryListQuery },
    responses: { 200: jsonResponse(CategoryList, "A page of categories"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await categories.listCategories(adminContext(c), c.req.valid("query")), 200),
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
