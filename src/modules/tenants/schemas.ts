import { z } from "@hono/zod-openapi";
import { listQuery, paginated, Timestamp } from "../../platform/openapi";
import { Email, Hostname, Locale, Name, Password, SettingsObject, Slug, Timezone } from "../../platform/validation";
import { ApiKeyCreated } from "../api-keys/schemas";

export const Tenant = z
  .object({
    id: z.number().int().openapi({ example: 1 }),
    name: z.string().openapi({ example: "Acme Academy" }),
    slug: z
      .string()
      .openapi({ example: "acme", description: "Unique; learners pick the academy with `X-Tenant: <slug>`" }),
    status: z.enum(["active", "suspended"]),
    custom_domains: z.array(z.string()).openapi({ example: ["learn.acme.com"] }),
    locale: z.string(),
    timezone: z.string(),
    settings: z.record(z.string(), z.unknown()),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Tenant");

const Domains = z
  .array(Hostname)
  .max(20)
  .refine((list) => new Set(list).size === list.length, "Each domain may appear once.");

export const TenantCreate = z
  .strictObject({
    name: Name.openapi({ example: "Acme Academy" }),
    slug: Slug.openapi({ example: "acme" }),
    status: z.enum(["active", "suspended"]).default("active"),
    custom_domains: Domains.default([]),
    locale: Locale.default("en"),
    timezone: Timezone.default("UTC"),
    settings: SettingsObject.default({}),
    owner: z
      .strictObject({ name: Name, email: Email, password: Password.optional() })
      .optional()
      .openapi({ description: "Optional first Owner staff user (signs in at /v1/admin/auth/login)" }),
  })
  .openapi("TenantCreate");

export const TenantUpdate = z
  .strictObject({
    name: Name,
    slug: Slug,
    status: z.enum(["active", "suspended"]),
    custom_domains: Domains,
    locale: Locale,
    timezone: Timezone,
    settings: SettingsObject,
  })
  .partial()
  .openapi("TenantUpdate");

export const TenantCreated = Tenant.extend({
  owner_api_key: ApiKeyCreated.openapi({ description: "An owner API key with every permission. Shown once." }),
  owner_user_id: z.number().int().nullable(),
}).openapi("TenantCreated");

export const TenantListQuery = listQuery(["name", "slug", "created_at"], "-created_at").extend({
  status: z.enum(["active", "suspended"]).optional(),
  slug: z.string().max(64).optional().openapi({ description: "Exact slug" }),
});

export const TenantList = paginated(Tenant, "TenantList");

export const OwnerKeyCreate = z
  .strictObject({ name: Name.default("Owner key (issued by the platform)") })
  .openapi("OwnerKeyCreate");
