import { createRoute } from "@hono/zod-openapi";
import { adminContext, learnerContext } from "../../platform/auth";
import {
  adminAccess,
  createRouter,
  errorResponses,
  IdParam,
  jsonBody,
  jsonResponse,
  SECURITY,
} from "../../platform/openapi";
import {
  Announcement,
  AnnouncementCreate,
  AnnouncementList,
  AnnouncementListQuery,
  AnnouncementUpdate,
  BulkDeleteRequest,
  BulkDeleteResult,
  LearnerAnnouncement,
  LearnerAnnouncementList,
  LearnerAnnouncementQuery,
} from "./schemas";
import * as service from "./service";

const tags = ["Announcements"];
export const announcementsRouter = createRouter();

announcementsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/announcements",
    operationId: "listAnnouncements",
    tags,
    summary: "List announcements",
    description:
      "Announcements of the academy, drafts included. Search the heading with `q`; filter by `status`, `sending_rules`, or `active=true` (published and not expired); sort by `created_at`, `heading`, `published_at`, `expires_at`.",
    ...adminAccess("courses:read"),
    request: { query: AnnouncementListQuery },
    responses: { 200: jsonResponse(AnnouncementList, "A page of announcements"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await service.listAnnouncements(adminContext(c), c.req.valid("query")), 200),
);

announcementsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/announcements",
    operationId: "createAnnouncement",
    tags,
    summary: "Create an announcement",
    description:
      "Saves a draft (or publishes at once with `publish: true`). `sending_rules` picks the learners: `all`, `specific_users` (needs `user_ids`, learners of this academy), `specific_course_users` (needs `course_ids`: learners actively enrolled there), `specific_class_users` (`class_ids`) or `specific_portals` (`portal_ids`); Lectern has no classes or portals yet, so those two are stored but reach nobody. `expires_at` must be in the future. Emits `announcement.created` (and `announcement.published`).",
    ...adminAccess("courses:write"),
    request: { body: jsonBody(AnnouncementCreate) },
    responses: {
      201: jsonResponse(Announcement, "The announcement"),
      ...errorResponses(401, 403, 413, 415),
    },
  }),
  async (c) => {
    const created = await service.createAnnouncement(adminContext(c), c.req.valid("json"));
    c.header("Location", `/v1/admin/announcements/${created.id}`);
    return c.json(created, 201);
  },
);

announcementsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/announcements/bulk-delete",
    operationId: "bulkDeleteAnnouncements",
    tags,
    summary: "Delete announcements",
    description:
      "Deletes the given announcements atomically (the seed's `delete_ids`). Ids of no announcement of this academy are reported in `not_found`. Notifications already delivered stay in the learners' inboxes. Emits `announcement.deleted` per announcement.",
    ...adminAccess("courses:write"),
    request: { body: jsonBody(BulkDeleteRequest) },
    responses: { 200: jsonResponse(BulkDeleteResult, "What was deleted"), ...errorResponses(401, 403, 415) },
  }),
  async (c) => {
    const ids = [...new Set(c.req.valid("json").ids)];
    const deleted = await service.deleteAnnouncements(adminContext(c), ids);
    return c.json({ deleted, not_found: ids.filter((id) => !deleted.includes(id)) }, 200);
  },
);

announcementsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/announcements/{id}",
    operationId: "getAnnouncement",
    tags,
    summary: "Get an announcement",
    description: "One announcement with its sending rules, targets, status and expiry.",
    ...adminAccess("courses:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Announcement, "The announcement"), ...errorResponses(401, 403, 404) },
  }),
  async (c) =>
    c.json(service.toAnnouncement(await service.getAnnouncementRow(adminContext(c), c.req.valid("param").id)), 200),
);

announcementsRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/admin/announcements/{id}",
    operationId: "updateAnnouncement",
    tags,
    summary: "Update an announcement",
    description:
      "Changes any field; the rule's id list must fit the (new) rule. On a published announcement the change applies to what learners see in their announcement list from now on; notifications already delivered are not rewritten or re-sent. Emits `announcement.updated`.",
    ...adminAccess("courses:write"),
    request: { params: IdParam, body: jsonBody(AnnouncementUpdate) },
    responses: { 200: jsonResponse(Announcement, "The announcement"), ...errorResponses(401, 403, 404, 413, 415) },
  }),
  async (c) =>
    c.json(await service.updateAnnouncement(adminContext(c), c.req.valid("param").id, c.req.valid("json")), 200),
);

announcementsRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/announcements/{id}",
    operationId: "deleteAnnouncement",
    tags,
    summary: "Delete an announcement",
    description: "Learners stop seeing it. Notifications already delivered stay. Emits `announcement.deleted`.",
    ...adminAccess("courses:write"),
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    await service.deleteAnnouncement(adminContext(c), c.req.valid("param").id);
    return c.body(null, 204);
  },
);

announcementsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/announcements/{id}/publish",
    operationId: "publishAnnouncement",
    tags,
    summary: "Publish an announcement",
    description:
      "Draft -> published, once (again: 409; expired: 409). Emits `announcement.published`, whose consumer puts a notification in each targeted learner's inbox (and queues emails for those who want them) in the background: one INSERT ... SELECT whatever the audience size.",
    ...adminAccess("courses:write"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Announcement, "The published announcement"), ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => c.json(await service.publishAnnouncement(adminContext(c), c.req.valid("param").id), 200),
);

announcementsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/announcements",
    operationId: "listMyAnnouncements",
    tags,
    summary: "List my announcements",
    description:
      "Published, unexpired announcements addressed to the signed-in learner (to everyone, to them, or to a course they are actively enrolled in), newest first. Search the heading with `q`.",
    security: SECURITY.learner,
    request: { query: LearnerAnnouncementQuery },
    responses: { 200: jsonResponse(LearnerAnnouncementList, "A page of announcements"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await service.listLearnerAnnouncements(learnerContext(c), c.req.valid("query")), 200),
);

announcementsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/announcements/{id}",
    operationId: "getMyAnnouncement",
    tags,
    summary: "Get an announcement",
    description: "One announcement the learner can see now; any other id (not addressed to them, expired) is a 404.",
    security: SECURITY.learner,
    request: { params: IdParam },
    responses: { 200: jsonResponse(LearnerAnnouncement, "The announcement"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await service.getLearnerAnnouncement(learnerContext(c), c.req.valid("param").id), 200),
);
