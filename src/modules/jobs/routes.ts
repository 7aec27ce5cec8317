import { createRoute } from "@hono/zod-openapi";
import { adminContext } from "../../platform/auth";
import { createRouter, errorResponses, IdParam, jsonResponse, SECURITY } from "../../platform/openapi";
import { Job, JobKindList, JobList, JobListQuery } from "./schemas";
import * as jobs from "./service";

const tags = ["Jobs"];
export const jobsRouter = createRouter();

const access =
  "Any admin credential may call it; each job kind needs the permission that covers it (`GET /v1/admin/jobs/kinds`), e.g. question imports need `assessments:read`.";

jobsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/jobs/kinds",
    operationId: "listJobKinds",
    tags,
    summary: "List job kinds",
    description: "The kinds of background jobs, what they do and the permission needed to see them.",
    security: SECURITY.admin,
    responses: { 200: jsonResponse(JobKindList, "Every job kind"), ...errorResponses(401) },
  }),
  async (c) => {
    adminContext(c);
    return c.json(jobs.jobKinds(), 200);
  },
);

jobsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/jobs",
    operationId: "listJobs",
    tags,
    summary: "List background jobs",
    description: `The academy's background jobs (imports, package processing), newest first, with \`kind\` and \`status\` filters. ${access} Kinds the caller may not see are left out.`,
    security: SECURITY.admin,
    request: { query: JobListQuery },
    responses: { 200: jsonResponse(JobList, "A page of jobs"), ...errorResponses(401) },
  }),
  async (c) => c.json(await jobs.listJobs(adminContext(c), { ...c.req.valid("query"), sort: "-created_at" }), 200),
);

jobsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/jobs/{id}",
    operationId: "getJob",
    tags,
    summary: "Get a background job",
    description: `A job's status, progress, result and error. Poll it after starting an import: \`queued\` and \`running\` jobs move on by themselves; transient errors are retried with growing delays (10 s to 5 min, 6 tries) before the job fails. ${access}`,
    security: SECURITY.admin,
    request: { params: IdParam },
    responses: { 200: jsonResponse(Job, "The job"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await jobs.getJob(adminContext(c), c.req.valid("param").id), 200),
);
