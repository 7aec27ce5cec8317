import { OpenAPIHono, z } from "@hono/zod-openapi";
import { requirePermission } from "./auth";
import type { AppEnv } from "./env";
import { ApiError, zodFieldErrors } from "./errors";
import type { Permission } from "./permissions";

/**
 * Every module router comes from here, so validation failures everywhere become the same 422 problem.
 * Each module mounts its own router (DESIGN.md section 2: no single giant chain of routes).
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      // A required JSON body that never came (no Content-Type, no bytes: a body without one is already a 415)
      // reaches validation as `{}`; refuse it, or an all-optional update body would answer 200 to nothing.
      if (result.target === "json" && !c.req.header("content-type")) {
        throw new ApiError(415, "This operation needs a JSON body: send it with `Content-Type: application/json`.");
      }
      if (!result.success) {
        const where = result.target === "json" || result.target === "form" ? undefined : result.target;
        throw ApiError.validation(zodFieldErrors(result.error, where));
      }
    },
  });
}

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "https://lectern.dev/problems/validation-error" }),
    title: z.string().openapi({ example: "Validation failed" }),
    status: z.number().int().openapi({ example: 422 }),
    detail: z.string().openapi({ example: "The request has invalid fields; see `errors`." }),
    instance: z.string().openapi({ example: "/v1/admin/learners" }),
    request_id: z.string().openapi({ example: "3f0c2a1e-8f1b-4c47-9a44-2b7f8f3e9d10" }),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .openapi({ example: [{ path: "email", message: "Invalid email address" }] }),
  })
  .passthrough()
  .openapi("Problem", { description: "An RFC 9457 problem. Extra members may explain a specific problem." });

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Malformed request (for example, a body that is not JSON)",
  401: "Missing, invalid, expired or revoked credential",
  403: "The credential is valid but lacks the permission, or the academy is suspended",
  404: "Not found (also for another academy's resources)",
  409: "Conflict with the current state (duplicate, or still in use)",
  413: "Request body too large",
  415: "Unsupported Content-Type",
  422: "Validation failed; `errors` lists each field",
  429: "Too many requests; retry after `Retry-After` seconds",
  500: "Unexpected error; quote `request_id`",
};

const problemContent = { "application/problem+json": { schema: ProblemSchema } };

/**
 * The documented error responses of an operation; every operation also documents 400, 422, 429 and 500, and one
 * that takes a body (415) also 413: the body limit of the app applies to every such request.
 */
export function errorResponses(...statuses: number[]) {
  const all = new Set([400, 422, 429, 500, ...statuses]);
  if (all.has(415)) all.add(413);
  return Object.fromEntries(
    [...all].sort().map((status) => [status, { description: ERROR_DESCRIPTIONS[status], content: problemContent }]),
  );
}

/** A required JSON request body (a missing or non-JSON body is a problem, never an empty object). */
export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return { required: true as const, description, content: { "application/json": { schema } } };
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

export const IdParam = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name: "id", in: "path" }, example: 42, description: "The resource id" }),
});

export const PaginationMeta = z
  .object({
    page: z.number().int(),
    per_page: z.number().int(),
    total: z.number().int(),
    last_page: z.number().int(),
  })
  .openapi("PaginationMeta");

export function paginated<T extends z.ZodType>(item: T, name: string) {
  return z.object({ data: z.array(item), meta: PaginationMeta }).openapi(name);
}

export const LookupItem = z.object({ value: z.number().int(), label: z.string() }).openapi("LookupItem");
export const LookupResponse = z.array(LookupItem).openapi("LookupResponse");

export const LookupQuery = z.object({
  q: z.string().max(200).optional().openapi({ description: "Case-insensitive search on the label" }),
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ description: "At most this many items" }),
});

/** Query parameters shared by every paginated list. */
export function listQuery<S extends readonly [string, ...string[]]>(sortable: S, defaultSort: string) {
  const pattern = new RegExp(`^-?(${sortable.join("|")})(,-?(${sortable.join("|")}))*$`);
  return z.object({
    page: z.coerce.number().int().min(1).max(100_000).default(1).openapi({ description: "Page number, from 1" }),
    per_page: z.coerce.number().int().min(1).max(100).default(15).openapi({ description: "Items per page (max 100)" }),
    sort: z
      .string()
      .regex(pattern, `Sort by a comma-separated list of: ${sortable.join(", ")} (prefix - for descending).`)
      .default(defaultSort)
      .openapi({ description: `Comma-separated; prefix with - for descending. Fields: ${sortable.join(", ")}` }),
    q: z.string().max(200).optional().openapi({ description: "Free-text search" }),
  });
}

export const Timestamp = z.string().openapi({ format: "date-time", example: "2026-11-24T09:30:00.000Z" });

export const SECURITY: Record<"platform" | "admin" | "learner", { [scheme: string]: string[] }[]> = {
  platform: [{ platformToken: [] }],
  admin: [{ adminBearer: [] }],
  learner: [{ learnerBearer: [] }],
};

/**
 * Route settings of an admin operation that needs `permission`: the security scheme, the permission check
 * (as middleware, before validation) and `x-required-permission` in the OpenAPI document.
 */
export function adminAccess(permission: Permission) {
  return {
    security: SECURITY.admin,
    middleware: [requirePermission(permission)],
    "x-required-permission": permission,
  };
}
