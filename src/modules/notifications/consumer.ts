/**
 * Notifications derived from outbox events, called by the EVENTS consumer (webhooks/consumers.ts fanOutEvents)
 * for every batch. Per event: one INSERT ... SELECT of the inbox rows of its recipients and one INSERT ... SELECT
 * of the emails those recipients want, in one D1 batch, whatever the audience size. Both are unique per
 * (event, user) (`dedupe_key`), so a redelivered event adds nothing.
 */
import { inArray, type SQL, sql } from "drizzle-orm";
import { batchableRaw } from "../../platform/db";
import type { Db, EventMessage } from "../../platform/env";
import { outbox } from "../../platform/tables";
import { nowIso } from "../../platform/time";
import { announcements } from "../announcements/tables";
import { courses } from "../courses/tables";
import { tenants } from "../tenants/tables";
import type { NotificationCategory } from "./tables";

/** The event types that notify someone (docs/notifications.md). */
export const NOTIFYING_EVENTS = [
  "announcement.published",
  "module.graded",
  "certificate.issued",
  "enrollment.created",
  "discussion_post.created",
] as const;

interface Event {
  id: number;
  tenantId: number;
  type: string;
  data: Record<string, unknown>;
}

/** One kind of message to a set of users. `recipients` is a SQL condition on `u` (users). */
interface Plan {
  type: string;
  category: NotificationCategory;
  title: string;
  body: string;
  html: string;
  data: Record<string, unknown>;
  recipients: SQL;
  /** Every learner of the academy: read them through the (tenant_id, kind) index, whatever the statistics say. */
  wholeAcademy?: boolean;
  /** Exactly these user ids (still only the academy's active users). */
  ids?: number[];
}

const ids = (value: unknown): number[] =>
  Array.isArray(value) ? value.filter((v): v is number => Number.isSafeInteger(v) && v > 0) : [];
const num = (value: unknown): number | null => (Number.isSafeInteger(value) ? (value as number) : null);

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Plain text of an HTML fragment (announcement content) for the text part of an email. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(br|\/p|\/div|\/li|\/h[1-6])\s*\/?>/gi, "\n")
    .replace(/<[^>]*>/g, "")
    .replace(/&nbsp;/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** Recipients by id: the statement walks the list and finds each user by primary key (see `statements`). */
const usersIn = (list: number[]) => ({ ids: list, recipients: sql`1 = 1` });

/** The learners an announcement targets, as a condition on `u`. Classes and portals do not exist: nobody. */
export function announcementAudience(rule: string, target: { courseIds: number[] }, now: string): SQL | null {
  switch (rule) {
    case "all":
      return sql`u.kind = 'learner'`;
    case "specific_users":
      // The ids themselves are the statement's driving list (`Plan.ids`).
      return sql`u.kind = 'learner'`;
    case "specific_course_users":
      return sql`u.kind = 'learner' AND u.id IN (SELECT e.user_id FROM enrollments e WHERE e.tenant_id = u.tenant_id AND e.course_id IN (SELECT value FROM json_each(${JSON.stringify(target.courseIds)})) AND e.status = 'active' AND (e.expires_at IS NULL OR e.expires_at > ${now}))`;
    default:
      return null;
  }
}

function plainPlan(p: Omit<Plan, "html">): Plan {
  return { ...p, html: `<p>${escapeHtml(p.body)}</p>` };
}

function plansOf(
  event: Event,
  courseName: (id: number | null) => string,
  announcement: Map<number, typeof announcements.$inferSelect>,
  now: string,
): Plan[] {
  const d = event.data;
  switch (event.type) {
    case "module.graded": {
      const user = num(d.user_id);
      // `submitted` is the learner's own hand-in awaiting a grade: nothing to tell them yet.
      if (!user || (d.status !== "passed" && d.status !== "failed")) return [];
      const course = courseName(num(d.course_id));
      return [
        plainPlan({
          type: event.type,
          category: "grading",
          title: `Your result in ${course}`,
          body: `A module of ${course} was graded: ${d.status}${typeof d.score === "number" ? ` (score ${d.score})` : ""}.`,
          data: {
            course_id: num(d.course_id),
            placement_id: num(d.placement_id),
            enrollment_id: num(d.enrollment_id),
            status: d.status,
            score: typeof d.score === "number" ? d.score : null,
          },
          ...usersIn([user]),
        }),
      ];
    }
    case "certificate.issued": {
      const user = num(d.learner_id);
      if (!user) return [];
      const title = typeof d.title === "string" ? d.title : "a certificate";
      return [
        plainPlan({
          type: event.type,
          category: "certificates",
          title: `Certificate issued: ${title}`,
          body: `You earned "${title}".${typeof d.code === "string" ? ` Verification code: ${d.code}.` : ""}`,
          data: {
            certificate_id: num(d.id),
            code: d.code ?? null,
            course_id: num(d.course_id),
            path_id: num(d.path_id),
          },
          ...usersIn([user]),
        }),
      ];
    }
    case "enrollment.created": {
      const user = num(d.user_id);
      if (!user) return [];
      const course = courseName(num(d.course_id));
      return [
        plainPlan({
          type: event.type,
          category: "enrollments",
          title: `Enrolled in ${course}`,
          body: `You now have access to ${course}.`,
          data: { enrollment_id: num(d.id), course_id: num(d.course_id) },
          ...usersIn([user]),
        }),
      ];
    }
    case "announcement.published": {
      const row = announcement.get(num(d.id) ?? 0);
      if (row?.status !== "published") return [];
      const audience = announcementAudience(row.sendingRules, row, now);
      if (!audience) return [];
      return [
        {
          type: event.type,
          category: "announcements",
          title: row.heading,
          body: row.content,
          html: row.content,
          data: { announcement_id: row.id, expires_at: row.expiresAt },
          recipients: audience,
          wholeAcademy: row.sendingRules === "all",
          ...(row.sendingRules === "specific_users" ? { ids: row.userIds } : {}),
        },
      ];
    }
    case "discussion_post.created": {
      const author = num(d.author_id);
      const mentioned = ids(d.mentioned_user_ids).filter((u) => u !== author);
      const instructors = ids(d.instructor_ids).filter((u) => u !== author && !mentioned.includes(u));
      const course = courseName(num(d.course_id));
      const data = {
        post_id: num(d.id),
        thread_id: num(d.thread_id),
        course_id: num(d.course_id),
        module_id: num(d.module_id),
        parent_id: num(d.parent_id),
      };
      const plans: Plan[] = [];
      if (mentioned.length > 0) {
        plans.push(
          plainPlan({
            type: event.type,
            category: "discussions",
            title: `You were mentioned in a discussion of ${course}`,
            body: `Someone mentioned you in a ${d.parent_id ? "reply" : "post"} in a discussion of ${course}.`,
            data: { ...data, reason: "mention" },
            ...usersIn(mentioned),
          }),
        );
      }
      if (instructors.length > 0) {
        plans.push(
          plainPlan({
            type: event.type,
            category: "discussions",
            title: `New ${d.parent_id ? "reply" : "post"} in a discussion of ${course}`,
            body: `A ${d.parent_id ? "reply" : "post"} was written in a discussion of ${course}, which you teach.`,
            data: { ...data, reason: "instructor" },
            ...usersIn(instructors),
          }),
        );
      }
      return plans;
    }
    default:
      return [];
  }
}

/**
 * The statements that write one plan's notifications and emails. The email insert walks the event's notifications
 * (their (tenant_id, dedupe_key) index) and reads each user and preference row by key.
 */
function statements(db: Db, event: Event, plan: Plan, emailEnabled: boolean, now: string) {
  const key = `event:${event.id}`;
  const out = [
    batchableRaw(
      db,
      sql`INSERT INTO notifications (tenant_id, user_id, type, category, title, body, data, event_id, dedupe_key, created_at)
        SELECT u.tenant_id, u.id, ${plan.type}, ${plan.category}, ${plan.title}, ${plan.body}, ${JSON.stringify(plan.data)}, ${event.id}, ${key}, ${now}
        FROM ${
          plan.ids
            ? sql`json_each(${JSON.stringify(plan.ids)}) j CROSS JOIN users u ON u.id = CAST(j.value AS INTEGER)`
            : plan.wholeAcademy
              ? sql.raw("users u INDEXED BY users_tenant_kind_created_idx")
              : sql.raw("users u")
        } WHERE u.tenant_id = ${event.tenantId} AND u.status = 'active' AND ${plan.recipients}
        ON CONFLICT DO NOTHING`,
    ),
  ];
  if (emailEnabled) {
    const text = plan.category === "announcements" ? htmlToText(plan.body) : plan.body;
    out.push(
      batchableRaw(
        db,
        sql`INSERT INTO emails (tenant_id, user_id, notification_id, to_address, subject, text_body, html_body, status, attempts, next_attempt_at, dedupe_key, created_at, updated_at)
          SELECT n.tenant_id, n.user_id, n.id, (SELECT u.email FROM users u WHERE u.id = n.user_id), ${plan.title}, ${text}, ${plan.html}, 'pending', 0, ${now}, 'notification:' || n.id, ${now}, ${now}
          FROM notifications n
          WHERE n.tenant_id = ${event.tenantId} AND n.dedupe_key = ${key} AND n.type = ${plan.type}
            AND json_extract(n.data, '$.reason') IS ${(plan.data.reason as string | undefined) ?? null}
            AND (SELECT u.email_unsubscribe FROM users u WHERE u.id = n.user_id) = 0
            AND coalesce((SELECT json_extract(p.email, ${`$.${plan.category}`}) FROM notification_preferences p WHERE p.tenant_id = n.tenant_id AND p.user_id = n.user_id), 1) = 1
          ON CONFLICT DO NOTHING`,
      ),
    );
  }
  return out;
}

/**
 * Writes the notifications (and wanted emails) of the batch's events. Idempotent; throws on a D1 failure so
 * the EVENTS batch is retried.
 */
export async function notifyFromEvents(db: Db, messages: EventMessage[]) {
  // Bound parameters (not a json_each list): the batch is at most 50 messages (wrangler.toml), and SQLite then
  // searches the primary keys instead of scanning the outbox.
  const wanted = messages.filter((m) => (NOTIFYING_EVENTS as readonly string[]).includes(m.type));
  const eventIds = [...new Set(wanted.map((m) => m.id).filter(Number.isSafeInteger))];
  if (eventIds.length === 0) return 0;
  const events = (await db
    .select({ id: outbox.id, tenantId: outbox.tenantId, type: outbox.type, data: outbox.data })
    .from(outbox)
    .where(inArray(outbox.id, eventIds))) as Event[];
  if (events.length === 0) return 0;

  const courseIds = [...new Set(events.map((e) => num(e.data.course_id)).filter((v): v is number => v !== null))];
  const announcementIds = events
    .filter((e) => e.type === "announcement.published")
    .map((e) => num(e.data.id))
    .filter((v): v is number => v !== null);
  const tenantIds = [...new Set(events.map((e) => e.tenantId))];
  const [courseRows, announcementRows, tenantRows] = await db.batch([
    db
      .select({ id: courses.id, tenantId: courses.tenantId, name: courses.name })
      .from(courses)
      .where(inArray(courses.id, courseIds.length ? courseIds : [0])),
    db
      .select()
      .from(announcements)
      .where(inArray(announcements.id, announcementIds.length ? announcementIds : [0])),
    db.select({ id: tenants.id, settings: tenants.settings }).from(tenants).where(inArray(tenants.id, tenantIds)),
  ]);
  const courseMap = new Map(courseRows.map((c) => [c.id, c]));
  const settings = new Map(tenantRows.map((t) => [t.id, t.settings]));
  const now = nowIso();
  let written = 0;
  for (const event of events) {
    const courseName = (id: number | null) => {
      const course = id === null ? undefined : courseMap.get(id);
      return course && course.tenantId === event.tenantId ? course.name : "your course";
    };
    const own = new Map(announcementRows.filter((a) => a.tenantId === event.tenantId).map((a) => [a.id, a]));
    const plans = plansOf(event, courseName, own, now);
    if (plans.length === 0) continue;
    const emailSettings = (settings.get(event.tenantId)?.email ?? {}) as { enabled?: unknown };
    const emailEnabled = emailSettings.enabled !== false;
    const batch = plans.flatMap((plan) => statements(db, event, plan, emailEnabled, now));
    await db.batch(batch as unknown as [(typeof batch)[number]]);
    written += plans.length;
  }
  return written;
}
