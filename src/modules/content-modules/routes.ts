import { createRoute } from "@hono/zod-openapi";
import { adminContext } from "../../platform/auth";
import { adminAccess, createRouter, errorResponses, IdParam, jsonBody, jsonResponse } from "../../platform/openapi";
import {
  Module,
  ModuleBatch,
  ModuleBulkDelete,
  ModuleBulkDeleted,
  ModuleClone,
  ModuleCreate,
  ModuleCreateFields,
  ModuleForceQuery,
  ModuleList,
  ModuleListQuery,
  ModuleLookupQuery,
  ModuleLookupResponse,
  ModuleQuickEdit,
  ModuleTypeList,
  ModuleUpdate,
} from "./schemas";
import * as modules from "./service";

const tags = ["Modules"];
export const modulesRouter = createRouter();

// The create body references the fields common to every type (see ModuleCreate).
modulesRouter.openAPIRegistry.register("ModuleCreateFields", ModuleCreateFields);

modulesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/modules",
    operationId: "listModules",
    tags,
    summary: "List modules",
    description:
      "Reusable content items of the academy, with the courses that place each one. Filter by type, module category or course (`course_id`: the modules placed in that course); search by name.",
    ...adminAccess("modules:read"),
    request: { query: ModuleListQuery },
    responses: { 200: jsonResponse(ModuleList, "A page of modules"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await modules.listModules(adminContext(c), c.req.valid("query")), 200),
);

modulesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/modules",
    operationId: "createModule",
    tags,
    summary: "Create a module",
    description:
      "A module of any type: `type` and `name` are enough (settings take the type's defaults). `settings` must match the type's schema (`VideoModuleSettings`, ...): a field of another type is a 422 naming it (`settings.cards`). Slugs are unique per academy: an explicit `slug` in use is a 409; one made from the name gets the first free suffix.",
    ...adminAccess("modules:write"),
    request: { body: jsonBody(ModuleCreate) },
    responses: { 201: jsonResponse(Module, "The new module"), ...errorResponses(401, 403, 409, 413, 415) },
  }),
  async (c) => {
    const module = await modules.createModule(adminContext(c), c.req.valid("json"));
    c.header("Location", `/v1/admin/modules/${module.id}`);
    return c.json(module, 201);
  },
);

modulesRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/admin/modules",
    operationId: "quickEditModules",
    tags,
    summary: "Quick edit modules",
    description:
      "Changes the listed fields of up to 100 modules at once, atomically: an unknown or repeated id (`items.N.id`) or any invalid item changes nothing.",
    ...adminAccess("modules:write"),
    request: { body: jsonBody(ModuleQuickEdit) },
    responses: { 200: jsonResponse(ModuleBatch, "The modules, as edited"), ...errorResponses(401, 403, 413, 415) },
  }),
  async (c) => c.json(await modules.quickEditModules(adminContext(c), c.req.valid("json").items), 200),
);

modulesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/modules/bulk-delete",
    operationId: "bulkDeleteModules",
    tags,
    summary: "Delete many modules",
    description:
      "Deletes up to 100 modules atomically. If any is placed in a course and `force` is not set, nothing is deleted and the 409 lists, per module, the courses (`modules: [{id, name, courses}]`). With `force`, the modules leave those courses too. An unknown id is a 422 naming it (`ids.N`).",
    ...adminAccess("modules:write"),
    request: { body: jsonBody(ModuleBulkDelete) },
    responses: {
      200: jsonResponse(ModuleBulkDeleted, "The deleted ids"),
      ...errorResponses(401, 403, 409, 413, 415),
    },
  }),
  async (c) => c.json(await modules.bulkDeleteModules(adminContext(c), c.req.valid("json")), 200),
);

modulesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/modules/lookup",
    operationId: "lookupModules",
    tags,
    summary: "Module picker",
    description: "`[{value, label, type}]` for a module picker, by name; optionally of one type.",
    ...adminAccess("modules:read"),
    request: { query: ModuleLookupQuery },
    responses: { 200: jsonResponse(ModuleLookupResponse, "Matching modules"), ...errorResponses(401, 403) },
  }),
  async (c) => {
    const { q, limit, type } = c.req.valid("query");
    return c.json(await modules.lookupModules(adminContext(c), q, limit, type), 200);
  },
);

modulesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/modules/types",
    operationId: "listModuleTypes",
    tags,
    summary: "Module types",
    description: "Every module type with its label, what it is, and when a learner has completed it.",
    ...adminAccess("modules:read"),
    responses: { 200: jsonResponse(ModuleTypeList, "The module types"), ...errorResponses(401, 403) },
  }),
  (c) => {
    adminContext(c);
    return c.json(modules.moduleTypes(), 200);
  },
);

modulesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/modules/{id}",
    operationId: "getModule",
    tags,
    summary: "Get a module",
    description: "One module, with its settings and the courses that place it (`used_in_courses`).",
    ...adminAccess("modules:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Module, "The module"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await modules.getModule(adminContext(c), c.req.valid("param").id), 200),
);

modulesRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/admin/modules/{id}",
    operationId: "updateModule",
    tags,
    summary: "Update a module",
    description:
      "Changes the given fields. `settings` replaces the settings and is validated against the module's type; the type itself cannot change (422 naming `type`). Courses placing the module get a new version.",
    ...adminAccess("modules:write"),
    request: { params: IdParam, body: jsonBody(ModuleUpdate) },
    responses: { 200: jsonResponse(Module, "The updated module"), ...errorResponses(401, 403, 404, 409, 413, 415) },
  }),
  async (c) => c.json(await modules.updateModule(adminContext(c), c.req.valid("param").id, c.req.valid("json")), 200),
);

modulesRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/modules/{id}",
    operationId: "deleteModule",
    tags,
    summary: "Delete a module",
    description:
      "Deletes the module. A module placed in courses is a 409 listing them (`courses: [{id, name}]`) unless `force=true`, which also removes it from those courses.",
    ...adminAccess("modules:write"),
    request: { params: IdParam, query: ModuleForceQuery },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    await modules.deleteModule(adminContext(c), c.req.valid("param").id, c.req.valid("query").force === "true");
    return c.body(null, 204);
  },
);

modulesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/modules/{id}/clone",
    operationId: "cloneModule",
    tags,
    summary: "Clone a module",
    description:
      "A new module with the same type, settings and categories, named `<name> (copy)` (or `name`) under a new free slug. It is placed in no course. The body is optional.",
    ...adminAccess("modules:write"),
    request: {
      params: IdParam,
      body: { required: false, content: { "application/json": { schema: ModuleClone } } },
    },
    responses: { 201: jsonResponse(Module, "The copy"), ...errorResponses(401, 403, 404, 409, 413, 415) },
  }),
  async (c) => {
    const module = await modules.cloneModule(adminContext(c), c.req.valid("param").id, c.req.valid("json") ?? {});
    c.header("Location", `/v1/admin/modules/${module.id}`);
    return c.json(module, 201);
  },
);
