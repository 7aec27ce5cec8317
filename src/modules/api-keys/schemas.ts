import { z } from "@hono/zod-openapi";
import { listQuery, paginated, Timestamp } from "../../platform/openapi";
import { isPermission, WILDCARD } from "../../platform/permissions";
import { IsoDateTime, Name } from "../../platform/validation";

export const Scopes = z
  .array(
    z.string().refine((p) => p === WILDCARD || isPermission(p), "Unknown permission; see GET /v1/admin/permissions."),
  )
  .min(1)
  .max(200)
  .openapi({ example: ["courses:read", "learners:read"], description: "Permission strings; `*` for all" });

export const ApiKey = z
  .object({
    id: z.number().int(),
    name: z.string(),
    prefix: z.string().openapi({ example: "lk_k3j9x0qa", description: "The visible start of the key" }),
    scopes: z.array(z.string()),
    status: z.enum(["active", "revoked", "expired"]),
    created_by_user_id: z.number().int().nullable(),
    expires_at: Timestamp.nullable(),
    last_used_at: Timestamp.nullable(),
    revoked_at: Timestamp.nullable(),
    created_at: Timestamp,
  })
  .openapi("ApiKey");

export const ApiKeyCreated = ApiKey.extend({
  key: z.string().openapi({
    example: "lk_k3j9x0qa_5Xo0nq...",
    description: "The secret key. Shown once: store it now; Lectern keeps only its hash.",
  }),
}).openapi("ApiKeyCreated");

export const ApiKeyCreate = z
  .strictObject({
    name: Name.openapi({ example: "Zapier integration" }),
    scopes: Scopes.optional().openapi({ description: "Defaults to every permission of the creating credential" }),
    expires_at: IsoDateTime.nullish().openapi({ description: "Optional expiry; the key stops working then" }),
  })
  .openapi("ApiKeyCreate");

export const ApiKeyListQuery = listQuery(["name", "created_at", "last_used_at"], "-created_at").extend({
  status: z.enum(["active", "revoked", "expired"]).optional(),
});

export const ApiKeyList = paginated(ApiKey, "ApiKeyList");
