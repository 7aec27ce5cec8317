import { z } from "@hono/zod-openapi";
import { listQuery, paginated, Timestamp } from "../../platform/openapi";
import { Name } from "../../platform/validation";

export const LrsScope = z.enum(["read", "write"]);

export const LrsCredential = z
  .object({
    id: z.number().int(),
    name: z.string(),
    key: z.string().openapi({ example: "lrs_3k9x0qa7m2", description: "The HTTP Basic username" }),
    scopes: z.array(LrsScope),
    status: z.enum(["active", "revoked"]),
    endpoint: z.string().openapi({ example: "/xapi/", description: "The LRS endpoint, relative to the API origin" }),
    created_by_user_id: z.number().int().nullable(),
    last_used_at: Timestamp.nullable(),
    revoked_at: Timestamp.nullable(),
    created_at: Timestamp,
  })
  .openapi("LrsCredential");

export const LrsCredentialCreated = LrsCredential.extend({
  secret: z.string().openapi({
    example: "lrss_5Xo0nq...",
    description: "The HTTP Basic password. Shown once: Lectern keeps only its SHA-256.",
  }),
}).openapi("LrsCredentialCreated");

export const LrsCredentialCreate = z
  .strictObject({
    name: Name.openapi({ example: "Articulate Storyline content" }),
    scopes: z
      .array(LrsScope)
      .min(1)
      .max(2)
      .default(["read", "write"])
      .openapi({ description: "`read` (GET of statements and documents), `write` (everything else)" }),
  })
  .openapi("LrsCredentialCreate");

export const LrsCredentialListQuery = listQuery(["name", "created_at", "last_used_at"], "-created_at").extend({
  status: z.enum(["active", "revoked"]).optional(),
});

export const LrsCredentialList = paginated(LrsCredential, "LrsCredentialList");
