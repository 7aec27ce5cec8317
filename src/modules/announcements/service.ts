import { and, count, desc, eq, gt, isNull, or, type SQL, sql } from "drizzle-orm";
import type { AdminPrincipal, LearnerPrincipal, TenantContext } from "../../platform/auth";
import { inList } from "../../platform/db";
import { ApiError } from "../../platform/errors";
import { outboxInsert, outboxInsertMany } from "../../platform/events";
import { contains, type ListParams, orderBy, paginate } from "../../platform/pagination";
import { outbox } from "../../platform/tables";
import { nowIso } from "../../platform/time";
import { courses } from "../courses/tables";
import { users } from "../users/tables";
import { type AnnouncementRow, announcements, type SendingRule } from "./tables";

export function toAnnouncement(row: AnnouncementRow) {
  return {
    id: row.id,
    heading: row.heading,
    content: row.content,
    sending_rules: row.sendingRules,
    user_ids: row.userIds,
    course_ids: row.courseIds,
    class_ids: row.classIds,
    portal_ids: row.portalIds,
    status: row.status,
    expires_at: row.expiresAt,
    expired: row.expiresAt !== null && row.expiresAt <= nowIso(),
    author_id: row.authorId,
    author: row.authorName,
    published_at: row.publishedAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

export function toLearnerAnnouncement(row: AnnouncementRow) {
  return {
    id: row.id,
    heading: row.heading,
    content: row.content,
    author: row.authorName,
    expires_at: row.expiresAt,
    published_at: row.publishedAt as string,
    created_at: row.createdAt,
  };
}

export interface AnnouncementInput {
  heading?: string;
  content?: string;
  sending_rules?: SendingRule;
  user_ids?: number[];
  course_ids?: number[];
  class_ids?: number[];
  portal_ids?: number[];
  expires_at?: string | null;
}

/** The id list each rule needs (the seed's `required_if`). */
const RULE_TARGET = {
  specific_users: "user_ids",
  specific_course_users: "course_ids",
  specific_class_users: "class_ids",
  specific_portals: "portal_ids",
} as const;

/** Checks the merged state: the rule's list is present and its learners/courses belong to this academy. */
async function validate(ctx: TenantContext, state: Required<AnnouncementInput>) {
  const errors: { path: string; message: string }[] = [];
  const field = state.sending_rules === "all" ? undefined : RULE_TARGET[state.sending_rules];
  if (field && state[field].length === 0) {
    errors.push({ path: field, message: `Required (at least one id) when sending_rules is ${state.sending_rules}.` });
  }
  if (state.expires_at !== null && state.expires_at <= nowIso()) {
    errors.push({ path: "expires_at", message: "Use a time in the future (or null for no expiry)." });
  }
  if (errors.length === 0 && state.sending_rules === "specific_users") {
    const found = await ctx.db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.tenantId, ctx.tenantId), eq(users.kind, "learner"), inList(users.id, state.user_ids)));
    const known = new Set(found.map((r) => r.id));
    state.user_ids.forEach((id, i) => {
      if (!known.has(id)) errors.push({ path: `user_ids.${i}`, message: `No learner ${id} in this academy.` });
    });
  }
  if (errors.length === 0 && state.sending_rules === "specific_course_users") {
    const found = await ctx.db
      .select({ id: courses.id })
      .from(courses)
      .where(and(eq(courses.tenantId, ctx.tenantId), inList(courses.id, state.course_ids)));
    const known = new Set(found.map((r) => r.id));
    state.course_ids.forEach((id, i) => {
      if (!known.has(id)) errors.push({ path: `course_ids.${i}`, message: `No course ${id} in this academy.` });
    });
  }
  if (errors.length > 0) throw ApiError.validation(errors);
}

function author(ctx: TenantContext<AdminPrincipal>) {
  const p = ctx.principal;
  return p.kind === "staff" || p.kind === "api_key" ? (p.userId ?? null) : null;
}

async function authorName(ctx: TenantContext<AdminPrincipal>, id: number | null) {
  if (id === null) return null;
  const [row] = await ctx.db
    .select({ name: users.name })
    .from(users)
    .where(and(eq(users.tenantId, ctx.tenantId), eq(users.id, id)))
    .limit(1);
  return row?.name ?? null;
}

const uniq = (ids: number[] | undefined) => [...new Set(ids ?? [])];

export async function createAnnouncement(
  ctx: TenantContext<AdminPrincipal>,
  body: AnnouncementInput & { heading: string; content: string; sending_rules: SendingRule; publish?: boolean },
) {
  const state = {
    heading: body.heading,
    content: body.content,
    sending_rules: body.sending_rules,
    user_ids: uniq(body.user_ids),
    course_ids: uniq(body.course_ids),
    class_ids: uniq(body.class_ids),
    portal_ids: uniq(body.portal_ids),
    expires_at: body.expires_at ?? null,
  };
  await validate(ctx, state);
  const authorId = author(ctx);
  const now = nowIso();
  const values = {
    tenantId: ctx.tenantId,
    heading: state.heading,
    content: state.content,
    sendingRules: state.sending_rules,
    userIds: state.user_ids,
    courseIds: state.course_ids,
    classIds: state.class_ids,
    portalIds: state.portal_ids,
    expiresAt: state.expires_at,
    authorId,
    authorName: await authorName(ctx, authorId),
    status: body.publish ? ("published" as const) : ("draft" as const),
    publishedAt: body.publish ? now : null,
    createdAt: now,
    updatedAt: now,
  };
  // One batch: the row, then its events, which read the new id back in SQL (the batch is one transaction, so
  // the academy's highest announcement id is this one).
  const newest = sql`(SELECT max(id) FROM announcements WHERE tenant_id = ${ctx.tenantId})`;
  const [inserted] = await ctx.db.batch([
    ctx.db.insert(announcements).values(values).returning(),
    eventOf(ctx, "announcement.created", newest, now),
    ...(body.publish ? [eventOf(ctx, "announcement.published", newest, now)] : []),
  ]);
  return toAnnouncement(inserted[0]);
}

/** The outbox row of an announcement event, its data read from the announcement row `idOf` in SQL. */
function eventOf(ctx: TenantContext, type: string, idOf: SQL, now: string, guard: SQL = sql`1`) {
  return ctx.db
    .insert(outbox)
    .select(
      sql`SELECT NULL, tenant_id, ${type}, json_object('id', id, 'heading', heading, 'sending_rules', sending_rules, 'expires_at', expires_at), ${now}, NULL, NULL FROM announcements WHERE tenant_id = ${ctx.tenantId} AND id = ${idOf} AND ${guard}`,
    );
}

export async function getAnnouncementRow(ctx: TenantContext, id: number) {
  const [row] = await ctx.db
    .select()
    .from(announcements)
    .where(and(eq(announcements.tenantId, ctx.tenantId), eq(announcements.id, id)))
    .limit(1);
  if (!row) throw ApiError.notFound(`Announcement ${id}`);
  return row;
}

/**
 * Changes any field. After publishing, a change of heading, content, expiry or targeting changes what learners
 * see in their announcement list from now on; notifications already delivered stay as they were.
 */
export async function updateAnnouncement(ctx: TenantContext<AdminPrincipal>, id: number, body: AnnouncementInput) {
  const row = await getAnnouncementRow(ctx, id);
  const state = {
    heading: body.heading ?? row.heading,
    content: body.content ?? row.content,
    sending_rules: body.sending_rules ?? row.sendingRules,
    user_ids: body.user_ids ? uniq(body.user_ids) : row.userIds,
    course_ids: body.course_ids ? uniq(body.course_ids) : row.courseIds,
    class_ids: body.class_ids ? uniq(body.class_ids) : row.classIds,
    portal_ids: body.portal_ids ? uniq(body.portal_ids) : row.portalIds,
    expires_at: body.expires_at === undefined ? row.expiresAt : body.expires_at,
  };
  // An unchanged past expiry of a published announcement is no reason to refuse other edits.
  const expiryUnchanged = body.expires_at === undefined;
  await validate(ctx, { ...state, expires_at: expiryUnchanged ? null : state.expires_at });
  const changed = Object.keys(body).filter((k) => (body as Record<string, unknown>)[k] !== undefined);
  const [updated] = await ctx.db.batch([
    ctx.db
      .update(announcements)
      .set({
        heading: state.heading,
        content: state.content,
        sendingRules: state.sending_rules,
        userIds: state.user_ids,
        courseIds: state.course_ids,
        classIds: state.class_ids,
        portalIds: state.portal_ids,
        expiresAt: state.expires_at,
        updatedAt: nowIso(),
      })
      .where(and(eq(announcements.tenantId, ctx.tenantId), eq(announcements.id, id)))
      .returning(),
    outboxInsert(ctx.db, ctx.tenantId, "announcement.updated", { id, changed }),
  ]);
  return toAnnouncement(updated[0]);
}

/** Draft -> published, once. Its event fans the announcement out to the targeted learners' inboxes. */
export async function publishAnnouncement(ctx: TenantContext<AdminPrincipal>, id: number) {
  const row = await getAnnouncementRow(ctx, id);
  if (row.status === "published") throw ApiError.conflict(`Announcement ${id} is published already.`);
  if (row.expiresAt !== null && row.expiresAt <= nowIso()) {
    throw ApiError.conflict(`Announcement ${id} expired at ${row.expiresAt}: change expires_at before publishing.`);
  }
  const now = nowIso();
  const guard = and(
    eq(announcements.tenantId, ctx.tenantId),
    eq(announcements.id, id),
    eq(announcements.status, "draft"),
  );
  // The event is written only when this request flips the status (two publishers at once make one event).
  const [updated] = await ctx.db.batch([
    ctx.db
      .update(announcements)
      .set({ status: "published", publishedAt: now, updatedAt: now })
      .where(guard)
      .returning(),
    eventOf(ctx, "announcement.published", sql`${id}`, now, sql`status = 'published' AND published_at = ${now}`),
  ]);
  if (!updated[0]) throw ApiError.conflict(`Announcement ${id} is published already.`);
  return toAnnouncement(updated[0]);
}

export async function deleteAnnouncements(ctx: TenantContext<AdminPrincipal>, ids: number[]) {
  const found = await ctx.db
    .select({ id: announcements.id, heading: announcements.heading })
    .from(announcements)
    .where(and(eq(announcements.tenantId, ctx.tenantId), inList(announcements.id, ids)));
  if (found.length === 0) return [];
  await ctx.db.batch([
    ctx.db.delete(announcements).where(
      and(
        eq(announcements.tenantId, ctx.tenantId),
        inList(
          announcements.id,
          found.map((r) => r.id),
        ),
      ),
    ),
    ...outboxInsertMany(ctx.db, ctx.tenantId, "announcement.deleted", found as unknown as Record<string, unknown>[]),
  ] as unknown as Parameters<typeof ctx.db.batch>[0]);
  return found.map((r) => r.id);
}

export async function deleteAnnouncement(ctx: TenantContext<AdminPrincipal>, id: number) {
  const deleted = await deleteAnnouncements(ctx, [id]);
  if (deleted.length === 0) throw ApiError.notFound(`Announcement ${id}`);
}

const SORTABLE = {
  created_at: announcements.createdAt,
  heading: announcements.heading,
  published_at: announcements.publishedAt,
  expires_at: announcements.expiresAt,
};

export interface AnnouncementListQuery extends ListParams {
  q?: string;
  status?: "draft" | "published";
  active?: boolean;
  sending_rules?: SendingRule;
}

export async function listAnnouncements(ctx: TenantContext<AdminPrincipal>, query: AnnouncementListQuery) {
  const now = nowIso();
  const where = and(
    eq(announcements.tenantId, ctx.tenantId),
    query.q ? contains(announcements.heading, query.q) : undefined,
    query.status ? eq(announcements.status, query.status) : undefined,
    query.sending_rules ? eq(announcements.sendingRules, query.sending_rules) : undefined,
    query.active === true
      ? and(
          eq(announcements.status, "published"),
          or(isNull(announcements.expiresAt), gt(announcements.expiresAt, now)),
        )
      : undefined,
  );
  return paginate(ctx.db, announcements, where, orderBy(query.sort, SORTABLE, announcements.id), query, toAnnouncement);
}

/**
 * The announcements a learner sees now: published, not expired, and targeted at them (everyone; them by id;
 * or a course they are actively enrolled in). Class and portal rules target nobody (Lectern has neither).
 */
/**
 * What a learner may see. The course rule walks the announcement's course ids and finds the learner's enrollment
 * in each by its unique key (CROSS JOIN fixes that order), never the tenant's enrollments.
 */
function visibleTo(ctx: TenantContext<LearnerPrincipal>, now: string): SQL {
  const me = ctx.principal.userId;
  return and(
    eq(announcements.tenantId, ctx.tenantId),
    eq(announcements.status, "published"),
    or(isNull(announcements.expiresAt), gt(announcements.expiresAt, now)),
    sql`(${announcements.sendingRules} = 'all'
      OR (${announcements.sendingRules} = 'specific_users' AND ${me} IN (SELECT value FROM json_each(${announcements.userIds})))
      OR (${announcements.sendingRules} = 'specific_course_users' AND EXISTS (SELECT 1 FROM json_each(${announcements.courseIds}) j CROSS JOIN enrollments e ON e.tenant_id = ${ctx.tenantId} AND e.course_id = CAST(j.value AS INTEGER) AND e.user_id = ${me} WHERE e.status = 'active' AND (e.expires_at IS NULL OR e.expires_at > ${now}))))`,
  ) as SQL;
}

export async function listLearnerAnnouncements(
  ctx: TenantContext<LearnerPrincipal>,
  query: { page: number; per_page: number; q?: string },
) {
  const now = nowIso();
  const where = and(visibleTo(ctx, now), query.q ? contains(announcements.heading, query.q) : undefined);
  const [rows, totals] = await ctx.db.batch([
    ctx.db
      .select()
      .from(announcements)
      .where(where)
      .orderBy(desc(announcements.publishedAt), desc(announcements.id))
      .limit(query.per_page)
      .offset((query.page - 1) * query.per_page),
    ctx.db.select({ total: count() }).from(announcements).where(where),
  ]);
  const total = totals[0]?.total ?? 0;
  return {
    data: rows.map(toLearnerAnnouncement),
    meta: {
      page: query.page,
      per_page: query.per_page,
      total,
      last_page: Math.max(1, Math.ceil(total / query.per_page)),
    },
  };
}

export async function getLearnerAnnouncement(ctx: TenantContext<LearnerPrincipal>, id: number) {
  const [row] = await ctx.db
    .select()
    .from(announcements)
    .where(and(visibleTo(ctx, nowIso()), eq(announcements.id, id)))
    .limit(1);
  if (!row) throw ApiError.notFound(`Announcement ${id}`);
  return toLearnerAnnouncement(row);
}
