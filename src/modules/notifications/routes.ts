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
  Email,
  EmailList,
  EmailListQuery,
  NotificationList,
  NotificationListQuery,
  Notification as NotificationSchema,
  Preferences,
  PreferencesUpdate,
  ReadAllRequest,
  ReadAllResult,
  UnreadCount,
} from "./schemas";
import * as service from "./service";

const tags = ["Notifications"];
export const notificationsRouter = createRouter();

notificationsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/notifications",
    operationId: "listMyNotifications",
    tags,
    summary: "List my notifications",
    description:
      "The signed-in learner's inbox, newest first, keyset-paginated (`cursor` = `meta.next_cursor`). `unread=true` keeps unread ones; `category` filters (`announcements`, `grading`, `certificates`, `enrollments`, `discussions`). Notifications come from announcements and from events (graded modules, issued certificates, enrollments, discussion mentions).",
    security: SECURITY.learner,
    request: { query: NotificationListQuery },
    responses: { 200: jsonResponse(NotificationList, "A page of notifications"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await service.listNotifications(learnerContext(c), c.req.valid("query")), 200),
);

notificationsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/notifications/unread-count",
    operationId: "countMyUnreadNotifications",
    tags,
    summary: "Count my unread notifications",
    description: "For the badge on the bell: `{unread}`.",
    security: SECURITY.learner,
    responses: { 200: jsonResponse(UnreadCount, "The unread count"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await service.unreadCount(learnerContext(c)), 200),
);

notificationsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/notifications/read-all",
    operationId: "markAllMyNotificationsRead",
    tags,
    summary: "Mark all my notifications read",
    description:
      "Marks every unread notification read, or only those with an id up to `up_to_id` (so one that arrived after the learner looked stays unread). Answers how many changed. Send `{}` for all.",
    security: SECURITY.learner,
    request: { body: jsonBody(ReadAllRequest) },
    responses: { 200: jsonResponse(ReadAllResult, "How many were marked"), ...errorResponses(401, 403, 415) },
  }),
  async (c) => c.json(await service.markAllRead(learnerContext(c), c.req.valid("json").up_to_id), 200),
);

notificationsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/notifications/{id}/read",
    operationId: "markMyNotificationRead",
    tags,
    summary: "Mark a notification read",
    description: "Idempotent: a notification read already keeps its first `read_at`. Another learner's id is a 404.",
    security: SECURITY.learner,
    request: { params: IdParam },
    responses: { 200: jsonResponse(NotificationSchema, "The notification"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await service.markRead(learnerContext(c), c.req.valid("param").id), 200),
);

notificationsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/notifications/preferences",
    operationId: "getMyNotificationPreferences",
    tags,
    summary: "My email preferences",
    description:
      "Per category, whether a notification also sends an email (default: yes). A learner with `email_unsubscribe` set gets no email at all.",
    security: SECURITY.learner,
    responses: { 200: jsonResponse(Preferences, "The preferences"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await service.getPreferences(learnerContext(c)), 200),
);

notificationsRouter.openapi(
  createRoute({
    method: "put",
    path: "/v1/learner/notifications/preferences",
    operationId: "updateMyNotificationPreferences",
    tags,
    summary: "Change my email preferences",
    description: "Sets the given categories (`{email: {grading: false}}`); the others keep their value.",
    security: SECURITY.learner,
    request: { body: jsonBody(PreferencesUpdate) },
    responses: { 200: jsonResponse(Preferences, "The preferences"), ...errorResponses(401, 403, 415) },
  }),
  async (c) => c.json(await service.updatePreferences(learnerContext(c), c.req.valid("json")), 200),
);

// ---- admin: the email outbox ------------------------------------------------------------------------------------

const emailTags = ["Email outbox"];

notificationsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/emails",
    operationId: "listOutboxEmails",
    tags: emailTags,
    summary: "List the email outbox",
    description:
      "Emails the academy sent or will send, newest first, keyset-paginated, with their status (`pending`, `sending`, `sent`, `failed`), attempts and last error. Filter by `status` or `user_id`.",
    ...adminAccess("settings:read"),
    request: { query: EmailListQuery },
    responses: { 200: jsonResponse(EmailList, "A page of emails"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await service.listEmails(adminContext(c), c.req.valid("query")), 200),
);

notificationsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/emails/{id}",
    operationId: "getOutboxEmail",
    tags: emailTags,
    summary: "Get an email of the outbox",
    description: "One email with its content, status and delivery attempts.",
    ...adminAccess("settings:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Email, "The email"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(service.toEmail(await service.getEmail(adminContext(c), c.req.valid("param").id)), 200),
);

notificationsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/emails/{id}/retry",
    operationId: "retryOutboxEmail",
    tags: emailTags,
    summary: "Retry a failed email",
    description:
      "Puts a `failed` email back in the outbox with a fresh set of attempts; the next sweep (within a minute) sends it. Any other status is a 409.",
    ...adminAccess("settings:write"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Email, "The email, pending again"), ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => c.json(await service.retryEmail(adminContext(c), c.req.valid("param").id), 200),
);
