import {
  type AnySQLiteColumn,
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import { coursePlacements, courses } from "../courses/tables";
import { tenants } from "../tenants/tables";
import { users } from "../users/tables";

export const THREAD_KINDS = ["course", "module"] as const;
export const POST_STATUSES = ["visible", "hidden", "deleted"] as const;

/**
 * A discussion thread: a course thread (any enrolled learner of the course) or the one thread of a discussion
 * module's placement (`placement_id`, unique). `last_seq` numbers every change of the thread's posts (one order
 * for the live room and for `since` replays); it is bumped in the same batch as the change it numbers.
 * `activity_at` (last post, else creation) orders lists.
 */
export const discussionThreads = sqliteTable(
  "discussion_threads",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    courseId: integer("course_id")
      .notNull()
      .references(() => courses.id, { onDelete: "cascade" }),
    placementId: integer("placement_id").references(() => coursePlacements.id, { onDelete: "cascade" }),
    moduleId: integer("module_id"),
    kind: text("kind", { enum: THREAD_KINDS }).notNull(),
    title: text("title").notNull(),
    body: text("body").notNull().default(""),
    createdBy: integer("created_by").references(() => users.id, { onDelete: "set null" }),
    locked: integer("locked", { mode: "boolean" }).notNull().default(false),
    pinned: integer("pinned", { mode: "boolean" }).notNull().default(false),
    lastSeq: integer("last_seq").notNull().default(0),
    postCount: integer("post_count").notNull().default(0),
    lastPostAt: text("last_post_at"),
    activityAt: text("activity_at").notNull(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("discussion_threads_tenant_placement_uq").on(t.tenantId, t.placementId),
    index("discussion_threads_tenant_course_list_idx").on(t.tenantId, t.courseId, t.pinned, t.activityAt, t.id),
    index("discussion_threads_tenant_list_idx").on(t.tenantId, t.pinned, t.activityAt, t.id),
    index("discussion_threads_course_fk_idx").on(t.courseId),
    index("discussion_threads_placement_fk_idx").on(t.placementId),
    index("discussion_threads_created_by_fk_idx").on(t.createdBy),
  ],
);

/**
 * A post of a thread; `parent_id` makes it a reply (to any post of the same thread). `seq` is the thread
 * sequence number that created it (posts are listed in `seq` order); `changed_seq` the one of its latest change
 * (edit, delete, hide, pin, reaction), so a reconnecting client asks for `changed_seq > since`.
 * Deleting is soft (the body goes, replies stay); hiding keeps the body for moderators only.
 */
export const discussionPosts = sqliteTable(
  "discussion_posts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    threadId: integer("thread_id")
      .notNull()
      .references(() => discussionThreads.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    changedSeq: integer("changed_seq").notNull(),
    parentId: integer("parent_id").references((): AnySQLiteColumn => discussionPosts.id, { onDelete: "cascade" }),
    authorId: integer("author_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    body: text("body").notNull(),
    status: text("status", { enum: POST_STATUSES }).notNull().default("visible"),
    pinned: integer("pinned", { mode: "boolean" }).notNull().default(false),
    mentionedUserIds: text("mentioned_user_ids", { mode: "json" }).$type<number[]>().notNull(),
    attachmentMediaIds: text("attachment_media_ids", { mode: "json" }).$type<number[]>().notNull(),
    reactionCounts: text("reaction_counts", { mode: "json" }).$type<Record<string, number>>().notNull(),
    replyCount: integer("reply_count").notNull().default(0),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    editedAt: text("edited_at"),
    hiddenAt: text("hidden_at"),
    hiddenBy: integer("hidden_by"),
    deletedAt: text("deleted_at"),
  },
  (t) => [
    uniqueIndex("discussion_posts_tenant_thread_seq_uq").on(t.tenantId, t.threadId, t.seq),
    index("discussion_posts_tenant_thread_changed_idx").on(t.tenantId, t.threadId, t.changedSeq),
    index("discussion_posts_tenant_thread_parent_idx").on(t.tenantId, t.threadId, t.parentId, t.seq),
    index("discussion_posts_tenant_thread_author_idx").on(t.tenantId, t.threadId, t.authorId),
    index("discussion_posts_thread_fk_idx").on(t.threadId),
    index("discussion_posts_parent_fk_idx").on(t.parentId),
    index("discussion_posts_author_fk_idx").on(t.authorId),
  ],
);

/** One user's reaction with one emoji to one post (idempotent by its key). */
export const discussionReactions = sqliteTable(
  "discussion_reactions",
  {
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    postId: integer("post_id")
      .notNull()
      .references(() => discussionPosts.id, { onDelete: "cascade" }),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    emoji: text("emoji").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.postId, t.userId, t.emoji] }),
    index("discussion_reactions_post_fk_idx").on(t.postId),
    index("discussion_reactions_user_fk_idx").on(t.userId),
  ],
);
