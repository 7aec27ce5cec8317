import { createRoute, z } from "@hono/zod-openapi";
import { adminContext } from "../../platform/auth";
import { createRouter, errorResponses, jsonResponse, SECURITY } from "../../platform/openapi";
import { ALL_PERMISSIONS, PERMISSIONS, WILDCARD } from "../../platform/permissions";
import { Staff } from "../users/schemas";
import * as users from "../users/service";

export const systemRouter = createRouter();

const Pong = z.object({ message: z.literal("pong!") }).openapi("Pong");

systemRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/ping",
    operationId: "ping",
    tags: ["System"],
    summary: "Ping",
    description: "Liveness check; needs no credential.",
    security: [],
    responses: { 200: jsonResponse(Pong, "Pong"), ...errorResponses() },
  }),
  (c) => c.json({ message: "pong!" as const }, 200),
);

const Me = z
  .object({
    tenant_id: z.number().int(),
    credential: z.object({
      type: z.enum(["api_key", "api_client", "staff"]),
      id: z.number().int().openapi({ description: "The key, client or session id" }),
    }),
    permissions: z.array(z.string()).openapi({ description: "Every permission this credential holds (`*` expanded)" }),
    user: Staff.nullable().openapi({ description: "The staff user, for staff sessions and keys created by a user" }),
  })
  .openapi("AdminMe");

systemRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/me",
    operationId: "getAdminMe",
    tags: ["Roles & permissions"],
    summary: "Who am I",
    description: "The academy, credential, permissions and (for staff) the user behind the request.",
    security: SECURITY.admin,
    responses: { 200: jsonResponse(Me, "The caller"), ...errorResponses(401, 403) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    const p = ctx.principal;
    const userId = p.kind === "staff" ? p.userId : p.kind === "api_key" ? p.userId : null;
    const user = userId ? await users.getStaff(ctx, userId).catch(() => null) : null;
    const id = p.kind === "staff" ? p.sessionId : p.kind === "api_key" ? p.keyId : p.clientId;
    return c.json(
      {
        tenant_id: ctx.tenantId,
        credential: { type: p.kind, id },
        permissions: p.permissions.includes(WILDCARD) ? [...ALL_PERMISSIONS] : p.permissions,
        user,
      },
      200,
    );
  },
);

const PermissionList = z
  .object({
    data: z.array(
      z.object({
        permission: z.string().openapi({ example: "courses:read" }),
        description: z.string(),
        granted: z.boolean().openapi({ description: "Whether the calling credential holds it" }),
      }),
    ),
  })
  .openapi("PermissionList");

systemRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/permissions",
    operationId: "listPermissions",
    tags: ["Roles & permissions"],
    summary: "List permissions",
    description: "Every permission string a role, API key or API client can hold, and whether the caller holds it.",
    security: SECURITY.admin,
    responses: { 200: jsonResponse(PermissionList, "All permissions"), ...errorResponses(401, 403) },
  }),
  (c) => {
    const granted = adminContext(c).principal.permissions;
    const all = granted.includes(WILDCARD);
    return c.json(
      {
        data: ALL_PERMISSIONS.map((permission) => ({
          permission,
          description: PERMISSIONS[permission],
          granted: all || granted.includes(permission),
        })),
      },
      200,
    );
  },
);
