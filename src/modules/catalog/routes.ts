import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { learnerContext, tenantContextFor } from "../../platform/auth";
import type { AppEnv } from "../../platform/env";
import { createRouter, errorResponses, IdParam, jsonResponse, SECURITY } from "../../platform/openapi";
import { TenantHeader } from "../auth/schemas";
import { resolvePublicTenant } from "../tenants/service";
import { CatalogPage, CatalogQuery, LearnerCourse, PublicCourse, PublicLearningPath, SlugParam } from "./schemas";
import * as catalog from "./service";

export const catalogRouter = createRouter();

const publicTags = ["Public catalog"];

const cachingHeaders = {
  ETag: {
    description: "A weak tag of this answer; send it back in `If-None-Match` to get a 304 while nothing changed",
    schema: { type: "string" as const, example: 'W/"r1.12.48.5f3a9c01"' },
  },
  "Cache-Control": {
    description: "Public answers may be cached for a minute, then revalidated with the ETag",
    schema: { type: "string" as const, example: catalog.PUBLIC_CACHE_CONTROL },
  },
  Vary: {
    description: "`X-Tenant`: the academy is part of what the answer depends on",
    schema: { type: "string" as const, example: "X-Tenant" },
  },
};

/** `X-Tenant` (or the custom domain) and the conditional-request header of every public read. */
const PublicHeaders = TenantHeader.extend({
  "if-none-match": z
    .string()
    .max(8192)
    .optional()
    .openapi({
      param: { name: "if-none-match", in: "header" },
      description: "The ETag of an earlier answer: 304 with no body while it is still current",
      example: 'W/"r1.12.48.5f3a9c01"',
    }),
});

/** An already serialized JSON answer (cached, or built and about to be cached), typed as the route's 200. */
const jsonText = (c: Context<AppEnv>, body: string) =>
  c.body(body, 200, { "Content-Type": "application/json" }) as never;

const notModified = {
  description: "Not modified: the ETag in `If-None-Match` is still current",
  headers: cachingHeaders,
};

/**
 * The common end of every public read: ETag and Cache-Control; 304 when the client's tag is current; the body
 * from the Cache API when another reader already built it; else `build()` (D1), stored for the next reader.
 */
async function cacheableJson(
  c: Context<AppEnv>,
  slot: catalog.CacheSlot,
  defer: (work: Promise<unknown>) => void,
  build: () => Promise<unknown>,
) {
  c.header("ETag", slot.etag);
  c.header("Cache-Control", catalog.PUBLIC_CACHE_CONTROL);
  if (catalog.etagMatches(c.req.header("if-none-match"), slot.etag)) return c.body(null, 304);
  const hit = await catalog.cachedBody(slot.key);
  if (hit !== undefined) return c.body(hit, 200, { "Content-Type": "application/json" });
  const body = JSON.stringify(await build());
  defer(catalog.storeBody(slot.key, body));
  return c.body(body, 200, { "Content-Type": "application/json" });
}

catalogRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/public/catalog",
    operationId: "listPublicCatalog",
    security: [],
    tags: publicTags,
    summary: "Browse the catalog",
    description:
      "The academy's published courses listed in the catalog and its published learning paths, merged in one order " +
      "(newest first by default); `kind` keeps one of them. Filter by `category_id`, search names with `q`. " +
      "No credential: the academy comes from `X-Tenant` or the custom domain (400 without either, 404 for an unknown slug). " +
      "Answers carry an ETag (send it back in `If-None-Match` for a 304) and may be cached for a minute.",
    request: { query: CatalogQuery, headers: PublicHeaders },
    responses: {
      200: { ...jsonResponse(CatalogPage, "A page of the catalog"), headers: cachingHeaders },
      304: notModified,
      ...errorResponses(403, 404),
    },
  }),
  async (c) => {
    const tenant = await resolvePublicTenant(c);
    const ctx = tenantContextFor(c, tenant.id);
    const query = c.req.valid("query");
    const slot = catalog.cacheSlot(tenant.id, [tenant.catalogVersion], catalog.normalizedCatalogQuery(query));
    return cacheableJson(c, slot, ctx.defer, () => catalog.catalogPage(ctx, query, tenant.catalogVersion));
  },
);

catalogRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/public/courses/{slug}",
    operationId: "getPublicCourse",
    security: [],
    tags: publicTags,
    summary: "A course's landing page",
    description:
      "A published course listed in the catalog: description, images, SEO fields, instructors' public profiles, " +
      "categories, rating summary, duration rule and the outline (sections and modules by name, type and time; never their content). " +
      "Drafts, archived and deleted courses answer 404. A course hidden from the catalog (`show_in_catalog: false`) is unlisted: not in `/v1/public/catalog`, but its page answers by slug. ETag and caching as for the catalog.",
    request: { params: SlugParam, headers: PublicHeaders },
    responses: {
      200: { ...jsonResponse(PublicCourse, "The course's landing data"), headers: cachingHeaders },
      304: notModified,
      ...errorResponses(403, 404),
    },
  }),
  async (c) => {
    const tenant = await resolvePublicTenant(c);
    const ctx = tenantContextFor(c, tenant.id);
    const row = await catalog.findPublicCourse(ctx, c.req.valid("param").slug);
    const slot = catalog.cacheSlot(tenant.id, [tenant.catalogVersion, row.id, row.version], `course/${row.id}`);
    return cacheableJson(c, slot, ctx.defer, () => catalog.publicCourse(ctx, row.id));
  },
);

catalogRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/public/learning-paths/{slug}",
    operationId: "getPublicLearningPath",
    security: [],
    tags: publicTags,
    summary: "A learning path's landing page",
    description:
      "A published learning path listed in the catalog, with its published courses in order (name, slug, picture) and its categories. " +
      "Drafts and archived paths answer 404. A path hidden from the catalog is unlisted: its page answers by slug. ETag and caching as for the catalog.",
    request: { params: SlugParam, headers: PublicHeaders },
    responses: {
      200: { ...jsonResponse(PublicLearningPath, "The learning path's landing data"), headers: cachingHeaders },
      304: notModified,
      ...errorResponses(403, 404),
    },
  }),
  async (c) => {
    const tenant = await resolvePublicTenant(c);
    const ctx = tenantContextFor(c, tenant.id);
    const slug = c.req.valid("param").slug;
    // No per-path version: every write that changes a path, or a course it shows, bumps catalog_version.
    const slot = catalog.cacheSlot(tenant.id, [tenant.catalogVersion], `learning-path/${encodeURIComponent(slug)}`);
    if (catalog.etagMatches(c.req.header("if-none-match"), slot.etag)) {
      // Only a tag this academy handed out for this slug matches, so the path existed and is unchanged.
      c.header("ETag", slot.etag);
      c.header("Cache-Control", catalog.PUBLIC_CACHE_CONTROL);
      return c.body(null, 304);
    }
    return cacheableJson(c, slot, ctx.defer, () => catalog.publicPath(ctx, slug));
  },
);

// ---- the signed-in learner -----------------------------------------------------------------------------------

catalogRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/courses/{id}",
    operationId: "getLearnerCourse",
    tags: ["Learner courses"],
    summary: "A course and its outline",
    description:
      "A published course of the learner's academy (listed in the catalog or not) with its outline: sections, and per placement the module's name, type, " +
      "estimated time and points, whether it is required, its drip rule and its prerequisites. Module content and answer keys are never part of it. " +
      "`progress` and `locked` are placeholders (null and false) until enrollments and progress tracking fill them in.",
    security: SECURITY.learner,
    request: { params: IdParam },
    responses: { 200: jsonResponse(LearnerCourse, "The course and its outline"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const ctx = learnerContext(c);
    const course = await catalog.findLearnerCourse(ctx, c.req.valid("param").id);
    // Built once per course version for every learner (no per-learner data yet); D1 only for the course row.
    const slot = catalog.cacheSlot(
      ctx.tenantId,
      [course.catalogVersion, course.id, course.version],
      `learner-course/${course.id}`,
    );
    const hit = await catalog.cachedBody(slot.key);
    if (hit !== undefined) return jsonText(c, hit);
    const body = JSON.stringify(await catalog.learnerCourse(ctx, course.id));
    ctx.defer(catalog.storeBody(slot.key, body));
    return jsonText(c, body);
  },
);
