/**
 * Discussions: threads of a course (any learner with access to the course) and the one thread of each placed
 * discussion module; posts with nested replies, edits, soft deletes, moderation (hide, pin, lock), mentions,
 * reactions and attachments by media id.
 *
 * Every change to a thread's posts is made by the thread's DiscussionRoom Durable Object (src/durable), one at a
 * time, so the room can broadcast the changes in the order they were numbered: each write batch bumps the
 * thread's `last_seq` and stamps the post with it (`seq` when created, `changed_seq` for its latest change).
 * Reads (lists, replays) and thread creation run in the Worker. Each write is one D1 batch (a fixed number of
 * statements) after one read batch.
 */
import { and, asc, desc, eq, inArray, isNull, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { LearnerPrincipal, TenantContext } from "../../platform/auth";
import { inList } from "../../platform/db";
import { ApiError, type FieldError } from "../../platform/errors";
import { outboxInsert, outboxInsertFor } from "../../platform/events";
import { nowIso } from "../../platform/time";
import { activityInsert } from "../activities/service";
import { contentModules } from "../content-modules/tables";
// Placements, instructors and module progress are read (never written) in this module's own read batches, so a
// post stays at a fixed number of statements; their modules own every write to them.
import { courseInstructors, coursePlacements, courses } from "../courses/tables";
import { enrollments } from "../enrollments/tables";
import { assertCourseOpen, assertPlacementOpen, recordGradedResult } from "../progress/service";
import { moduleProgress } from "../progress/tables";
import { users } from "../users/tables";
import { discussionPosts, discussionReactions, discussionThreads } from "./tables";

type Batch = [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];
export type ThreadRow = typeof discussionThreads.$inferSelect;
type PostRow = typeof discussionPosts.$inferSelect;
export type PostWithAuthor = { post: PostRow; authorName: string; authorKind: "staff" | "learner" };

/** Longest post body, in characters (the REST schemas and the socket protocol both refuse longer ones). */
export const MAX_POST_CHARS = 10_000;
export const MAX_ATTACHMENTS = 10;
export const MAX_MENTIONS = 20;

/**
 * Who acts in a thread: resolved and checked by the Worker (REST) or stored on the socket when it connected.
 * `moderator`: staff with `discussions:moderate`.
 */
export interface Member {
  tenantId: number;
  threadId: number;
  userId: number;
  kind: "learner" | "staff";
  sessionId: number;
  moderator: boolean;
}

export interface PostInput {
  body: string;
  parent_id?: number | null;
  attachment_media_ids?: number[];
}

export interface EditInput {
  body?: string;
  attachment_media_ids?: number[];
}

export interface ModerationInput {
  hidden?: boolean;
  pinned?: boolean;
}

export interface ThreadPatch {
  title?: string;
  body?: string;
  locked?: boolean;
  pinned?: boolean;
}

/** What a post write tells the room: the post as it is now, the number of the change, what to do next. */
export interface PostChange {
  kind: "post.created" | "post.updated";
  change?: "edited" | "deleted" | "hidden" | "unhidden" | "pinned" | "unpinned" | "reactions";
  seq: number;
  row: PostWithAuthor;
  /** Set when the author (a learner) has now met an ungraded discussion module's posting rules. */
  completion?: { courseId: number; placementId: number; launched: boolean };
}

// ---- views -------------------------------------------------------------------------------------------------------

export function threadView(t: ThreadRow) {
  return {
    id: t.id,
    kind: t.kind,
    course_id: t.courseId,
    placement_id: t.placementId,
    module_id: t.moduleId,
    title: t.title,
    body: t.body,
    locked: t.locked,
    pinned: t.pinned,
    post_count: t.postCount,
    last_seq: t.lastSeq,
    last_post_at: t.lastPostAt,
    created_by: t.createdBy,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
  };
}

export type ThreadView = ReturnType<typeof threadView>;

/**
 * A post as `audience` may see it: a hidden post keeps its place (and its replies) but learners get no body or
 * attachments; a deleted post has neither for anyone.
 */
export function postView(r: PostWithAuthor, audience: "learner" | "moderator", myReactions?: string[]) {
  const p = r.post;
  const redacted = p.status === "deleted" || (p.status === "hidden" && audience === "learner");
  return {
    id: p.id,
    thread_id: p.threadId,
    seq: p.seq,
    changed_seq: p.changedSeq,
    parent_id: p.parentId,
    author: { id: p.authorId, name: r.authorName, kind: r.authorKind },
    body: redacted ? null : p.body,
    status: p.status,
    pinned: p.pinned,
    reply_count: p.replyCount,
    mentioned_user_ids: redacted ? [] : p.mentionedUserIds,
    attachment_media_ids: redacted ? [] : p.attachmentMediaIds,
    reactions: p.reactionCounts,
    ...(myReactions ? { my_reactions: myReactions } : {}),
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    edited_at: p.editedAt,
    hidden_at: audience === "moderator" ? p.hiddenAt : null,
  };
}

export type PostView = ReturnType<typeof postView>;

// ---- keyset cursors ------------------------------------------------------------------------------------------------

function encodeCursor(parts: (string | number)[]): string {
  return btoa(JSON.stringify(parts)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

function decodeCursor(cursor: string): unknown[] {
  try {
    const value = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
    if (Array.isArray(value)) return value;
  } catch {
    // below
  }
  throw ApiError.validation([{ path: "cursor", message: "Use the `meta.next_cursor` of the previous page." }]);
}

// ---- threads -------------------------------------------------------------------------------------------------------

const threadKey = (ctx: TenantContext, id: number) =>
  and(eq(discussionThreads.tenantId, ctx.tenantId), eq(discussionThreads.id, id));

export async function findThread(ctx: TenantContext, id: number): Promise<ThreadRow> {
  const [row] = await ctx.db.select().from(discussionThreads).where(threadKey(ctx, id)).limit(1);
  if (!row) throw ApiError.notFound(`Discussion thread ${id}`);
  return row;
}

export interface ThreadListQuery {
  cursor?: string;
  per_page: number;
  course_id?: number;
  placement_id?: number;
  kind?: ThreadRow["kind"];
}

/** Pinned threads first, then by latest activity (newest first); keyset over (pinned, activity_at, id). */
export async function listThreads(ctx: TenantContext, query: ThreadListQuery) {
  let after: SQL | undefined;
  if (query.cursor) {
    const [pinned, activityAt, id] = decodeCursor(query.cursor);
    if (typeof pinned !== "number" || typeof activityAt !== "string" || typeof id !== "number") {
      throw ApiError.validation([{ path: "cursor", message: "Use the `meta.next_cursor` of the previous page." }]);
    }
    after = sql`(${discussionThreads.pinned}, ${discussionThreads.activityAt}, ${discussionThreads.id}) < (${pinned}, ${activityAt}, ${id})`;
  }
  const rows = await ctx.db
    .select()
    .from(discussionThreads)
    .where(
      and(
        eq(discussionThreads.tenantId, ctx.tenantId),
        query.course_id !== undefined ? eq(discussionThreads.courseId, query.course_id) : undefined,
        query.placement_id !== undefined ? eq(discussionThreads.placementId, query.placement_id) : undefined,
        query.kind ? eq(discussionThreads.kind, query.kind) : undefined,
        after,
      ),
    )
    .orderBy(desc(discussionThreads.pinned), desc(discussionThreads.activityAt), desc(discussionThreads.id))
    .limit(query.per_page + 1);
  const page = rows.slice(0, query.per_page);
  const last = page[page.length - 1];
  return {
    data: page.map(threadView),
    meta: {
      per_page: query.per_page,
      next_cursor:
        rows.length > query.per_page && last ? encodeCursor([last.pinned ? 1 : 0, last.activityAt, last.id]) : null,
    },
  };
}

export interface ThreadInput {
  course_id: number;
  placement_id?: number | null;
  title?: string;
  body?: string;
  locked?: boolean;
  pinned?: boolean;
}

/**
 * A course thread, or the thread of a discussion module's placement (title and body default to the module's
 * name and prompt; one thread per placement: a second is a 409 naming the first).
 */
export async function createThread(ctx: TenantContext, input: ThreadInput, createdBy: number | null) {
  const [courseRows, placementRows] = await ctx.db.batch([
    ctx.db
      .select({ id: courses.id })
      .from(courses)
      .where(and(eq(courses.tenantId, ctx.tenantId), eq(courses.id, input.course_id), isNull(courses.deletedAt)))
      .limit(1),
    ctx.db
      // No two selected columns may share a name: D1 batches return rows keyed by column name.
      .select({
        id: coursePlacements.id,
        moduleId: coursePlacements.moduleId,
        type: contentModules.type,
        name: contentModules.name,
        settings: contentModules.settings,
      })
      .from(coursePlacements)
      .innerJoin(contentModules, eq(contentModules.id, coursePlacements.moduleId))
      .where(
        and(
          eq(coursePlacements.tenantId, ctx.tenantId),
          eq(coursePlacements.courseId, input.course_id),
          eq(coursePlacements.id, input.placement_id ?? 0),
        ),
      )
      .limit(1),
  ]);
  if (!courseRows[0]) throw ApiError.validation([{ path: "course_id", message: `No course ${input.course_id}.` }]);
  const placement = placementRows[0];
  if (input.placement_id != null) {
    if (!placement) {
      throw ApiError.validation([
        { path: "placement_id", message: `No placement ${input.placement_id} in course ${input.course_id}.` },
      ]);
    }
    if (placement.type !== "discussion") {
      throw ApiError.validation([
        {
          path: "placement_id",
          message: `Placement ${placement.id} holds a ${placement.type} module, not a discussion.`,
        },
      ]);
    }
  }
  const title = input.title ?? (placement ? placement.name : undefined);
  if (!title) throw ApiError.validation([{ path: "title", message: "Required for a course thread." }]);
  const prompt = placement ? String((placement.settings as { prompt?: string }).prompt ?? "") : "";
  const now = nowIso();
  const [inserted] = await ctx.db
    .insert(discussionThreads)
    .values({
      tenantId: ctx.tenantId,
      courseId: input.course_id,
      placementId: placement && input.placement_id != null ? placement.id : null,
      moduleId: placement && input.placement_id != null ? placement.moduleId : null,
      kind: input.placement_id != null ? "module" : "course",
      title,
      body: input.body ?? prompt,
      createdBy,
      locked: input.locked ?? false,
      pinned: input.pinned ?? false,
      activityAt: now,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing()
    .returning();
  if (!inserted) {
    const [existing] = await ctx.db
      .select({ id: discussionThreads.id })
      .from(discussionThreads)
      .where(
        and(eq(discussionThreads.tenantId, ctx.tenantId), eq(discussionThreads.placementId, input.placement_id ?? 0)),
      )
      .limit(1);
    throw ApiError.conflict(`Placement ${input.placement_id} already has its discussion thread.`, {
      thread_id: existing?.id ?? null,
    });
  }
  await ctx.db.batch([
    outboxInsert(ctx.db, ctx.tenantId, "discussion_thread.created", {
      id: inserted.id,
      course_id: inserted.courseId,
      placement_id: inserted.placementId,
      module_id: inserted.moduleId,
      kind: inserted.kind,
    }),
  ]);
  return inserted;
}

/**
 * The thread of a discussion placement the learner may open (access as on launch), created on first use with
 * the module's name and prompt. Idempotent: every learner of the placement gets the same thread.
 */
export async function placementThread(ctx: TenantContext<LearnerPrincipal>, courseId: number, placementId: number) {
  const { placement } = await assertPlacementOpen(ctx, courseId, placementId);
  if (placement.module.type !== "discussion") {
    throw ApiError.conflict(`Placement ${placementId} holds a ${placement.module.type} module, not a discussion.`, {
      module_type: placement.module.type,
    });
  }
  const now = nowIso();
  const [rows] = await ctx.db.batch([
    ctx.db
      .insert(discussionThreads)
      .values({
        tenantId: ctx.tenantId,
        courseId,
        placementId,
        moduleId: placement.module_id,
        kind: "module",
        title: placement.module.name,
        body: String((placement.module.settings as { prompt?: string }).prompt ?? ""),
        activityAt: now,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing()
      .returning(),
  ]);
  const created = rows[0];
  if (created) {
    await ctx.db.batch([
      outboxInsert(ctx.db, ctx.tenantId, "discussion_thread.created", {
        id: created.id,
        course_id: courseId,
        placement_id: placementId,
        module_id: placement.module_id,
        kind: "module",
      }),
    ]);
    return created;
  }
  const [existing] = await ctx.db
    .select()
    .from(discussionThreads)
    .where(and(eq(discussionThreads.tenantId, ctx.tenantId), eq(discussionThreads.placementId, placementId)))
    .limit(1);
  return existing as ThreadRow;
}

/**
 * A thread the learner may use now: its course's active enrollment, and for a module thread every access rule
 * of the placement (as launch checks them). Another academy's thread, or one the learner cannot see, is a 404
 * or the 403 that names the rule.
 */
export async function learnerThread(ctx: TenantContext<LearnerPrincipal>, id: number): Promise<ThreadRow> {
  const thread = await findThread(ctx, id);
  if (thread.placementId !== null) await assertPlacementOpen(ctx, thread.courseId, thread.placementId);
  else await assertCourseOpen(ctx, thread.courseId);
  return thread;
}

/** Thread settings (room-side: the room broadcasts the new state). */
export async function updateThread(ctx: TenantContext, id: number, patch: ThreadPatch): Promise<ThreadRow> {
  const thread = await findThread(ctx, id);
  const changed = (Object.keys(patch) as (keyof ThreadPatch)[]).filter(
    (k) => patch[k] !== undefined && patch[k] !== thread[k],
  );
  if (changed.length === 0) return thread;
  const now = nowIso();
  const [rows] = await ctx.db.batch([
    ctx.db
      .update(discussionThreads)
      .set({ ...patch, updatedAt: now })
      .where(threadKey(ctx, id))
      .returning(),
    outboxInsert(ctx.db, ctx.tenantId, "discussion_thread.updated", {
      id,
      course_id: thread.courseId,
      changed,
      locked: patch.locked ?? thread.locked,
      pinned: patch.pinned ?? thread.pinned,
    }),
  ]);
  return rows[0] as ThreadRow;
}

export async function deleteThread(ctx: TenantContext, id: number) {
  const thread = await findThread(ctx, id);
  await ctx.db.batch([
    ctx.db.delete(discussionThreads).where(threadKey(ctx, id)),
    outboxInsert(ctx.db, ctx.tenantId, "discussion_thread.deleted", {
      id,
      course_id: thread.courseId,
      placement_id: thread.placementId,
    }),
  ]);
}

// ---- reading posts -------------------------------------------------------------------------------------------------

/**
 * Posts with their author's name and kind, read by primary key per row (a join lets SQLite choose to scan the
 * users table of every academy when its statistics say it is small).
 */
const postColumns = {
  post: discussionPosts,
  authorName: sql<string>`coalesce((SELECT name FROM users WHERE users.id = ${discussionPosts.authorId}), '')`,
  authorKind: sql<
    "staff" | "learner"
  >`coalesce((SELECT kind FROM users WHERE users.id = ${discussionPosts.authorId}), 'learner')`,
};

function postsWithAuthors(ctx: TenantContext) {
  return ctx.db.select(postColumns).from(discussionPosts);
}

export interface PostListQuery {
  cursor?: string;
  per_page: number;
  /** replies of this post; omitted: top-level posts */
  parent_id?: number;
  /** every post of the thread, replies included, in `seq` order (what a live client shows) */
  flat?: boolean;
  pinned?: boolean;
}

/** Posts in `seq` order (oldest first); keyset: `cursor` is the last `seq` of the previous page. */
export async function listPosts(
  ctx: TenantContext,
  thread: ThreadRow,
  query: PostListQuery,
  viewer: { userId: number | null; audience: "learner" | "moderator" },
) {
  let after: number | undefined;
  if (query.cursor) {
    after = Number(query.cursor);
    if (!/^\d{1,15}$/.test(query.cursor)) {
      throw ApiError.validation([{ path: "cursor", message: "Use the `meta.next_cursor` of the previous page." }]);
    }
  }
  if (query.parent_id !== undefined) await findPost(ctx, thread.id, query.parent_id);
  const rows = await postsWithAuthors(ctx)
    .where(
      and(
        eq(discussionPosts.tenantId, ctx.tenantId),
        eq(discussionPosts.threadId, thread.id),
        query.flat
          ? undefined
          : query.parent_id !== undefined
            ? eq(discussionPosts.parentId, query.parent_id)
            : isNull(discussionPosts.parentId),
        query.pinned !== undefined ? eq(discussionPosts.pinned, query.pinned) : undefined,
        after !== undefined ? sql`${discussionPosts.seq} > ${after}` : undefined,
      ),
    )
    .orderBy(asc(discussionPosts.seq))
    .limit(query.per_page + 1);
  const page = rows.slice(0, query.per_page);
  const mine = new Map<number, string[]>();
  if (viewer.userId !== null && page.length > 0) {
    const reactions = await ctx.db
      .select({ postId: discussionReactions.postId, emoji: discussionReactions.emoji })
      .from(discussionReactions)
      .where(
        and(
          eq(discussionReactions.tenantId, ctx.tenantId),
          eq(discussionReactions.userId, viewer.userId),
          inList(
            discussionReactions.postId,
            page.map((r) => r.post.id),
          ),
        ),
      );
    for (const r of reactions) mine.set(r.postId, [...(mine.get(r.postId) ?? []), r.emoji]);
  }
  const last = page[page.length - 1];
  return {
    data: page.map((r) =>
      postView(r, viewer.audience, viewer.userId !== null ? (mine.get(r.post.id) ?? []) : undefined),
    ),
    meta: {
      per_page: query.per_page,
      last_seq: thread.lastSeq,
      next_cursor: rows.length > query.per_page && last ? String(last.post.seq) : null,
    },
  };
}

async function findPost(ctx: TenantContext, threadId: number, postId: number): Promise<PostWithAuthor> {
  const [row] = await postsWithAuthors(ctx)
    .where(
      and(
        eq(discussionPosts.tenantId, ctx.tenantId),
        eq(discussionPosts.threadId, threadId),
        eq(discussionPosts.id, postId),
      ),
    )
    .limit(1);
  if (!row) throw ApiError.notFound(`Post ${postId} of thread ${threadId}`);
  return row;
}

export async function getPost(ctx: TenantContext, threadId: number, postId: number) {
  return findPost(ctx, threadId, postId);
}

/** What a reconnecting client missed: posts whose latest change is after `since`, in change order. */
export async function changesSince(ctx: TenantContext, threadId: number, since: number, limit: number) {
  return postsWithAuthors(ctx)
    .where(
      and(
        eq(discussionPosts.tenantId, ctx.tenantId),
        eq(discussionPosts.threadId, threadId),
        sql`${discussionPosts.changedSeq} > ${since}`,
      ),
    )
    .orderBy(asc(discussionPosts.changedSeq))
    .limit(limit);
}

// ---- writing posts (run by the thread's room, one at a time) -------------------------------------------------------

const MENTION = /(?:^|[^\w@])@(\d{1,15})\b/g;

/** `@<user id>` tokens of a body, in order, without repeats (at most MAX_MENTIONS). */
export function mentionedIds(body: string): number[] {
  const ids = new Set<number>();
  for (const match of body.matchAll(MENTION)) {
    const id = Number(match[1]);
    if (Number.isSafeInteger(id) && id > 0) ids.add(id);
    if (ids.size >= MAX_MENTIONS) break;
  }
  return [...ids];
}

/** The academy's active users among `ids` (learners or staff): mentions of anyone else are dropped. */
function mentionRead(ctx: TenantContext, ids: number[]) {
  return (
    ctx.db
      .select({ id: users.id })
      .from(users)
      // At most MAX_MENTIONS bound ids: `IN (?, ...)` on the primary key is a search per id whatever the planner's
      // statistics (a json_each list lets it scan a small users table).
      .where(
        and(eq(users.tenantId, ctx.tenantId), inArray(users.id, ids.length ? ids : [0]), eq(users.status, "active")),
      )
  );
}

/**
 * Attachments are media ids of the academy: every id must be one of the academy's uploaded (`ready`) media, else
 * a 422 naming it. The media library is its own module, read here by SQL only; a database without its `media`
 * table (the module not deployed) stores the ids as given, their shape checked by the schema.
 */
async function checkAttachments(ctx: TenantContext, ids: number[] | undefined) {
  if (!ids || ids.length === 0) return;
  let found: Set<number>;
  try {
    const rows = await ctx.db.all<{ id: number }>(
      sql`SELECT id FROM media WHERE tenant_id = ${ctx.tenantId} AND status = 'ready' AND ${inList(sql`id`, ids)}`,
    );
    found = new Set(rows.map((r) => Number(r.id)));
  } catch (err) {
    const message = `${(err as Error)?.message ?? ""} ${(err as { cause?: Error })?.cause?.message ?? ""}`;
    if (/no such table: media/i.test(message)) return;
    throw err;
  }
  const errors: FieldError[] = ids
    .map((id, i) => (found.has(id) ? undefined : { path: `attachment_media_ids.${i}`, message: `No media ${id}.` }))
    .filter((e): e is FieldError => e !== undefined);
  if (errors.length) throw ApiError.validation(errors);
}

const lastSeqOf = (ctx: TenantContext, threadId: number) =>
  sql`(SELECT last_seq FROM discussion_threads WHERE tenant_id = ${ctx.tenantId} AND id = ${threadId})`;

function bumpSeq(ctx: TenantContext, threadId: number, now: string, posted: boolean) {
  return ctx.db
    .update(discussionThreads)
    .set({
      lastSeq: sql`${discussionThreads.lastSeq} + 1`,
      ...(posted ? { postCount: sql`${discussionThreads.postCount} + 1`, lastPostAt: now, activityAt: now } : {}),
    })
    .where(threadKey(ctx, threadId));
}

function lockedProblem(threadId: number) {
  return new ApiError(409, `Thread ${threadId} is locked: it takes no new posts, edits or reactions.`, {
    slug: "thread-locked",
    title: "Thread locked",
    extra: { thread_id: threadId },
  });
}

function postReadBack(ctx: TenantContext, threadId: number, where: SQL) {
  return postsWithAuthors(ctx)
    .where(and(eq(discussionPosts.tenantId, ctx.tenantId), eq(discussionPosts.threadId, threadId), where))
    .limit(1);
}

/** A new post or reply: numbered, stored, announced (`discussion_post.created`), counted for completion. */
export async function createPost(ctx: TenantContext, m: Member, input: PostInput): Promise<PostChange> {
  const t = ctx.tenantId;
  const mentions = mentionedIds(input.body);
  const [threadRows, parentRows, mentionRows, instructorRows] = await ctx.db.batch([
    ctx.db
      .select({
        thread: discussionThreads,
        // The module's settings by primary key (no join: see postColumns).
        settings: sql<string | null>`(SELECT settings FROM modules WHERE modules.id = ${discussionThreads.moduleId})`,
      })
      .from(discussionThreads)
      .where(threadKey(ctx, m.threadId))
      .limit(1),
    ctx.db
      .select({ id: discussionPosts.id, status: discussionPosts.status })
      .from(discussionPosts)
      .where(
        and(
          eq(discussionPosts.tenantId, t),
          eq(discussionPosts.threadId, m.threadId),
          eq(discussionPosts.id, input.parent_id ?? 0),
        ),
      )
      .limit(1),
    mentionRead(ctx, mentions),
    ctx.db
      .select({ userId: courseInstructors.userId })
      .from(courseInstructors)
      .where(
        and(
          eq(courseInstructors.tenantId, t),
          sql`${courseInstructors.courseId} = (SELECT course_id FROM discussion_threads WHERE tenant_id = ${t} AND id = ${m.threadId})`,
        ),
      )
      .orderBy(asc(courseInstructors.position)),
  ]);
  const found = threadRows[0];
  if (!found) throw ApiError.notFound(`Discussion thread ${m.threadId}`);
  const thread = found.thread;
  if (thread.locked && !m.moderator) throw lockedProblem(thread.id);
  const parentId = input.parent_id ?? null;
  if (parentId !== null) {
    const parent = parentRows[0];
    if (!parent) {
      throw ApiError.validation([{ path: "parent_id", message: `No post ${parentId} in thread ${thread.id}.` }]);
    }
    if (parent.status === "deleted") {
      throw ApiError.validation([{ path: "parent_id", message: `Post ${parentId} was deleted; reply elsewhere.` }]);
    }
  }
  await checkAttachments(ctx, input.attachment_media_ids);
  const valid = new Set(mentionRows.map((r) => r.id));
  const mentioned = mentions.filter((id) => valid.has(id) && id !== m.userId);
  const now = nowIso();
  const seq = lastSeqOf(ctx, thread.id);
  const newPost = sql`(SELECT id FROM discussion_posts WHERE tenant_id = ${t} AND thread_id = ${thread.id} AND seq = ${seq})`;
  const settings = (found.settings ? JSON.parse(found.settings) : {}) as {
    min_posts?: number;
    min_replies?: number;
    graded?: boolean;
  };
  const counted = thread.placementId !== null && m.kind === "learner";
  const statements: BatchItem<"sqlite">[] = [
    bumpSeq(ctx, thread.id, now, true),
    ctx.db.insert(discussionPosts).values({
      tenantId: t,
      threadId: thread.id,
      seq: sql`${seq}` as unknown as number,
      changedSeq: sql`${seq}` as unknown as number,
      parentId,
      authorId: m.userId,
      body: input.body,
      mentionedUserIds: mentioned,
      attachmentMediaIds: input.attachment_media_ids ?? [],
      reactionCounts: {},
      createdAt: now,
      updatedAt: now,
    }),
    outboxInsertFor(ctx.db, t, "discussion_post.created", newPost, {
      thread_id: thread.id,
      course_id: thread.courseId,
      placement_id: thread.placementId,
      module_id: thread.moduleId,
      author_id: m.userId,
      author_kind: m.kind,
      parent_id: parentId,
      mentioned_user_ids: mentioned,
      instructor_ids: instructorRows.map((r) => r.userId),
    }),
  ];
  if (parentId !== null) {
    statements.push(
      ctx.db
        .update(discussionPosts)
        .set({ replyCount: sql`${discussionPosts.replyCount} + 1` })
        .where(and(eq(discussionPosts.tenantId, t), eq(discussionPosts.id, parentId))),
    );
  }
  if (m.kind === "learner") {
    statements.push(
      activityInsert(ctx.db, t, {
        type: parentId === null ? "discussion.posted" : "discussion.replied",
        userId: m.userId,
        courseId: thread.courseId,
        placementId: thread.placementId,
        data: { thread_id: thread.id, parent_id: parentId },
      }),
    );
  }
  const results = await ctx.db.batch([
    ...statements,
    postReadBack(ctx, thread.id, sql`${discussionPosts.seq} = ${seq}`),
    // The author's posts and replies in this thread (deleted ones do not count) and their module progress.
    ctx.db
      .select({
        posts: sql<number>`coalesce(sum(CASE WHEN ${discussionPosts.parentId} IS NULL THEN 1 ELSE 0 END), 0)`,
        replies: sql<number>`coalesce(sum(CASE WHEN ${discussionPosts.parentId} IS NOT NULL THEN 1 ELSE 0 END), 0)`,
      })
      .from(discussionPosts)
      .where(
        and(
          eq(discussionPosts.tenantId, t),
          eq(discussionPosts.threadId, thread.id),
          eq(discussionPosts.authorId, m.userId),
          sql`${discussionPosts.status} != 'deleted'`,
        ),
      ),
    ctx.db
      .select({ status: moduleProgress.status, firstAccessedAt: moduleProgress.firstAccessedAt })
      .from(moduleProgress)
      .where(
        and(
          eq(moduleProgress.tenantId, t),
          eq(moduleProgress.courseId, thread.courseId),
          eq(moduleProgress.userId, m.userId),
          eq(moduleProgress.placementId, thread.placementId ?? 0),
        ),
      )
      .limit(1),
  ] as unknown as Batch);
  const row = (results[results.length - 3] as PostWithAuthor[])[0] as PostWithAuthor;
  const counts = (results[results.length - 2] as { posts: number; replies: number }[])[0];
  const progress = (results[results.length - 1] as { status: string; firstAccessedAt: string | null }[])[0];
  const change: PostChange = { kind: "post.created", seq: row.post.seq, row };
  const met =
    counted &&
    !settings.graded &&
    Number(counts?.posts ?? 0) >= (settings.min_posts ?? 1) &&
    Number(counts?.replies ?? 0) >= (settings.min_replies ?? 0);
  const done = progress?.status === "completed" || progress?.status === "passed";
  if (met && !done && thread.placementId !== null) {
    change.completion = {
      courseId: thread.courseId,
      placementId: thread.placementId,
      launched: Boolean(progress?.firstAccessedAt),
    };
  }
  return change;
}

/** A post of the thread that `m` may change: their own (moderators: any), not deleted. */
async function ownPost(ctx: TenantContext, m: Member, postId: number, allowModerator: boolean) {
  const [threadRows, postRows] = await ctx.db.batch([
    ctx.db.select().from(discussionThreads).where(threadKey(ctx, m.threadId)).limit(1),
    ctx.db
      .select()
      .from(discussionPosts)
      .where(
        and(
          eq(discussionPosts.tenantId, ctx.tenantId),
          eq(discussionPosts.threadId, m.threadId),
          eq(discussionPosts.id, postId),
        ),
      )
      .limit(1),
  ]);
  const thread = threadRows[0];
  if (!thread) throw ApiError.notFound(`Discussion thread ${m.threadId}`);
  const post = postRows[0];
  if (!post || (post.status === "hidden" && !m.moderator && post.authorId !== m.userId)) {
    throw ApiError.notFound(`Post ${postId} of thread ${m.threadId}`);
  }
  if (post.authorId !== m.userId && !(allowModerator && m.moderator)) {
    throw ApiError.forbidden(`Post ${postId} is not yours: only its author may change it.`);
  }
  return { thread, post };
}

async function writePostChange(
  ctx: TenantContext,
  m: Member,
  postId: number,
  statements: BatchItem<"sqlite">[],
  change: PostChange["change"],
): Promise<PostChange> {
  const results = await ctx.db.batch([
    bumpSeq(ctx, m.threadId, nowIso(), false),
    ...statements,
    postReadBack(ctx, m.threadId, eq(discussionPosts.id, postId)),
  ] as unknown as Batch);
  const row = (results[results.length - 1] as PostWithAuthor[])[0] as PostWithAuthor;
  return { kind: "post.updated", change, seq: row.post.changedSeq, row };
}

/** The author edits the body and/or attachments (mentions are read again). */
export async function editPost(ctx: TenantContext, m: Member, postId: number, input: EditInput): Promise<PostChange> {
  const { thread, post } = await ownPost(ctx, m, postId, false);
  if (thread.locked && !m.moderator) throw lockedProblem(thread.id);
  if (post.status === "deleted") throw ApiError.conflict(`Post ${postId} was deleted; it cannot be edited.`);
  if (post.status === "hidden")
    throw ApiError.conflict(`Post ${postId} was hidden by a moderator; it cannot be edited.`);
  await checkAttachments(ctx, input.attachment_media_ids);
  const body = input.body ?? post.body;
  const mentions = mentionedIds(body);
  const valid = new Set((await mentionRead(ctx, mentions)).map((r) => r.id));
  const mentioned = mentions.filter((id) => valid.has(id) && id !== m.userId);
  const now = nowIso();
  return writePostChange(
    ctx,
    m,
    postId,
    [
      ctx.db
        .update(discussionPosts)
        .set({
          body,
          mentionedUserIds: mentioned,
          ...(input.attachment_media_ids ? { attachmentMediaIds: input.attachment_media_ids } : {}),
          changedSeq: sql`${lastSeqOf(ctx, m.threadId)}`,
          editedAt: now,
          updatedAt: now,
        })
        .where(and(eq(discussionPosts.tenantId, ctx.tenantId), eq(discussionPosts.id, postId))),
      outboxInsert(ctx.db, ctx.tenantId, "discussion_post.updated", {
        id: postId,
        thread_id: m.threadId,
        course_id: thread.courseId,
        author_id: post.authorId,
        mentioned_user_ids: mentioned,
      }),
    ],
    "edited",
  );
}

/**
 * The author deletes their post (moderators any post): the body, mentions and attachments go, the post keeps
 * its place so replies stay. Deleting a deleted post changes nothing (null).
 */
export async function deletePost(ctx: TenantContext, m: Member, postId: number): Promise<PostChange | null> {
  const { thread, post } = await ownPost(ctx, m, postId, true);
  if (post.status === "deleted") return null;
  const now = nowIso();
  return writePostChange(
    ctx,
    m,
    postId,
    [
      ctx.db
        .update(discussionPosts)
        .set({
          status: "deleted",
          body: "",
          mentionedUserIds: [],
          attachmentMediaIds: [],
          pinned: false,
          changedSeq: sql`${lastSeqOf(ctx, m.threadId)}`,
          deletedAt: now,
          updatedAt: now,
        })
        .where(and(eq(discussionPosts.tenantId, ctx.tenantId), eq(discussionPosts.id, postId))),
      outboxInsert(ctx.db, ctx.tenantId, "discussion_post.deleted", {
        id: postId,
        thread_id: m.threadId,
        course_id: thread.courseId,
        author_id: post.authorId,
        deleted_by: m.userId,
      }),
    ],
    "deleted",
  );
}

/** Moderation of one post: hide or show it again, pin or unpin it. Nothing to change: null. */
export async function moderatePost(
  ctx: TenantContext,
  m: Member,
  postId: number,
  input: ModerationInput,
): Promise<PostChange | null> {
  if (!m.moderator) throw ApiError.forbidden("Moderating posts needs the `discussions:moderate` permission.");
  const { thread, post } = await ownPost(ctx, m, postId, true);
  if (post.status === "deleted") throw ApiError.conflict(`Post ${postId} was deleted; there is nothing to moderate.`);
  const hidden = input.hidden ?? post.status === "hidden";
  const pinned = input.pinned ?? post.pinned;
  const hiddenChanged = hidden !== (post.status === "hidden");
  if (!hiddenChanged && pinned === post.pinned) return null;
  const now = nowIso();
  const change = hiddenChanged ? (hidden ? "hidden" : "unhidden") : pinned ? "pinned" : "unpinned";
  return writePostChange(
    ctx,
    m,
    postId,
    [
      ctx.db
        .update(discussionPosts)
        .set({
          status: hidden ? "hidden" : "visible",
          pinned,
          hiddenAt: hidden ? (post.hiddenAt ?? now) : null,
          hiddenBy: hidden ? (post.hiddenBy ?? m.userId) : null,
          changedSeq: sql`${lastSeqOf(ctx, m.threadId)}`,
          updatedAt: now,
        })
        .where(and(eq(discussionPosts.tenantId, ctx.tenantId), eq(discussionPosts.id, postId))),
      outboxInsert(ctx.db, ctx.tenantId, "discussion_post.moderated", {
        id: postId,
        thread_id: m.threadId,
        course_id: thread.courseId,
        author_id: post.authorId,
        hidden,
        pinned,
        moderator_id: m.userId,
      }),
    ],
    change,
  );
}

/**
 * Adds (`on`) or removes one reaction of `m` to a post. Idempotent: a reaction already there (or already gone)
 * changes nothing and answers null.
 */
export async function react(
  ctx: TenantContext,
  m: Member,
  postId: number,
  emoji: string,
  on: boolean,
): Promise<PostChange | null> {
  const [threadRows, postRows, mineRows] = await ctx.db.batch([
    ctx.db.select().from(discussionThreads).where(threadKey(ctx, m.threadId)).limit(1),
    ctx.db
      .select()
      .from(discussionPosts)
      .where(
        and(
          eq(discussionPosts.tenantId, ctx.tenantId),
          eq(discussionPosts.threadId, m.threadId),
          eq(discussionPosts.id, postId),
        ),
      )
      .limit(1),
    ctx.db
      .select({ emoji: discussionReactions.emoji })
      .from(discussionReactions)
      .where(
        and(
          eq(discussionReactions.tenantId, ctx.tenantId),
          eq(discussionReactions.postId, postId),
          eq(discussionReactions.userId, m.userId),
          eq(discussionReactions.emoji, emoji),
        ),
      ),
  ]);
  const thread = threadRows[0];
  if (!thread) throw ApiError.notFound(`Discussion thread ${m.threadId}`);
  const post = postRows[0];
  if (!post || (post.status === "hidden" && !m.moderator))
    throw ApiError.notFound(`Post ${postId} of thread ${m.threadId}`);
  if (post.status === "deleted") throw ApiError.conflict(`Post ${postId} was deleted; it takes no reactions.`);
  if (thread.locked && !m.moderator) throw lockedProblem(thread.id);
  const exists = mineRows.length > 0;
  if (exists === on) return null;
  if (on && Object.keys(post.reactionCounts).length >= 20 && !(emoji in post.reactionCounts)) {
    throw ApiError.validation([{ path: "emoji", message: "A post takes at most 20 different reactions." }]);
  }
  const key = and(
    eq(discussionReactions.tenantId, ctx.tenantId),
    eq(discussionReactions.postId, postId),
    eq(discussionReactions.userId, m.userId),
    eq(discussionReactions.emoji, emoji),
  );
  return writePostChange(
    ctx,
    m,
    postId,
    [
      on
        ? ctx.db
            .insert(discussionReactions)
            .values({ tenantId: ctx.tenantId, postId, userId: m.userId, emoji, createdAt: nowIso() })
            .onConflictDoNothing()
        : ctx.db.delete(discussionReactions).where(key),
      ctx.db
        .update(discussionPosts)
        .set({
          reactionCounts:
            sql`(SELECT coalesce(json_group_object(emoji, n), '{}') FROM (SELECT emoji, count(*) AS n FROM discussion_reactions WHERE tenant_id = ${ctx.tenantId} AND post_id = ${postId} GROUP BY emoji ORDER BY emoji))` as unknown as Record<
              string,
              number
            >,
          changedSeq: sql`${lastSeqOf(ctx, m.threadId)}`,
        })
        .where(and(eq(discussionPosts.tenantId, ctx.tenantId), eq(discussionPosts.id, postId))),
    ],
    "reactions",
  );
}

// ---- grading a graded discussion module ----------------------------------------------------------------------

export interface GradeInput {
  learner_id: number;
  score: number;
  passed?: boolean;
}

/**
 * An instructor's grade for one learner in a graded discussion module's thread (posting alone never completes
 * such a module). The score is out of the module's `total_points` (100 when it has none); without `passed`, half
 * the points pass. Module status, score, course progress and completion move in one batch (`recordGradedResult`,
 * which emits `module.graded`); grading again replaces the grade, except that a passed module stays passed.
 */
export async function gradeDiscussion(ctx: TenantContext, threadId: number, input: GradeInput) {
  const thread = await findThread(ctx, threadId);
  if (thread.placementId === null || thread.moduleId === null) {
    throw ApiError.conflict("Only the thread of a graded discussion module takes grades; this is a course thread.");
  }
  const [[module], [enrollment]] = await ctx.db.batch([
    ctx.db
      .select({ settings: contentModules.settings })
      .from(contentModules)
      .where(and(eq(contentModules.tenantId, ctx.tenantId), eq(contentModules.id, thread.moduleId)))
      .limit(1),
    ctx.db
      .select({ id: enrollments.id })
      .from(enrollments)
      .where(
        and(
          eq(enrollments.tenantId, ctx.tenantId),
          eq(enrollments.courseId, thread.courseId),
          eq(enrollments.userId, input.learner_id),
        ),
      )
      .limit(1),
  ]);
  const settings = (module?.settings ?? {}) as { graded?: boolean; total_points?: number };
  if (!settings.graded) {
    throw ApiError.conflict(
      "This discussion module is not graded: it completes by its posting rules (`min_posts`, `min_replies`).",
    );
  }
  if (!enrollment) {
    throw ApiError.validation([
      { path: "learner_id", message: `Learner ${input.learner_id} is not enrolled in this thread's course.` },
    ]);
  }
  const maxScore = settings.total_points && settings.total_points > 0 ? settings.total_points : 100;
  if (input.score > maxScore) {
    throw ApiError.validation([{ path: "score", message: `At most the module's ${maxScore} points.` }]);
  }
  const passed = input.passed ?? input.score >= maxScore / 2;
  await recordGradedResult(ctx, {
    enrollmentId: enrollment.id,
    placementId: thread.placementId,
    score: input.score,
    maxScore,
    passed,
  });
  return {
    thread_id: thread.id,
    learner_id: input.learner_id,
    score: input.score,
    max_score: maxScore,
    passed,
  };
}
