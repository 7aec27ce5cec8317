import { z } from "@hono/zod-openapi";
import { Timestamp } from "../../platform/openapi";
import { AttachmentIds, Emoji, PostBody } from "./protocol";
import { POST_STATUSES, THREAD_KINDS } from "./tables";

const Id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const QueryId = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const Bool = z
  .enum(["true", "false"])
  .transform((v) => v === "true")
  .openapi({ type: "boolean" });

export const Thread = z
  .object({
    id: z.number().int().openapi({ example: 12 }),
    kind: z.enum(THREAD_KINDS).openapi({ description: "`course`: a course thread; `module`: a discussion module's" }),
    course_id: z.number().int(),
    placement_id: z.number().int().nullable().openapi({ description: "The discussion placement (module threads)" }),
    module_id: z.number().int().nullable(),
    title: z.string().openapi({ example: "Week 1: introductions" }),
    body: z.string().openapi({ description: "The opening text or the module's prompt (HTML)" }),
    locked: z
      .boolean()
      .openapi({ description: "A locked thread takes no new posts, edits or reactions from learners" }),
    pinned: z.boolean().openapi({ description: "Pinned threads are listed first" }),
    post_count: z.number().int().openapi({ description: "Posts written, replies included (deleted ones too)" }),
    last_seq: z.number().int().openapi({ description: "Number of the thread's latest change (see the live protocol)" }),
    last_post_at: Timestamp.nullable(),
    created_by: z.number().int().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("DiscussionThread");

const keysetMeta = {
  per_page: z.number().int(),
  next_cursor: z.string().nullable().openapi({ description: "Pass as `cursor` for the next page; null at the end" }),
};

export const ThreadList = z
  .object({ data: z.array(Thread), meta: z.object(keysetMeta) })
  .openapi("DiscussionThreadList");

const keysetQuery = {
  cursor: z
    .string()
    .max(300)
    .optional()
    .openapi({ description: "`meta.next_cursor` of the previous page; omit for the first page" }),
  per_page: z.coerce.number().int().min(1).max(100).default(20).openapi({ description: "Items per page (max 100)" }),
};

export const ThreadListQuery = z.object({
  ...keysetQuery,
  course_id: QueryId.optional().openapi({ description: "Threads of this course" }),
  placement_id: QueryId.optional().openapi({ description: "The thread of this discussion placement" }),
  kind: z.enum(THREAD_KINDS).optional(),
});

export const LearnerThreadListQuery = z.object({
  ...keysetQuery,
  course_id: QueryId.openapi({ description: "A course the learner is enrolled in (with access)" }),
});

export const CreateThreadRequest = z
  .strictObject({
    course_id: Id.openapi({ example: 3 }),
    placement_id: Id.nullable()
      .optional()
      .openapi({ description: "A discussion module's placement in the course: makes the module's thread" }),
    title: z.string().trim().min(1).max(300).optional().openapi({
      description: "Required for course threads; module threads default to the module's name",
      example: "Week 1: introductions",
    }),
    body: z.string().max(100_000).optional().openapi({ description: "Opening text (module threads: the prompt)" }),
    locked: z.boolean().optional(),
    pinned: z.boolean().optional(),
  })
  .openapi("CreateDiscussionThreadRequest");

export const UpdateThreadRequest = z
  .strictObject({
    title: z.string().trim().min(1).max(300).optional(),
    body: z.string().max(100_000).optional(),
    locked: z.boolean().optional().openapi({ description: "Lock (true) or reopen (false) the thread" }),
    pinned: z.boolean().optional().openapi({ description: "Pin the thread to the top of lists" }),
  })
  .openapi("UpdateDiscussionThreadRequest", { description: "Fields to change; an empty object changes nothing." });

export const Post = z
  .object({
    id: z.number().int().openapi({ example: 301 }),
    thread_id: z.number().int(),
    seq: z
      .number()
      .int()
      .openapi({ description: "The thread sequence number that created it (posts are in this order)" }),
    changed_seq: z.number().int().openapi({ description: "The sequence number of its latest change" }),
    parent_id: z.number().int().nullable().openapi({ description: "The post it replies to; null: top-level" }),
    author: z.object({ id: z.number().int(), name: z.string(), kind: z.enum(["staff", "learner"]) }),
    body: z.string().nullable().openapi({ description: "null when deleted, or hidden (to learners)" }),
    status: z.enum(POST_STATUSES),
    pinned: z.boolean(),
    reply_count: z.number().int(),
    mentioned_user_ids: z.array(z.number().int()).openapi({
      description: "Users mentioned as `@<user id>` in the body (active users of the academy)",
    }),
    attachment_media_ids: z.array(z.number().int()),
    reactions: z.record(z.string(), z.number().int()).openapi({
      description: "Count per emoji",
      example: { "👍": 2 },
    }),
    my_reactions: z.array(z.string()).optional().openapi({ description: "The caller's own reactions (lists)" }),
    created_at: Timestamp,
    updated_at: Timestamp,
    edited_at: Timestamp.nullable(),
    hidden_at: Timestamp.nullable().openapi({ description: "When hidden (moderators only)" }),
  })
  .openapi("DiscussionPost");

export const PostList = z
  .object({
    data: z.array(Post),
    meta: z.object({
      ...keysetMeta,
      last_seq: z.number().int().openapi({ description: "The thread's latest change: connect live with `since`" }),
    }),
  })
  .openapi("DiscussionPostList");

export const PostListQuery = z.object({
  ...keysetQuery,
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, "Use the `meta.next_cursor` of the previous page.")
    .optional()
    .openapi({ description: "`meta.next_cursor` of the previous page (a `seq`)" }),
  flat: Bool.optional().openapi({
    description: "true: every post, replies included, in `seq` order; default: top-level posts only",
  }),
  pinned: Bool.optional().openapi({ description: "Only pinned (true) or unpinned (false) posts" }),
});

export const RepliesQuery = z.object({
  ...keysetQuery,
  cursor: PostListQuery.shape.cursor,
});

export const CreatePostRequest = z
  .strictObject({
    body: PostBody.openapi({
      description: "The text (at most 10,000 characters); `@<user id>` mentions a user",
      example: "Great point, @42!",
    }),
    parent_id: Id.nullable().optional().openapi({ description: "Reply to this post of the thread" }),
    attachment_media_ids: AttachmentIds.optional().openapi({ description: "Media library ids (at most 10)" }),
  })
  .openapi("CreateDiscussionPostRequest");

export const ReplyRequest = z
  .strictObject({
    body: CreatePostRequest.shape.body,
    attachment_media_ids: CreatePostRequest.shape.attachment_media_ids,
  })
  .openapi("CreateDiscussionReplyRequest");

export const EditPostRequest = z
  .strictObject({
    body: PostBody.optional(),
    attachment_media_ids: AttachmentIds.optional(),
  })
  .refine((v) => v.body !== undefined || v.attachment_media_ids !== undefined, {
    message: "Give `body` or `attachment_media_ids`.",
    path: ["body"],
  })
  .openapi("EditDiscussionPostRequest");

export const ModeratePostRequest = z
  .strictObject({
    hidden: z.boolean().optional().openapi({ description: "Hide the post from learners (true) or show it again" }),
    pinned: z.boolean().optional().openapi({ description: "Pin the post (true) or unpin it" }),
  })
  .openapi("ModerateDiscussionPostRequest", { description: "An empty object changes nothing." });

const idParam = (name: string, description: string) =>
  QueryId.openapi({ param: { name, in: "path" }, example: 12, description });

export const ThreadParam = z.object({ id: idParam("id", "The thread id") });
export const PostParams = z.object({ id: idParam("id", "The thread id"), post_id: idParam("post_id", "The post id") });
export const ReactionParams = PostParams.extend({
  emoji: Emoji.openapi({
    param: { name: "emoji", in: "path" },
    example: "thumbs_up",
    description: "An emoji, URL-encoded (`%F0%9F%91%8D` for 👍), or a short code such as `thumbs_up`",
  }),
});
export const PlacementParams = z.object({
  id: idParam("id", "The course id"),
  placement_id: idParam("placement_id", "The discussion placement id"),
});

export const LiveQuery = z.object({
  since: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().openapi({
    description: "The last `seq` the client saw: the room first sends every change after it",
  }),
  token: z.string().max(4096).optional().openapi({
    description: "The bearer token, for browsers (which cannot set headers on a WebSocket)",
  }),
});

export const GradeDiscussionRequest = z
  .strictObject({
    learner_id: z.number().int().positive().openapi({ example: 42, description: "The learner being graded" }),
    score: z
      .number()
      .min(0)
      .max(100_000)
      .openapi({ example: 8, description: "Points, out of the module's `total_points` (100 when it has none)" }),
    passed: z
      .boolean()
      .optional()
      .openapi({ description: "Whether the learner passed; without it, half the points pass" }),
  })
  .openapi("GradeDiscussionRequest");

export const DiscussionGrade = z
  .object({
    thread_id: z.number().int(),
    learner_id: z.number().int(),
    score: z.number(),
    max_score: z.number(),
    passed: z.boolean(),
  })
  .openapi("DiscussionGrade");
