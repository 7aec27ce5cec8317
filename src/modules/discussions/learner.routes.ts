import { createRoute, type z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { learnerContext } from "../../platform/auth";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { createRouter, errorResponses, jsonBody, jsonResponse, ProblemSchema, SECURITY } from "../../platform/openapi";
import { assertCourseOpen } from "../progress/service";
import { PROTOCOL } from "./protocol";
import { roomConnect, roomWrite } from "./room";
import {
  CreatePostRequest,
  EditPostRequest,
  LearnerThreadListQuery,
  LiveQuery,
  PlacementParams,
  Post,
  PostList,
  PostListQuery,
  PostParams,
  ReactionParams,
  RepliesQuery,
  ReplyRequest,
  Thread,
  ThreadList,
  ThreadParam,
} from "./schemas";
import * as discussions from "./service";

const tags = ["Learner discussions"];
const security = SECURITY.learner;
export const learnerDiscussionsRouter = createRouter();

/** The signed-in learner as a member of a thread they may use now (else the 403/404 that says why). */
async function member(c: Context<AppEnv>, threadId: number) {
  const ctx = learnerContext(c);
  const thread = await discussions.learnerThread(ctx, threadId);
  const m: discussions.Member = {
    tenantId: ctx.tenantId,
    threadId: thread.id,
    userId: ctx.principal.userId,
    kind: "learner",
    sessionId: ctx.principal.sessionId,
    moderator: false,
  };
  return { ctx, thread, m };
}

const postOf = (change: discussions.PostChange) => discussions.postView(change.row, "learner");

learnerDiscussionsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/discussions",
    operationId: "listMyCourseDiscussions",
    tags,
    summary: "List a course's discussion threads",
    description:
      "Threads of a course the learner is enrolled in (with access): course threads and the threads of its discussion modules that have one. Pinned threads first, then by latest activity; keyset-paginated (`cursor`).",
    security,
    request: { query: LearnerThreadListQuery },
    responses: { 200: jsonResponse(ThreadList, "A page of threads"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const ctx = learnerContext(c);
    const query = c.req.valid("query");
    await assertCourseOpen(ctx, query.course_id);
    return c.json(await discussions.listThreads(ctx, query), 200);
  },
);

learnerDiscussionsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/courses/{id}/modules/{placement_id}/discussion",
    operationId: "getModuleDiscussion",
    tags,
    summary: "Get a discussion module's thread",
    description:
      "The thread of a discussion placement, created on first use with the module's name and prompt. The placement's access rules apply as on launch (403 `access-denied` naming the rule). A placement of another type is a 409.",
    security,
    request: { params: PlacementParams },
    responses: { 200: jsonResponse(Thread, "The thread"), ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    const { id, placement_id } = c.req.valid("param");
    return c.json(discussions.threadView(await discussions.placementThread(learnerContext(c), id, placement_id)), 200);
  },
);

learnerDiscussionsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/discussions/{id}",
    operationId: "getMyDiscussion",
    tags,
    summary: "Get a thread",
    description: "A thread of a course the learner may use now (module threads: the placement's access rules apply).",
    security,
    request: { params: ThreadParam },
    responses: { 200: jsonResponse(Thread, "The thread"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(discussions.threadView((await member(c, c.req.valid("param").id)).thread), 200),
);

learnerDiscussionsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/discussions/{id}/posts",
    operationId: "listDiscussionPosts",
    tags,
    summary: "List posts",
    description:
      "Top-level posts in order (`seq`, oldest first), or with `flat=true` every post with its replies in order (what a live client shows). Hidden posts keep their place without body; deleted ones too. `my_reactions` are the learner's own. Keyset-paginated: `meta.next_cursor`; `meta.last_seq` is what to pass as `since` when connecting live.",
    security,
    request: { params: ThreadParam, query: PostListQuery },
    responses: { 200: jsonResponse(PostList, "A page of posts"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { ctx, thread, m } = await member(c, c.req.valid("param").id);
    return c.json(
      await discussions.listPosts(ctx, thread, c.req.valid("query"), { userId: m.userId, audience: "learner" }),
      200,
    );
  },
);

const createdResponse = (c: Context<AppEnv>, threadId: number, post: ReturnType<typeof postOf>) => {
  c.header("Location", `/v1/learner/discussions/${threadId}/posts/${post.id}`);
  return post;
};

learnerDiscussionsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/discussions/{id}/posts",
    operationId: "createDiscussionPost",
    tags,
    summary: "Write a post",
    description:
      "A post, or a reply with `parent_id`. `@<user id>` in the body mentions a user of the academy. The post is stored, then sent live to everyone connected to the thread, in one order. A locked thread is a 409 `thread-locked`; a body over 10,000 characters is a 422. In a discussion module, posting counts toward its completion rules (`min_posts`, `min_replies`). Emits `discussion_post.created`.",
    security,
    request: { params: ThreadParam, body: jsonBody(CreatePostRequest) },
    responses: { 201: jsonResponse(Post, "The post"), ...errorResponses(401, 403, 404, 409, 413, 415) },
  }),
  async (c) => {
    const { m } = await member(c, c.req.valid("param").id);
    const change = await roomWrite<discussions.PostChange>(c.env, m.tenantId, m.threadId, {
      op: "post",
      member: m,
      ...c.req.valid("json"),
    });
    return c.json(createdResponse(c, m.threadId, postOf(change)), 201);
  },
);

learnerDiscussionsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/discussions/{id}/posts/{post_id}",
    operationId: "getDiscussionPost",
    tags,
    summary: "Get a post",
    description: "One post of the thread (hidden: without body).",
    security,
    request: { params: PostParams },
    responses: { 200: jsonResponse(Post, "The post"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { id, post_id } = c.req.valid("param");
    const { ctx } = await member(c, id);
    return c.json(discussions.postView(await discussions.getPost(ctx, id, post_id), "learner"), 200);
  },
);

learnerDiscussionsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/discussions/{id}/posts/{post_id}/replies",
    operationId: "listDiscussionReplies",
    tags,
    summary: "List replies",
    description: "The direct replies to a post, in order (keyset-paginated).",
    security,
    request: { params: PostParams, query: RepliesQuery },
    responses: { 200: jsonResponse(PostList, "A page of replies"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { id, post_id } = c.req.valid("param");
    const { ctx, thread, m } = await member(c, id);
    const query = { ...c.req.valid("query"), parent_id: post_id };
    return c.json(await discussions.listPosts(ctx, thread, query, { userId: m.userId, audience: "learner" }), 200);
  },
);

learnerDiscussionsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/discussions/{id}/posts/{post_id}/replies",
    operationId: "replyToDiscussionPost",
    tags,
    summary: "Reply to a post",
    description:
      "The same as writing a post with `parent_id`: replies nest to any depth. Replying to a deleted post is a 422. Emits `discussion_post.created`.",
    security,
    request: { params: PostParams, body: jsonBody(ReplyRequest) },
    responses: { 201: jsonResponse(Post, "The reply"), ...errorResponses(401, 403, 404, 409, 413, 415) },
  }),
  async (c) => {
    const { id, post_id } = c.req.valid("param");
    const { m } = await member(c, id);
    const change = await roomWrite<discussions.PostChange>(c.env, m.tenantId, m.threadId, {
      op: "post",
      member: m,
      ...c.req.valid("json"),
      parent_id: post_id,
    });
    return c.json(createdResponse(c, m.threadId, postOf(change)), 201);
  },
);

learnerDiscussionsRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/learner/discussions/{id}/posts/{post_id}",
    operationId: "editDiscussionPost",
    tags,
    summary: "Edit your post",
    description:
      "The author changes the body and/or attachments (`edited_at` is set, mentions are read again). Another learner's post is a 403; a deleted or hidden post, or a locked thread, a 409. Emits `discussion_post.updated`.",
    security,
    request: { params: PostParams, body: jsonBody(EditPostRequest) },
    responses: { 200: jsonResponse(Post, "The post"), ...errorResponses(401, 403, 404, 409, 413, 415) },
  }),
  async (c) => {
    const { id, post_id } = c.req.valid("param");
    const { m } = await member(c, id);
    const change = await roomWrite<discussions.PostChange>(c.env, m.tenantId, m.threadId, {
      op: "edit",
      member: m,
      post_id,
      ...c.req.valid("json"),
    });
    return c.json(postOf(change), 200);
  },
);

learnerDiscussionsRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/learner/discussions/{id}/posts/{post_id}",
    operationId: "deleteDiscussionPost",
    tags,
    summary: "Delete your post",
    description:
      "The author deletes their post: its body and attachments go, it keeps its place so its replies stay. Deleting again changes nothing. Another learner's post is a 403. Emits `discussion_post.deleted`.",
    security,
    request: { params: PostParams },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { id, post_id } = c.req.valid("param");
    const { m } = await member(c, id);
    await roomWrite(c.env, m.tenantId, m.threadId, { op: "delete", member: m, post_id });
    return c.body(null, 204);
  },
);

for (const [method, on] of [
  ["put", true],
  ["delete", false],
] as const) {
  learnerDiscussionsRouter.openapi(
    createRoute({
      method,
      path: "/v1/learner/discussions/{id}/posts/{post_id}/reactions/{emoji}",
      operationId: on ? "addDiscussionReaction" : "removeDiscussionReaction",
      tags,
      summary: on ? "React to a post" : "Remove your reaction",
      description: on
        ? "Adds the learner's reaction with this emoji (URL-encoded; or a short code such as `thumbs_up`). Idempotent: reacting again changes nothing. A post takes at most 20 different emoji. Answers the post with its counts."
        : "Removes the learner's reaction with this emoji. Idempotent.",
      security,
      request: { params: ReactionParams },
      responses: {
        ...(on ? { 200: jsonResponse(Post, "The post") } : { 204: { description: "Removed (or was not there)" } }),
        ...errorResponses(401, 403, 404, 409),
      },
    }),
    async (c) => {
      const { id, post_id, emoji } = c.req.valid("param");
      const { m } = await member(c, id);
      const change = await roomWrite<discussions.PostChange>(c.env, m.tenantId, m.threadId, {
        op: "react",
        member: m,
        post_id,
        emoji,
        on,
      });
      return on ? c.json(postOf(change), 200) : c.body(null, 204);
    },
  );
}

/** The live route: upgrade only; anything else is a 426 problem. */
export function liveResponses(extra: number[] = []) {
  return {
    101: { description: `Switching Protocols: a WebSocket speaking \`${PROTOCOL}\` (docs/discussions.md)` },
    426: {
      description: "Not a WebSocket upgrade (send `Upgrade: websocket`)",
      content: { "application/problem+json": { schema: ProblemSchema } },
    },
    ...errorResponses(401, 403, 404, ...extra),
  };
}

export function assertUpgrade(c: Context<AppEnv>) {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "This is a WebSocket endpoint: connect with `Upgrade: websocket`.", {
      slug: "upgrade-required",
      title: "Upgrade required",
      headers: { Upgrade: "websocket" },
    });
  }
}

learnerDiscussionsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/discussions/{id}/live",
    operationId: "connectDiscussionLive",
    tags,
    summary: "Live thread (WebSocket)",
    description: `Upgrades to a WebSocket on the thread's room (subprotocol \`${PROTOCOL}\`). Browsers cannot set headers on a WebSocket: send the learner token as a \`bearer.<token>\` entry of \`Sec-WebSocket-Protocol\` (next to \`${PROTOCOL}\`) or as the \`token\` query parameter. The room sends \`welcome\` (the thread and \`last_seq\`), then with \`since\` every change after it, then every new change in one order. Send JSON frames \`{type:"post", body, parent_id?}\`, \`edit\`, \`delete\`, \`react\`, \`unreact\`, \`ping\`; invalid frames get an \`error\` frame and the socket stays open. See docs/discussions.md.`,
    security,
    request: { params: ThreadParam, query: LiveQuery },
    responses: liveResponses(),
  }),
  async (c) => {
    const { m } = await member(c, c.req.valid("param").id);
    assertUpgrade(c);
    return (await roomConnect(c.env, c.req.raw, m, c.req.valid("query").since)) as unknown as ReturnType<
      typeof c.json<z.infer<typeof Thread>, 200>
    >;
  },
);
