import { and, count, desc, eq, isNull, lt, type SQL } from "drizzle-orm";
import type { AdminPrincipal, LearnerPrincipal, TenantContext } from "../../platform/auth";
import { ApiError } from "../../platform/errors";
import { nowIso } from "../../platform/time";
import {
  type EmailRow,
  type EmailStatus,
  emails,
  NOTIFICATION_CATEGORIES,
  type NotificationCategory,
  type NotificationRow,
  notificationPreferences,
  notifications,
} from "./tables";

export function toNotification(row: NotificationRow) {
  return {
    id: row.id,
    type: row.type,
    category: row.category,
    title: row.title,
    body: row.body,
    data: row.data,
    read: row.readAt !== null,
    read_at: row.readAt,
    created_at: row.createdAt,
  };
}

/** Keyset pagination, newest first: `cursor` is the last id of the previous page. */
export async function listNotifications(
  ctx: TenantContext<LearnerPrincipal>,
  query: { cursor?: string; per_page: number; unread?: boolean; category?: NotificationCategory },
) {
  const rows = await ctx.db
    .select()
    .from(notifications)
    .where(
      and(
        eq(notifications.tenantId, ctx.tenantId),
        eq(notifications.userId, ctx.principal.userId),
        query.unread ? isNull(notifications.readAt) : undefined,
        query.category ? eq(notifications.category, query.category) : undefined,
        query.cursor ? lt(notifications.id, Number(query.cursor)) : undefined,
      ),
    )
    .orderBy(desc(notifications.id))
    .limit(query.per_page + 1);
  const page = rows.slice(0, query.per_page);
  return {
    data: page.map(toNotification),
    meta: {
      per_page: query.per_page,
      next_cursor: rows.length > query.per_page ? String(page[page.length - 1].id) : null,
    },
  };
}

const mine = (ctx: TenantContext<LearnerPrincipal>) =>
  and(eq(notifications.tenantId, ctx.tenantId), eq(notifications.userId, ctx.principal.userId));

export async function unreadCount(ctx: TenantContext<LearnerPrincipal>) {
  const [row] = await ctx.db
    .select({ n: count() })
    .from(notifications)
    .where(and(mine(ctx), isNull(notifications.readAt)));
  return { unread: row?.n ?? 0 };
}

/** Marks one notification read (again: no change). Another learner's id is a 404. */
export async function markRead(ctx: TenantContext<LearnerPrincipal>, id: number) {
  const now = nowIso();
  const [, rows] = await ctx.db.batch([
    ctx.db
      .update(notifications)
      .set({ readAt: now })
      .where(and(mine(ctx), eq(notifications.id, id), isNull(notifications.readAt))),
    ctx.db
      .select()
      .from(notifications)
      .where(and(mine(ctx), eq(notifications.id, id)))
      .limit(1),
  ]);
  if (!rows[0]) throw ApiError.notFound(`Notification ${id}`);
  return toNotification(rows[0]);
}

/** Marks every unread notification read (optionally only those up to `before_id`); answers how many. */
export async function markAllRead(ctx: TenantContext<LearnerPrincipal>, upToId?: number) {
  const updated = await ctx.db
    .update(notifications)
    .set({ readAt: nowIso() })
    .where(
      and(mine(ctx), isNull(notifications.readAt), upToId === undefined ? undefined : lt(notifications.id, upToId + 1)),
    )
    .returning({ id: notifications.id });
  return { updated: updated.length };
}

export type EmailPreferences = Record<NotificationCategory, boolean>;

function fullPreferences(stored: Partial<Record<NotificationCategory, boolean>> | undefined): EmailPreferences {
  return Object.fromEntries(NOTIFICATION_CATEGORIES.map((c) => [c, stored?.[c] !== false])) as EmailPreferences;
}

export async function getPreferences(ctx: TenantContext<LearnerPrincipal>) {
  const [row] = await ctx.db
    .select()
    .from(notificationPreferences)
    .where(
      and(eq(notificationPreferences.tenantId, ctx.tenantId), eq(notificationPreferences.userId, ctx.principal.userId)),
    )
    .limit(1);
  return { email: fullPreferences(row?.email), updated_at: row?.updatedAt ?? null };
}

export async function updatePreferences(
  ctx: TenantContext<LearnerPrincipal>,
  body: { email: Partial<Record<NotificationCategory, boolean>> },
) {
  const current = await getPreferences(ctx);
  const email = { ...current.email, ...body.email };
  const now = nowIso();
  await ctx.db
    .insert(notificationPreferences)
    .values({ tenantId: ctx.tenantId, userId: ctx.principal.userId, email, updatedAt: now })
    .onConflictDoUpdate({
      target: [notificationPreferences.tenantId, notificationPreferences.userId],
      set: { email, updatedAt: now },
    });
  return { email, updated_at: now };
}

// ---- admin: the email outbox ------------------------------------------------------------------------------------

export function toEmail(row: EmailRow) {
  return {
    id: row.id,
    to: row.toAddress,
    user_id: row.userId,
    notification_id: row.notificationId,
    subject: row.subject,
    text: row.textBody,
    html: row.htmlBody,
    status: row.status,
    attempts: row.attempts,
    last_error: row.lastError,
    next_attempt_at: row.status === "pending" ? row.nextAttemptAt : null,
    provider_message_id: row.providerMessageId,
    sent_at: row.sentAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

export async function listEmails(
  ctx: TenantContext<AdminPrincipal>,
  query: { cursor?: string; per_page: number; status?: EmailStatus; user_id?: number },
) {
  const conditions: (SQL | undefined)[] = [
    eq(emails.tenantId, ctx.tenantId),
    query.status ? eq(emails.status, query.status) : undefined,
    query.user_id ? eq(emails.userId, query.user_id) : undefined,
    query.cursor ? lt(emails.id, Number(query.cursor)) : undefined,
  ];
  const rows = await ctx.db
    .select()
    .from(emails)
    .where(and(...conditions))
    .orderBy(desc(emails.id))
    .limit(query.per_page + 1);
  const page = rows.slice(0, query.per_page);
  return {
    data: page.map(toEmail),
    meta: {
      per_page: query.per_page,
      next_cursor: rows.length > query.per_page ? String(page[page.length - 1].id) : null,
    },
  };
}

export async function getEmail(ctx: TenantContext<AdminPrincipal>, id: number) {
  const [row] = await ctx.db
    .select()
    .from(emails)
    .where(and(eq(emails.tenantId, ctx.tenantId), eq(emails.id, id)))
    .limit(1);
  if (!row) throw ApiError.notFound(`Email ${id}`);
  return row;
}

/** A failed email goes back to the outbox with a fresh set of attempts; the next sweep sends it. */
export async function retryEmail(ctx: TenantContext<AdminPrincipal>, id: number) {
  const row = await getEmail(ctx, id);
  if (row.status !== "failed") {
    throw new ApiError(409, `Email ${id} is ${row.status}: only a failed email can be retried.`);
  }
  const now = nowIso();
  const [updated] = await ctx.db
    .update(emails)
    .set({ status: "pending", attempts: 0, nextAttemptAt: now, updatedAt: now })
    .where(and(eq(emails.tenantId, ctx.tenantId), eq(emails.id, id), eq(emails.status, "failed")))
    .returning();
  if (!updated) throw new ApiError(409, `Email ${id} changed meanwhile; read it again.`);
  return toEmail(updated);
}
