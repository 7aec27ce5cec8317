import type { OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { activitiesRouter } from "./modules/activities/routes";
import { announcementsRouter } from "./modules/announcements/routes";
import { apiClientsRouter, oauthRouter } from "./modules/api-clients/routes";
import { apiKeysRouter } from "./modules/api-keys/routes";
import { assignmentsRouter, isSubmissionUpload } from "./modules/assignments/routes";
import { adminAuth, learnerAuth, platformAuth } from "./modules/auth/middleware";
import { adminAuthRouter, learnerAuthRouter, PUBLIC_AUTH_PATHS } from "./modules/auth/routes";
import { catalogRouter } from "./modules/catalog/routes";
import { categoriesRouter } from "./modules/categories/routes";
import { certificatesRouter } from "./modules/certificates/routes";
import { modulesRouter } from "./modules/content-modules/routes";
import { curriculumRouter } from "./modules/courses/curriculum.routes";
import { coursesRouter } from "./modules/courses/routes";
import { adminDiscussionsRouter } from "./modules/discussions/admin.routes";
import { learnerDiscussionsRouter } from "./modules/discussions/learner.routes";
import { enrollmentsRouter } from "./modules/enrollments/routes";
import { flashcardsRouter } from "./modules/flashcards/routes";
import { gradebookRouter } from "./modules/gradebook/routes";
import { jobsRouter } from "./modules/jobs/routes";
import { learningPathsRouter } from "./modules/learning-paths/routes";
import { isMediaUpload, mediaRouter } from "./modules/media/routes";
import { notificationsRouter } from "./modules/notifications/routes";
import { isPlayerTokenCommit } from "./modules/packages/player";
import { isPackageUpload, packagesRouter } from "./modules/packages/routes";
import { progressRouter } from "./modules/progress/routes";
import { isQuestionImport, questionImportRouter } from "./modules/questions/import.routes";
import { questionsRouter } from "./modules/questions/routes";
import { quizzesRouter } from "./modules/quizzes/routes";
import { ratingsRouter } from "./modules/ratings/routes";
import { rolesRouter } from "./modules/roles/routes";
import { surveysRouter } from "./modules/surveys/routes";
import { systemRouter } from "./modules/system/routes";
import { tenantsRouter } from "./modules/tenants/routes";
import { learnersRouter } from "./modules/users/learners.routes";
import { staffRouter } from "./modules/users/staff.routes";
import { registerEventWebhooks } from "./modules/webhooks/catalog";
import { webhooksRouter } from "./modules/webhooks/routes";
import { lrsCredentialsRouter } from "./modules/xapi/credentials.routes";
import { xapiRouter } from "./modules/xapi/routes";
import { createDb } from "./platform/db";
import type { AppEnv } from "./platform/env";
import { ApiError, problemResponse, toApiError } from "./platform/errors";
import { sendEventsAfterWrites } from "./platform/events";
import { createRouter } from "./platform/openapi";
import { authRateLimit, writeRateLimit } from "./platform/rate-limit";

/** JSON bodies above this are refused with 413 (uploads get their own routes and limits). */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

/** Every module router; adding a module means adding its router here. */
const routers = [
  systemRouter,
  tenantsRouter,
  oauthRouter,
  adminAuthRouter,
  learnerAuthRouter,
  rolesRouter,
  staffRouter,
  apiKeysRouter,
  apiClientsRouter,
  learnersRouter,
  categoriesRouter,
  coursesRouter,
  curriculumRouter,
  modulesRouter,
  learningPathsRouter,
  ratingsRouter,
  catalogRouter,
  webhooksRouter,
  certificatesRouter,
  gradebookRouter,
  enrollmentsRouter,
  activitiesRouter,
  progressRouter,
  questionsRouter,
  questionImportRouter,
  quizzesRouter,
  mediaRouter,
  packagesRouter,
  jobsRouter,
  lrsCredentialsRouter,
  xapiRouter,
  adminDiscussionsRouter,
  learnerDiscussionsRouter,
  surveysRouter,
  assignmentsRouter,
  flashcardsRouter,
  announcementsRouter,
  notificationsRouter,
];

const unlessPublic =
  (auth: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> =>
  (c, next) =>
    // SCORM commits may authenticate with the launch token in the URL instead (sendBeacon sends no headers).
    PUBLIC_AUTH_PATHS.has(c.req.path) || isPlayerTokenCommit(c.req.path, c.req.query("token")) ? next() : auth(c, next);

const jsonBodyLimit = bodyLimit({
  maxSize: MAX_JSON_BODY_BYTES,
  onError: (c) => problemResponse(c, new ApiError(413, `Request bodies are limited to ${MAX_JSON_BODY_BYTES} bytes.`)),
});

export function createApp(): OpenAPIHono<AppEnv> {
  const app = createRouter();

  app.use(
    "*",
    requestId({ headerName: "X-Request-Id", limitLength: 128 }),
    cors({
      // Bearer tokens, never cookies: any origin may call the API from a browser.
      origin: "*",
      allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      allowHeaders: [
        "Authorization",
        "Content-Type",
        "X-Tenant",
        "X-Request-Id",
        "Idempotency-Key",
        "If-None-Match",
        "If-Match",
        "X-Experience-API-Version",
      ],
      exposeHeaders: [
        "X-Request-Id",
        "Location",
        "Retry-After",
        "WWW-Authenticate",
        "ETag",
        "Last-Modified",
        "X-Experience-API-Version",
        "X-Experience-API-Consistent-Through",
      ],
      maxAge: 86_400,
    }),
    async (c, next) => {
      c.set("db", createDb(c.env.DB));
      await next();
    },
  );
  app.use(
    "/v1/*",
    secureHeaders({ crossOriginResourcePolicy: "cross-origin", xFrameOptions: "DENY" }),
    async (c, next) => {
      c.header("Cache-Control", "no-store");
      await next();
    },
    // File uploads stream their bodies to R2 under their own limits (src/modules/media, src/modules/packages);
    // the question CSV import has its own limit too.
    (c, next) =>
      isMediaUpload(c.req.method, c.req.path) ||
      isPackageUpload(c.req.method, c.req.path) ||
      isSubmissionUpload(c.req.method, c.req.path) ||
      isQuestionImport(c.req.method, c.req.path)
        ? next()
        : jsonBodyLimit(c, next),
  );
  // The events a write recorded go to EVENTS after the response (DESIGN.md section 7).
  app.use("/v1/*", sendEventsAfterWrites);
  app.use("/v1/platform/*", platformAuth);
  app.use("/v1/admin/*", unlessPublic(adminAuth), writeRateLimit);
  app.use("/v1/learner/*", unlessPublic(learnerAuth), writeRateLimit);
  // The public surface (catalog, landing pages): no credential and no write limit (it only reads); the academy
  // comes from X-Tenant or the Host, so shared caches must key on X-Tenant too. Its GET handlers replace the
  // no-store above with `Cache-Control: public, ...` and an ETag.
  app.use("/v1/public/*", async (c, next) => {
    await next();
    c.header("Vary", "X-Tenant", { append: true });
  });
  app.use("/v1/oauth/token", authRateLimit);
  app.use("/v1/admin/auth/*", (c, next) => (PUBLIC_AUTH_PATHS.has(c.req.path) ? authRateLimit(c, next) : next()));
  app.use("/v1/learner/auth/*", (c, next) => (PUBLIC_AUTH_PATHS.has(c.req.path) ? authRateLimit(c, next) : next()));

  for (const router of routers) app.route("/", router);

  registerSecuritySchemes(app);
  registerEventWebhooks(app.openAPIRegistry);
  let document: unknown;
  app.get("/openapi.json", (c) => {
    document ??= openApiDocument(app);
    return c.json(document);
  });
  app.get("/docs", Scalar({ url: "/openapi.json", pageTitle: "Lectern API reference" }));
  app.get("/", (c) => c.redirect("/docs"));

  app.notFound((c) => problemResponse(c, new ApiError(404, `No route matches ${c.req.method} ${c.req.path}.`)));
  app.onError((err, c) => problemResponse(c, toApiError(err, c)));
  return app;
}

function registerSecuritySchemes(app: OpenAPIHono<AppEnv>) {
  const registry = app.openAPIRegistry;
  registry.registerComponent("securitySchemes", "platformToken", {
    type: "http",
    scheme: "bearer",
    description: "The deployment's PLATFORM_ADMIN_TOKEN secret (`.lectern/dev-credentials.json` locally).",
  });
  registry.registerComponent("securitySchemes", "adminBearer", {
    type: "http",
    scheme: "bearer",
    description:
      "An API key (`lk_...`), an OAuth access token from `POST /v1/oauth/token`, or a staff access token from `POST /v1/admin/auth/login`.",
  });
  registry.registerComponent("securitySchemes", "learnerBearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "A learner access token from `POST /v1/learner/auth/login`.",
  });
}

export function openApiDocument(app: OpenAPIHono<AppEnv>) {
  const document = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "Lectern API",
      version: "1.0.0",
      description: [
        "Lectern is a multi-tenant learning-management API. Each academy (tenant) has an **admin API** (`/v1/admin/*`) for staff and integrations and a **learner API** (`/v1/learner/*`) for learners' apps.",
        "",
        "**Authentication.** Admin calls take `Authorization: Bearer <credential>`: an API key (`lk_...`), an OAuth access token (`POST /v1/oauth/token` with client credentials), or a staff session token (`POST /v1/admin/auth/login`). Learner calls take a learner session token (`POST /v1/learner/auth/login`, choosing the academy with `X-Tenant: <slug>`).",
        "",
        "**Conventions.** JSON fields are snake_case, timestamps ISO 8601 UTC. Lists take `page`, `per_page` (max 100), `sort` (`-created_at,name`) and `q`, and answer `{data, meta:{page, per_page, total, last_page}}`. Create answers 201 with `Location`; delete answers 204. Another academy's ids answer 404.",
        "",
        "**Errors** are RFC 9457 `application/problem+json`: `{type, title, status, detail, instance, request_id, errors?}`. Every response carries `X-Request-Id`.",
      ].join("\n"),
    },
    servers: [{ url: "http://127.0.0.1:8787", description: "Local (`npm run dev`)" }],
    tags: [
      { name: "System", description: "Liveness." },
      { name: "Authentication", description: "OAuth 2.0 client credentials." },
      { name: "Admin authentication", description: "Staff sign-in, sessions, password reset, invitations." },
      {
        name: "Learner authentication",
        description: "Learner sign-up, sign-in, sessions, password reset, email verification.",
      },
      { name: "Learner profile", description: "The signed-in learner." },
      { name: "Platform: tenants", description: "Operator API: academies (tenants)." },
      { name: "Roles & permissions", description: "Built-in and custom roles, permission strings, the caller." },
      { name: "Staff", description: "Staff users of an academy." },
      { name: "Staff invitations", description: "Invite staff by email and role." },
      { name: "API keys", description: "Long-lived admin credentials, stored hashed." },
      { name: "API clients (OAuth)", description: "Client-credentials applications." },
      { name: "Learners", description: "Learners managed by the academy." },
      { name: "Categories", description: "Typed categories." },
      { name: "Courses", description: "Courses: settings, publishing, clone, quick edit, bulk delete." },
      { name: "Curriculum", description: "A course's sections and the modules placed in them." },
      { name: "Modules", description: "Reusable content items of every type, placed into courses." },
      { name: "Learning paths", description: "Ordered series of courses." },
      { name: "Ratings", description: "Learners' course ratings and reviews." },
      { name: "Public catalog", description: "What anyone may see of an academy: published courses and paths." },
      { name: "Learner courses", description: "A signed-in learner's view of courses." },
      {
        name: "Learning",
        description:
          "The signed-in learner's runtime: my courses, the outline with progress and locks, launch, completion, media progress.",
      },
      {
        name: "Enrollments",
        description:
          "Enroll learners in courses and learning paths, revoke and grant access, expiry, progress resets, auto-enroll.",
      },
      {
        name: "Certificates",
        description:
          "Certificate templates, issued certificates (manual issue, revoke, PDF), the learner's own, and public verification by code.",
      },
      {
        name: "Gradebook",
        description: "Per course and learner: graded modules' scores and the course grade; CSV export.",
      },
      {
        name: "Questions",
        description:
          "The question bank: nine question types with per-type answer keys, filters, clone, guarded bulk delete (see docs/assessments.md).",
      },
      {
        name: "Quizzes",
        description:
          "Quiz modules: their questions (static or drawn per category), learners' attempts, manual grading of essays and per-question analysis.",
      },
      {
        name: "Learner assessments",
        description:
          "What a learner does in quizzes (live attempts: start, resume, save answers, submit), surveys, assignments and flashcards.",
      },
      {
        name: "Surveys",
        description: "Survey modules' responses: aggregated results and a CSV export.",
      },
      {
        name: "Assignments",
        description: "Assignment submissions: list, detail, file download, evaluation and pending counts.",
      },
      { name: "Jobs", description: "Background work (imports, package processing): status, progress, result." },
      {
        name: "LRS credentials",
        description: "HTTP Basic credentials for the xAPI LRS at `/xapi/` (see docs/xapi.md), stored hashed.",
      },
      {
        name: "Media",
        description:
          "The media library on R2: single and resumable multipart uploads, content sniffing, quota, signed downloads with Range.",
      },
      {
        name: "Packages",
        description:
          "SCORM 1.2/2004, xAPI and cmi5 packages: upload, import job, versions, reports (see docs/packages.md).",
      },
      {
        name: "SCORM player",
        description: "The learner's SCORM runtime: sessions, scorm-again commits, package content under `/content/`.",
      },
      { name: "Activity log", description: "What learners did and what was done to enrollments, newest first." },
      {
        name: "Webhooks",
        description: "Endpoints that receive the academy's events, signed per Standard Webhooks; delivery logs.",
      },
      {
        name: "Discussions",
        description:
          "Course and discussion-module threads: moderation (hide, lock, pin), staff posts, live (WebSocket).",
      },
      {
        name: "Learner discussions",
        description:
          "Threads, posts, replies, reactions and the live WebSocket of the courses a learner is enrolled in.",
      },
      {
        name: "Announcements",
        description:
          "Messages to learners by the seed's sending rules, with expiry and publish (see docs/notifications.md).",
      },
      {
        name: "Notifications",
        description:
          "The learner's inbox (announcements, grades, certificates, enrollments, mentions) and email choices.",
      },
      {
        name: "Email outbox",
        description: "Every email the academy sends, with its status, attempts and last error; retry a failed one.",
      },
      { name: "Events", description: "The domain event types and their payloads (see `webhooks`)." },
    ],
  });
  // Say in each admin operation's description which permission it needs.
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(
      item as Record<string, { description?: string; "x-required-permission"?: string }>,
    )) {
      const permission = operation?.["x-required-permission"];
      if (permission)
        operation.description = `${operation.description ?? ""}\n\nRequires the \`${permission}\` permission.`;
    }
  }
  return document;
}
