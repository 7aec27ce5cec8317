import { z } from "@hono/zod-openapi";
import { paginated, Timestamp } from "../../platform/openapi";
import { isPermission, WILDCARD } from "../../platform/permissions";
import { Name } from "../../platform/validation";

const PermissionString = z
  .string()
  .refine((p) => p === WILDCARD || isPermission(p), "Unknown permission; see GET /v1/admin/permissions.")
  .openapi({ example: "courses:read" });

export const Role = z
  .object({
    id: z.number().int(),
    key: z.string().openapi({ example: "instructor" }),
    name: z.string(),
    description: z.string().nullable(),
    permissions: z.array(z.string()),
    is_system: z.boolean().openapi({ description: "Built-in roles cannot be changed or deleted" }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Role");

export const RoleList = paginated(Role, "RoleList");

export const RoleCreate = z
  .strictObject({
    name: Name,
    description: z.string().max(1000).nullish(),
    permissions: z
      .array(PermissionString)
      .max(200)
      .refine((list) => !list.includes(WILDCARD), {
        message: "Custom roles list their permissions; `*` belongs to the Owner role only.",
      }),
  })
  .openapi("RoleCreate");

export const RoleUpdate = RoleCreate.partial().openapi("RoleUpdate");
