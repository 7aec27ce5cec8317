import { createRoute, type z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { adminContext } from "../../platform/auth";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { adminAccess, createRouter, errorResponses, jsonBody, jsonResponse } from "../../platform/openapi";
import { hasPermission } from "../../platform/permissions";
import { assertUpgrade, liveResponses } from "./learner.routes";
import { roomConnect, roomWrite } from "./room";
import {
  CreatePostRequest,
  CreateThreadRequest,
  DiscussionGrade,
  GradeDiscussionRequest,
  LiveQuery,
  ModeratePostRequest,
  Post,
  PostList,
  PostListQuery,
  PostParams,
  Thread,
  ThreadList,
  ThreadListQuery,
  ThreadParam,
  UpdateThreadRequest,
} from "./schemas";
import * as discussions from "./service";

const tags = ["Discussions"];
export const adminDiscussionsRouter = createRouter();

/** The caller as a member of the thread: a staff user (keys made by one act as them), moderator by permission. */
async function staffMember(c: Context<AppEnv>, threadId: number, needUser: boolean) {
  const ctx = adminContext(c);
  const thread = await discussions.findThread(ctx, threadId);
  const p = ctx.principal;
  const userId = p.kind === "staff" || p.kind === "api_key" ? p.userId : null;
  if (needUser && userId === null) {
    throw ApiError.forbidden(
      "Posting needs a staff user: use a staff session, or an API key created by a staff user (it posts as them).",
    );
  }
  const m: discussions.Member = {
    tenantId: ctx.tenantId,
    threadId: thread.id,
    userId: userId ?? 0,
    kind: "staff",
    sessionId: p.kind === "staff" ? p.sessionId : 0,
    moderator: hasPermission(p.permissions, "discussions:moderate"),
  };
  return { ctx, thread, m };
}

const modView = (change: discussions.PostChange) => discussions.postView(change.row, "moderator");

adminDiscussionsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/discussions",
    operationId: "listDiscussionThreads",
    tags,
    summary: "List discussion threads",
    description:
      "Threads of the academy, pinned first, then by latest activity. Filter by `course_id`, `placement_id` or `kind`. Keyset-paginated (`cursor`, `meta.next_cursor`).",
    ...adminAccess("courses:read"),
    request: { query: ThreadListQuery },
    responses: { 200: jsonResponse(ThreadList, "A page of threads"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await discussions.listThreads(adminContext(c), c.req.valid("query")), 200),
);

adminDiscussionsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/discussions",
    operationId: "createDiscussionThread",
    tags,
    summary: "Create a thread",
    description:
      "A course thread (`course_id`, `title`), or the thread of a discussion module's placement (`placement_id`; title and body default to the module's name and prompt; one per placement, a second is a 409 with `thread_id`). Emits `discussion_thread.created`.",
    ...adminAccess("discussions:moderate"),
    request: { body: jsonBody(CreateThreadRequest) },
    responses: { 201: jsonResponse(Thread, "The thread"), ...errorResponses(401, 403, 409, 413, 415) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    const p = ctx.principal;
    const createdBy = p.kind === "staff" || p.kind === "api_key" ? p.userId : null;
    const thread = await discussions.createThread(ctx, c.req.valid("json"), createdBy);
    c.header("Location", `/v1/admin/discussions/${thread.id}`);
    return c.json(discussions.threadView(thread), 201);
  },
);

adminDiscussionsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/discussions/{id}",
    operationId: "getDiscussionThread",
    tags,
    summary: "Get a thread",
    description: "One thread with its counters and `last_seq`.",
    ...adminAccess("courses:read"),
    request: { params: ThreadParam },
    responses: { 200: jsonResponse(Thread, "The thread"), ...errorResponses(401, 403, 404) },
  }),
  async (c) =>
    c.json(discussions.threadView(await discussions.findThread(adminContext(c), c.req.valid("param").id)), 200),
);

adminDiscussionsRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/admin/discussions/{id}",
    operationId: "updateDiscussionThread",
    tags,
    summary: "Update, lock or pin a thread",
    description:
      "Changes the title or body, locks (`locked: true`: no new posts, edits or reactions from learners) or reopens the thread, pins or unpins it. Connected members get a `thread.updated` frame. Emits `discussion_thread.updated`.",
    ...adminAccess("discussions:moderate"),
    request: { params: ThreadParam, body: jsonBody(UpdateThreadRequest) },
    responses: { 200: jsonResponse(Thread, "The thread"), ...errorResponses(401, 403, 404, 413, 415) },
  }),
  async (c) => {
    const { m } = await staffMember(c, c.req.valid("param").id, false);
    const thread = await roomWrite<discussions.ThreadRow>(c.env, m.tenantId, m.threadId, {
      op: "thread",
      member: m,
      patch: c.req.valid("json"),
    });
    return c.json(discussions.threadView(thread), 200);
  },
);

adminDiscussionsRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/discussions/{id}",
    operationId: "deleteDiscussionThread",
    tags,
    summary: "Delete a thread",
    description:
      "Deletes the thread with its posts and reactions; connected sockets get `thread.deleted` and are closed (4404). A discussion module's thread is made again, empty, on the next learner's visit. Emits `discussion_thread.deleted`.",
    ...adminAccess("discussions:moderate"),
    request: { params: ThreadParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    const id = c.req.valid("param").id;
    await discussions.deleteThread(ctx, id);
    await roomWrite(c.env, ctx.tenantId, id, { op: "closed", tenantId: ctx.tenantId, threadId: id });
    return c.body(null, 204);
  },
);

adminDiscussionsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/discussions/{id}/posts",
    operationId: "listDiscussionThreadPosts",
    tags,
    summary: "List a thread's posts",
    description:
      "Posts in order (`seq`), top-level by default or every post with `flat=true`; hidden posts with their body (moderator view). Keyset-paginated.",
    ...adminAccess("courses:read"),
    request: { params: ThreadParam, query: PostListQuery },
    responses: { 200: jsonResponse(PostList, "A page of posts"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { ctx, thread, m } = await staffMember(c, c.req.valid("param").id, false);
    return c.json(
      await discussions.listPosts(ctx, thread, c.req.valid("query"), {
        userId: m.userId || null,
        audience: "moderator",
      }),
      200,
    );
  },
);

adminDiscussionsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/discussions/{id}/posts",
    operationId: "createDiscussionThreadPost",
    tags,
    summary: "Post as staff",
    description:
      "An instructor's post or reply (`parent_id`), as the staff user of the credential (an API key posts as the staff user who created it). Staff may post to locked threads. Emits `discussion_post.created`.",
    ...adminAccess("discussions:moderate"),
    request: { params: ThreadParam, body: jsonBody(CreatePostRequest) },
    responses: { 201: jsonResponse(Post, "The post"), ...errorResponses(401, 403, 404, 409, 413, 415) },
  }),
  async (c) => {
    const { m } = await staffMember(c, c.req.valid("param").id, true);
    const change = await roomWrite<discussions.PostChange>(c.env, m.tenantId, m.threadId, {
      op: "post",
      member: m,
      ...c.req.valid("json"),
    });
    c.header("Location", `/v1/admin/discussions/${m.threadId}/posts/${change.row.post.id}`);
    return c.json(modView(change), 201);
  },
);

adminDiscussionsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/discussions/{id}/posts/{post_id}",
    operationId: "getDiscussionThreadPost",
    tags,
    summary: "Get a post",
    description: "One post, hidden ones with their body.",
    ...adminAccess("courses:read"),
    request: { params: PostParams },
    responses: { 200: jsonResponse(Post, "The post"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { id, post_id } = c.req.valid("param");
    const ctx = adminContext(c);
    await discussions.findThread(ctx, id);
    return c.json(discussions.postView(await discussions.getPost(ctx, id, post_id), "moderator"), 200);
  },
);

adminDiscussionsRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/admin/discussions/{id}/posts/{post_id}",
    operationId: "moderateDiscussionPost",
    tags,
    summary: "Hide or pin a post",
    description:
      "`hidden: true` hides the post from learners (it keeps its place and replies; moderators still see it), `false` shows it again; `pinned` pins or unpins it. Connected members get the change. Emits `discussion_post.moderated` when something changed.",
    ...adminAccess("discussions:moderate"),
    request: { params: PostParams, body: jsonBody(ModeratePostRequest) },
    responses: { 200: jsonResponse(Post, "The post"), ...errorResponses(401, 403, 404, 409, 413, 415) },
  }),
  async (c) => {
    const { id, post_id } = c.req.valid("param");
    const { m } = await staffMember(c, id, false);
    const change = await roomWrite<discussions.PostChange>(c.env, m.tenantId, m.threadId, {
      op: "moderate",
      member: m,
      post_id,
      ...c.req.valid("json"),
    });
    return c.json(modView(change), 200);
  },
);

adminDiscussionsRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/discussions/{id}/posts/{post_id}",
    operationId: "deleteDiscussionThreadPost",
    tags,
    summary: "Delete a post",
    description:
      "Deletes any post of the thread as a moderator (body and attachments go; replies stay). Emits `discussion_post.deleted`.",
    ...adminAccess("discussions:moderate"),
    request: { params: PostParams },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { id, post_id } = c.req.valid("param");
    const { m } = await staffMember(c, id, false);
    await roomWrite(c.env, m.tenantId, m.threadId, { op: "delete", member: m, post_id });
    return c.body(null, 204);
  },
);

adminDiscussionsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/discussions/{id}/live",
    operationId: "connectDiscussionLiveAsStaff",
    tags,
    summary: "Live thread as staff (WebSocket)",
    description:
      "The same room and protocol as the learner's live thread (docs/discussions.md), as a staff member: with `discussions:moderate`, hidden posts arrive with their body and posting is allowed in locked threads. Posting over the socket needs a staff user (a staff session or a key created by one). The token may come as `Sec-WebSocket-Protocol: bearer.<token>` or `?token=`.",
    ...adminAccess("courses:read"),
    request: { params: ThreadParam, query: LiveQuery },
    responses: liveResponses(),
  }),
  async (c) => {
    const { m } = await staffMember(c, c.req.valid("param").id, false);
    assertUpgrade(c);
    return (await roomConnect(c.env, c.req.raw, m, c.req.valid("query").since)) as unknown as ReturnType<
      typeof c.json<z.infer<typeof Thread>, 200>
    >;
  },
);

adminDiscussionsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/discussions/{id}/grades",
    operationId: "gradeDiscussion",
    tags,
    summary: "Grade a learner in a graded discussion module",
    description:
      "For the thread of a discussion module whose settings say `graded: true` (posting alone never completes it): records the learner's score out of the module's `total_points` (100 when it has none) and whether they passed (without `passed`, half the points pass). The module status (passed/failed), score, course progress and completion move at once, and `module.graded` is emitted. Grading again replaces the grade, except that a passed module stays passed. 409 for a course thread or an ungraded module; 422 when the learner is not enrolled in the course or the score is over the maximum.",
    ...adminAccess("grading:write"),
    request: { params: ThreadParam, body: jsonBody(GradeDiscussionRequest) },
    responses: {
      200: jsonResponse(DiscussionGrade, "The grade as recorded"),
      ...errorResponses(401, 403, 404, 409, 415),
    },
  }),
  async (c) => {
    const result = await discussions.gradeDiscussion(adminContext(c), c.req.valid("param").id, c.req.valid("json"));
    return c.json(result, 200);
  },
);
