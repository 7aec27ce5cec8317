import { createRoute } from "@hono/zod-openapi";
import { adminContext } from "../../platform/auth";
import {
  adminAccess,
  createRouter,
  errorResponses,
  IdParam,
  jsonBody,
  jsonResponse,
  LookupQuery,
  LookupResponse,
  listQuery,
} from "../../platform/openapi";
import { Role, RoleCreate, RoleList, RoleUpdate } from "./schemas";
import * as roles from "./service";

const tags = ["Roles & permissions"];
export const rolesRouter = createRouter();

rolesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/roles",
    operationId: "listRoles",
    tags,
    summary: "List roles",
    description:
      "The built-in roles (Owner, Admin, Instructor, Assistant, Support Specialist) and the academy's custom roles.",
    ...adminAccess("roles:read"),
    request: { query: listQuery(["name", "created_at"], "name") },
    responses: { 200: jsonResponse(RoleList, "A page of roles"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await roles.listRoles(adminContext(c), c.req.valid("query")), 200),
);

rolesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/roles/lookup",
    operationId: "lookupRoles",
    tags,
    summary: "Role picker",
    description: "`[{value, label}]` pairs for a role picker.",
    ...adminAccess("roles:read"),
    request: { query: LookupQuery },
    responses: { 200: jsonResponse(LookupResponse, "Matching roles"), ...errorResponses(401, 403) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    const { q, limit } = c.req.valid("query");
    return c.json(await roles.lookupRoles(ctx, q, limit), 200);
  },
);

rolesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/roles",
    operationId: "createRole",
    tags,
    summary: "Create a custom role",
    description:
      "A named set of permission strings. You can only grant permissions your own credential holds (403 otherwise).",
    ...adminAccess("roles:write"),
    request: { body: jsonBody(RoleCreate) },
    responses: { 201: jsonResponse(Role, "The new role"), ...errorResponses(401, 403, 409, 413, 415) },
  }),
  async (c) => {
    const role = await roles.createRole(adminContext(c), c.req.valid("json"));
    c.header("Location", `/v1/admin/roles/${role.id}`);
    return c.json(role, 201);
  },
);

rolesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/roles/{id}",
    operationId: "getRole",
    tags,
    summary: "Get a role",
    description: "A role with its permissions.",
    ...adminAccess("roles:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Role, "The role"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    return c.json(roles.toRole(await roles.findRole(ctx, c.req.valid("param").id)), 200);
  },
);

rolesRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/admin/roles/{id}",
    operationId: "updateRole",
    tags,
    summary: "Update a custom role",
    description: "Rename a custom role or replace its permissions. Built-in roles answer 409.",
    ...adminAccess("roles:write"),
    request: { params: IdParam, body: jsonBody(RoleUpdate) },
    responses: { 200: jsonResponse(Role, "The updated role"), ...errorResponses(401, 403, 404, 409, 413, 415) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    return c.json(await roles.updateRole(ctx, c.req.valid("param").id, c.req.valid("json")), 200);
  },
);

rolesRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/roles/{id}",
    operationId: "deleteRole",
    tags,
    summary: "Delete a custom role",
    description: "Refused with 409 while staff users or pending invitations hold the role, and for built-in roles.",
    ...adminAccess("roles:write"),
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    await roles.deleteRole(adminContext(c), c.req.valid("param").id);
    return c.body(null, 204);
  },
);
