import { z } from "@hono/zod-openapi";
import { listQuery, paginated, Timestamp } from "../../platform/openapi";
import { Name } from "../../platform/validation";
import { Scopes } from "../api-keys/schemas";

export const ApiClient = z
  .object({
    id: z.number().int(),
    name: z.string(),
    client_id: z.string().openapi({ example: "lc_8f3k2m1q9x0z7w4e" }),
    scopes: z.array(z.string()),
    status: z.enum(["active", "revoked"]),
    created_by_user_id: z.number().int().nullable(),
    last_used_at: Timestamp.nullable(),
    revoked_at: Timestamp.nullable(),
    created_at: Timestamp,
  })
  .openapi("ApiClient");

export const ApiClientWithSecret = ApiClient.extend({
  client_secret: z.string().openapi({ description: "Shown once. Exchange it at POST /v1/oauth/token." }),
}).openapi("ApiClientWithSecret");

export const ApiClientCreate = z
  .strictObject({
    name: Name.openapi({ example: "Reporting warehouse" }),
    scopes: Scopes.optional().openapi({ description: "Defaults to every permission of the creating credential" }),
  })
  .openapi("ApiClientCreate");

export const ApiClientListQuery = listQuery(["name", "created_at", "last_used_at"], "-created_at").extend({
  status: z.enum(["active", "revoked"]).optional(),
});

export const ApiClientList = paginated(ApiClient, "ApiClientList");

/** RFC 6749 section 4.4 request; JSON or form-encoded. `client_id`/`client_secret` may come by HTTP Basic instead. */
export const TokenRequest = z
  .object({
    grant_type: z.literal("client_credentials").default("client_credentials"),
    client_id: z.string().max(200).optional(),
    client_secret: z.string().max(500).optional(),
    scope: z.string().max(4000).optional().openapi({ description: "Space-separated subset of the client's scopes" }),
  })
  .openapi("TokenRequest");

export const TokenResponse = z
  .object({
    status: z.literal("success"),
    code: z.literal("200"),
    data: z.object({
      token_type: z.literal("Bearer"),
      expires_in: z.number().int(),
      access_token: z.string(),
      scope: z.string(),
    }),
    token_type: z.literal("Bearer").openapi({ description: "Also at top level, as RFC 6749 clients expect" }),
    expires_in: z.number().int(),
    access_token: z.string(),
    scope: z.string(),
  })
  .openapi("TokenResponse");
