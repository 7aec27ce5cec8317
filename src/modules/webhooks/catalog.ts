/**
 * The event catalog: every domain event type Lectern emits through the outbox, with what it means and the shape
 * of its `data`. It feeds `GET /v1/admin/event-types`, the validation of endpoint filters, and the OpenAPI 3.1
 * `webhooks` of the document. A module that emits a new type adds it here (docs/events.md).
 *
 * Payloads are thin on purpose (ids, slugs, what changed): fetch the resource for the rest. They are open
 * objects: fields may be added without a new envelope version; removing or changing one bumps `version`.
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";

type OpenAPIRegistry = OpenAPIHono["openAPIRegistry"];

/** The envelope version: bumped only for breaking changes to the envelope or to a payload. */
export const EVENT_VERSION = 1;

const Id = z.number().int();
const Ids = z.array(Id);
const Text = z.string();
const Changed = z.array(z.string()).openapi({ description: "The fields the write changed", example: ["name"] });

/** An open payload object: these fields at least; more may come. */
const payload = (shape: z.ZodRawShape) => z.looseObject(shape);

/** Email-bound tokens: only integrations that send the academy's emails should subscribe to these. */
const tokenPayload = payload({
  user_id: Id,
  email: Text,
  token: Text.openapi({ description: "Single-use token to put in the emailed link. Treat it as a secret." }),
  expires_at: Text,
});

interface EventDefinition {
  group: string;
  description: string;
  data: z.ZodType;
}

export const EVENT_CATALOG = {
  // Academy (emitted by the platform API; `tenant.deleted` reaches no endpoint: they go with the academy)
  "tenant.created": {
    group: "Academy",
    description: "The academy was created.",
    data: payload({ slug: Text, name: Text }),
  },
  "tenant.updated": { group: "Academy", description: "The academy's settings changed.", data: payload({ id: Id }) },
  "tenant.suspended": {
    group: "Academy",
    description: "The operator suspended the academy.",
    data: payload({ id: Id }),
  },
  "tenant.reactivated": {
    group: "Academy",
    description: "The operator reactivated the academy.",
    data: payload({ id: Id }),
  },
  "tenant.deleted": {
    group: "Academy",
    description: "The academy was deleted.",
    data: payload({ id: Id, slug: Text }),
  },

  // Staff, roles and credentials
  "role.created": {
    group: "Staff & access",
    description: "A custom role was created.",
    data: payload({ key: Text, name: Text, permissions: z.array(z.string()) }),
  },
  "role.updated": { group: "Staff & access", description: "A custom role changed.", data: payload({ id: Id }) },
  "role.deleted": { group: "Staff & access", description: "A custom role was deleted.", data: payload({ id: Id }) },
  "staff.created": {
    group: "Staff & access",
    description: "A staff user was added.",
    data: payload({ email: Text, role: Text }),
  },
  "staff.updated": { group: "Staff & access", description: "A staff user changed.", data: payload({ id: Id }) },
  "staff.deleted": {
    group: "Staff & access",
    description: "A staff user was removed.",
    data: payload({ id: Id, email: Text }),
  },
  "staff.password_reset_requested": {
    group: "Staff & access",
    description: "A staff user asked to reset their password: email them the token.",
    data: tokenPayload,
  },
  "invitation.created": {
    group: "Staff & access",
    description: "Someone was invited to join the staff: email them the token.",
    data: payload({ email: Text, role: Text, token: Text }),
  },
  "invitation.accepted": {
    group: "Staff & access",
    description: "An invitation was accepted.",
    data: payload({ invitation_id: Id, email: Text }),
  },
  "user.password_changed": {
    group: "Staff & access",
    description: "A user (staff or learner) changed or reset their password.",
    data: payload({ user_id: Id }),
  },
  "api_key.created": {
    group: "Staff & access",
    description: "An API key was created (by staff or by the platform operator).",
    data: payload({ name: Text, prefix: Text, issued_by: Text.optional() }),
  },
  "api_key.revoked": {
    group: "Staff & access",
    description: "An API key was revoked.",
    data: payload({ id: Id, prefix: Text }),
  },
  "api_client.created": {
    group: "Staff & access",
    description: "An OAuth API client was created.",
    data: payload({ name: Text }),
  },
  "api_client.secret_rotated": {
    group: "Staff & access",
    description: "An OAuth API client's secret was rotated.",
    data: payload({ id: Id }),
  },
  "api_client.revoked": {
    group: "Staff & access",
    description: "An OAuth API client was revoked.",
    data: payload({ id: Id }),
  },
  "lrs_credential.created": {
    group: "Staff & access",
    description: "An LRS credential (HTTP Basic for /xapi/) was created.",
    data: payload({ name: Text, key: Text }),
  },
  "lrs_credential.revoked": {
    group: "Staff & access",
    description: "An LRS credential was revoked.",
    data: payload({ id: Id, key: Text }),
  },
  "xapi.statements_stored": {
    group: "Learning",
    description:
      "The LRS stored statements (one event per request, however many statements). Fetch them from GET /xapi/statements.",
    data: payload({
      count: Id,
      statement_ids: z.array(Text).openapi({ description: "The first 100 stored ids" }),
      voided_statement_ids: z.array(Text),
      credential_id: Id.nullable(),
    }),
  },
  "xapi.document_changed": {
    group: "Learning",
    description: "An xAPI State, Activity Profile or Agent Profile document was created, replaced, merged or deleted.",
    data: payload({
      kind: z.enum(["state", "activity_profile", "agent_profile"]),
      activity_id: Text.nullable(),
      document_id: Text.nullable(),
      action: z.enum(["created", "replaced", "merged", "deleted"]),
    }),
  },

  // Learners
  "learner.created": {
    group: "Learners",
    description: "Staff or an integration added a learner.",
    data: payload({ email: Text, name: Text }),
  },
  "learner.registered": {
    group: "Learners",
    description: "A learner signed up by themselves.",
    data: payload({ email: Text, name: Text }),
  },
  "learner.updated": { group: "Learners", description: "A learner's profile changed.", data: payload({ id: Id }) },
  "learner.deleted": {
    group: "Learners",
    description: "A learner was deleted.",
    data: payload({ id: Id, email: Text }),
  },
  "learner.password_reset_requested": {
    group: "Learners",
    description: "A learner asked to reset their password: email them the token.",
    data: tokenPayload,
  },
  "learner.email_verification_requested": {
    group: "Learners",
    description: "A learner's email address needs verifying: email them the token.",
    data: tokenPayload,
  },

  // Catalog
  "category.created": {
    group: "Catalog",
    description: "A category was created.",
    data: payload({ id: Id, type: Text, slug: Text }),
  },
  "category.updated": {
    group: "Catalog",
    description: "A category changed.",
    data: payload({ id: Id, type: Text, slug: Text, changed: Changed }),
  },
  "category.deleted": {
    group: "Catalog",
    description: "A category was deleted (`detached` counts what used it).",
    data: payload({ id: Id, type: Text, slug: Text, detached: z.record(z.string(), z.number()).optional() }),
  },
  "category.reordered": {
    group: "Catalog",
    description: "The categories of a type were put in a new order.",
    data: payload({ type: Text, ids: Ids }),
  },
  "course.created": {
    group: "Catalog",
    description: "A course was created (also by cloning: `cloned_from`).",
    data: payload({ id: Id, slug: Text, name: Text, cloned_from: Id.optional() }),
  },
  "course.updated": {
    group: "Catalog",
    description: "A course's settings changed.",
    data: payload({ id: Id, changed: Changed }),
  },
  "course.published": {
    group: "Catalog",
    description: "A course was published: learners may see it.",
    data: payload({ id: Id, slug: Text }),
  },
  "course.deleted": {
    group: "Catalog",
    description: "A course was deleted (restorable for a while).",
    data: payload({ id: Id }),
  },
  "course.restored": { group: "Catalog", description: "A deleted course was restored.", data: payload({ id: Id }) },
  "course.cloned": {
    group: "Catalog",
    description:
      "A course was cloned (`id` is the copy, `source_id` the original); the copy also emits `course.created`.",
    data: payload({ id: Id, source_id: Id, slug: Text, modules: Text.optional() }),
  },
  "course.curriculum_changed": {
    group: "Catalog",
    description:
      "A course's sections or placements changed (`change`: section_created, section_updated, section_deleted, module_placed, placement_updated, module_removed, reordered).",
    data: payload({
      course_id: Id,
      change: Text,
      section_id: Id.optional(),
      module_id: Id.optional(),
      placement_id: Id.optional(),
    }),
  },
  "module.created": {
    group: "Catalog",
    description: "A module (reusable content item) was created.",
    data: payload({ id: Id, type: Text, slug: Text, name: Text }),
  },
  "module.updated": {
    group: "Catalog",
    description: "A module changed.",
    data: payload({ id: Id, type: Text.optional(), changed: Changed }),
  },
  "module.deleted": {
    group: "Catalog",
    description: "A module was deleted (`course_ids`: the courses it was placed in).",
    data: payload({ id: Id, type: Text, slug: Text, course_ids: Ids.optional() }),
  },
  "module.cloned": {
    group: "Catalog",
    description: "A module was copied (`id` is the copy, `source_id` the original).",
    data: payload({ id: Id, source_id: Id, type: Text, slug: Text, name: Text }),
  },
  "learning_path.created": {
    group: "Catalog",
    description: "A learning path was created.",
    data: payload({ id: Id, slug: Text, name: Text }),
  },
  "learning_path.updated": {
    group: "Catalog",
    description: "A learning path or its steps changed.",
    data: payload({ id: Id, slug: Text, changed: Changed, status: Text.optional(), course_ids: Ids.optional() }),
  },
  "learning_path.deleted": {
    group: "Catalog",
    description: "A learning path was deleted.",
    data: payload({ id: Id, slug: Text, name: Text }),
  },
  "learning_path.published": {
    group: "Catalog",
    description: "A learning path was published.",
    data: payload({ id: Id, slug: Text, name: Text }),
  },
  "learning_path.cloned": {
    group: "Catalog",
    description: "A learning path was copied (`id` is the copy, `source_id` the original).",
    data: payload({ id: Id, source_id: Id, slug: Text, name: Text }),
  },
  "rating.created": {
    group: "Catalog",
    description: "A learner rated a course.",
    data: payload({ course_id: Id, user_id: Id, rating: Id }),
  },
  "rating.updated": {
    group: "Catalog",
    description: "A learner changed their rating of a course.",
    data: payload({ id: Id, course_id: Id, user_id: Id, rating: Id, previous_rating: Id }),
  },
  "rating.deleted": {
    group: "Catalog",
    description: "A rating was removed (by its learner or by staff: `deleted_by`).",
    data: payload({ id: Id, course_id: Id, user_id: Id, rating: Id, deleted_by: Text }),
  },

  // Learning
  "enrollment.created": {
    group: "Learning",
    description: "A learner was enrolled in a course.",
    data: payload({ id: Id, course_id: Id, user_id: Id }),
  },
  "enrollment.removed": {
    group: "Learning",
    description: "An admin removed a learner from a course (the enrollment and its progress are gone).",
    data: payload({ id: Id, course_id: Id, user_id: Id }),
  },
  "enrollment.revoked": {
    group: "Learning",
    description: "An admin revoked a learner's access to a course; progress is kept for a later grant.",
    data: payload({ id: Id, course_id: Id, user_id: Id }),
  },
  "enrollment.granted": {
    group: "Learning",
    description: "An admin granted a revoked enrollment's access back.",
    data: payload({ id: Id, course_id: Id, user_id: Id }),
  },
  "enrollment.expiry_changed": {
    group: "Learning",
    description: "An admin set or cleared an enrollment's expiry (`expires_at` null = never expires).",
    data: payload({ id: Id, course_id: Id, user_id: Id, expires_at: Text.nullable() }),
  },
  "enrollment.progress_reset": {
    group: "Learning",
    description: "An admin reset a learner's progress in a course (module statuses and completion cleared).",
    data: payload({ id: Id, course_id: Id, user_id: Id }),
  },
  "path_enrollment.created": {
    group: "Learning",
    description:
      "A learner was enrolled in a learning path (each of its published courses also emits `enrollment.created`).",
    data: payload({ id: Id, path_id: Id, user_id: Id }),
  },
  "auto_enroll.updated": {
    group: "Learning",
    description: "The list of courses every new learner is enrolled in changed.",
    data: payload({ course_ids: Ids }),
  },
  // Learner runtime (progress module)
  "module.started": {
    group: "Learning",
    description: "A learner opened a placement of a course for the first time.",
    data: payload({ enrollment_id: Id, course_id: Id, placement_id: Id, module_id: Id, user_id: Id }),
  },
  "module.completed": {
    group: "Learning",
    description: "A learner completed a placement of a course (self-reported, or watched to the threshold).",
    data: payload({
      enrollment_id: Id,
      course_id: Id,
      placement_id: Id,
      module_id: Id,
      user_id: Id,
      module_type: Text,
    }),
  },
  "module.graded": {
    group: "Learning",
    description: "A graded attempt or submission set a placement's result (`status`: passed, failed or submitted).",
    data: payload({ enrollment_id: Id, course_id: Id, placement_id: Id, user_id: Id, status: Text, score: z.number() }),
  },
  "enrollment.completed": {
    group: "Learning",
    description: "A learner met the course's completion criteria (once per enrollment until its progress is reset).",
    data: payload({ id: Id, course_id: Id, user_id: Id, completed_at: Text }),
  },

  // Assessments: surveys and assignments (surveys, assignments modules)
  "survey_response.created": {
    group: "Assessments",
    description: "A learner responded to a survey module (`user_id` is null when the survey is anonymous).",
    data: payload({
      response_id: Id,
      module_id: Id,
      course_id: Id,
      placement_id: Id,
      user_id: Id.nullable(),
      anonymous: z.boolean(),
    }),
  },
  "submission.created": {
    group: "Assessments",
    description: "A learner handed in an assignment (a first submission or a resubmission: `attempt`).",
    data: payload({
      id: Id,
      module_id: Id,
      course_id: Id,
      placement_id: Id,
      enrollment_id: Id,
      user_id: Id,
      attempt: Id,
      late: z.boolean(),
      file_count: Id,
    }),
  },
  "submission.evaluated": {
    group: "Assessments",
    description: "An instructor evaluated a submission (`status`: passed or failed).",
    data: payload({
      id: Id,
      module_id: Id,
      course_id: Id,
      user_id: Id,
      status: Text,
      score: Id,
      max_score: Id,
      evaluated_by: Id.nullable(),
    }),
  },
  "submission.resubmission_requested": {
    group: "Assessments",
    description: "An instructor asked the learner to submit an assignment again.",
    data: payload({ id: Id, module_id: Id, course_id: Id, user_id: Id, evaluated_by: Id.nullable() }),
  },
  // Assessments: question bank and quizzes (questions and quizzes modules)
  "question.created": {
    group: "Assessments",
    description:
      "A question was added to the bank (created, cloned: `source_id`, or imported from a CSV of up to 500 rows in the request).",
    data: payload({ id: Id, type: Text, title: Text }),
  },
  "question.updated": {
    group: "Assessments",
    description: "A question of the bank changed (attempts already started keep their frozen copy).",
    data: payload({ id: Id, changed: Changed }),
  },
  "question.deleted": {
    group: "Assessments",
    description: "A question was deleted from the bank (and from the quizzes using it, when forced).",
    data: payload({ id: Id }),
  },
  "question.imported": {
    group: "Assessments",
    description:
      "A background CSV import (`questions.import` job) added questions to the bank; one event per import, no per-question `question.created` (the job's result lists `question_ids`).",
    data: payload({
      job_id: Id,
      mode: z.enum(["all_or_nothing", "valid_rows"]),
      total_rows: Id,
      created: Id,
      failed_rows: Id,
    }),
  },
  "quiz.questions_updated": {
    group: "Assessments",
    description: "A static quiz's question list was replaced.",
    data: payload({ module_id: Id, question_ids: Ids }),
  },
  "quiz_attempt.started": {
    group: "Assessments",
    description: "A learner started an attempt at a quiz (`deadline_at` null: untimed).",
    data: payload({
      id: Id,
      module_id: Id,
      course_id: Id,
      placement_id: Id,
      enrollment_id: Id,
      user_id: Id,
      number: Id,
      deadline_at: Text.nullable(),
    }),
  },
  "quiz_attempt.submitted": {
    group: "Assessments",
    description:
      "An attempt ended, by the learner or at its deadline (`submitted_by`), and was graded automatically; `status` pending_review: essays wait for a grader.",
    data: payload({
      id: Id,
      module_id: Id,
      course_id: Id,
      placement_id: Id,
      enrollment_id: Id,
      user_id: Id,
      number: Id,
      status: Text,
      submitted_by: Text,
      score: z.number(),
      max_score: z.number(),
      percent: z.number(),
      passed: z.boolean().nullable(),
    }),
  },
  "quiz_attempt.graded": {
    group: "Assessments",
    description: "An attempt is fully graded (at submit when nothing needs a grader, else when a grader finishes).",
    data: payload({
      id: Id,
      module_id: Id,
      course_id: Id,
      placement_id: Id,
      enrollment_id: Id,
      user_id: Id,
      status: Text,
      score: z.number(),
      max_score: z.number(),
      percent: z.number(),
      passed: z.boolean().nullable(),
    }),
  },

  // Media library (media module)
  "media.created": {
    group: "Media",
    description: "A file was added to the media library (a single-request upload, or a completed multipart upload).",
    data: payload({ id: Id, name: Text, source: z.enum(["single", "multipart"]) }),
  },
  "media.updated": {
    group: "Media",
    description: "A file's metadata (title, alt, visibility, duration) changed.",
    data: payload({ id: Id, changed: Changed }),
  },
  "media.deleted": {
    group: "Media",
    description:
      "A file was deleted; `forced` when modules, certificate templates, questions or discussion posts (`used_by`) still pointed at it.",
    data: payload({
      id: Id,
      name: Text,
      forced: z.boolean(),
      used_by: z.array(z.looseObject({ type: Text, id: Id })),
    }),
  },

  // E-learning packages (packages module)
  "package.ready": {
    group: "Packages",
    description:
      "A package version was imported: learners launch it from now on (`standard`: scorm12, scorm2004, xapi, cmi5).",
    data: payload({ package_id: Id, version: z.number(), standard: Text, title: Text }),
  },
  "package.failed": {
    group: "Packages",
    description: "A package version was refused at import (`reason`); the package's current version, if any, stays.",
    data: payload({ package_id: Id, version: z.number(), reason: Text }),
  },
  "package.deleted": {
    group: "Packages",
    description: "A package (all its versions, files and SCORM sessions) was deleted.",
    data: payload({ package_id: Id, title: Text }),
  },

  // Discussions (discussions module)
  "discussion_thread.created": {
    group: "Discussions",
    description: "A discussion thread was created (a course thread, or a discussion module's thread on first use).",
    data: payload({ id: Id, course_id: Id, placement_id: Id.nullable(), module_id: Id.nullable(), kind: Text }),
  },
  "discussion_thread.updated": {
    group: "Discussions",
    description: "A thread's title or body changed, or it was locked, reopened, pinned or unpinned.",
    data: payload({ id: Id, course_id: Id, changed: Changed, locked: z.boolean(), pinned: z.boolean() }),
  },
  "discussion_thread.deleted": {
    group: "Discussions",
    description: "A thread was deleted with its posts.",
    data: payload({ id: Id, course_id: Id, placement_id: Id.nullable() }),
  },
  "discussion_post.created": {
    group: "Discussions",
    description:
      "A post or reply (`parent_id`) was written. `instructor_ids` (the course's instructors) and `mentioned_user_ids` are whom to notify.",
    data: payload({
      id: Id,
      thread_id: Id,
      course_id: Id,
      placement_id: Id.nullable(),
      module_id: Id.nullable(),
      author_id: Id,
      author_kind: z.enum(["learner", "staff"]),
      parent_id: Id.nullable(),
      mentioned_user_ids: Ids,
      instructor_ids: Ids,
    }),
  },
  "discussion_post.updated": {
    group: "Discussions",
    description: "The author edited a post.",
    data: payload({ id: Id, thread_id: Id, course_id: Id, author_id: Id, mentioned_user_ids: Ids }),
  },
  "discussion_post.deleted": {
    group: "Discussions",
    description: "A post was deleted by its author or a moderator (`deleted_by`).",
    data: payload({ id: Id, thread_id: Id, course_id: Id, author_id: Id, deleted_by: Id }),
  },
  "discussion_post.moderated": {
    group: "Discussions",
    description: "A moderator hid, showed, pinned or unpinned a post.",
    data: payload({
      id: Id,
      thread_id: Id,
      course_id: Id,
      author_id: Id,
      hidden: z.boolean(),
      pinned: z.boolean(),
      moderator_id: Id,
    }),
  },

  // Announcements (announcements module); their fan-out fills learners' notification inboxes
  "announcement.created": {
    group: "Announcements",
    description:
      "An announcement was created (as a draft, or published at once: then `announcement.published` follows).",
    data: payload({ id: Id, heading: Text, sending_rules: Text }),
  },
  "announcement.updated": {
    group: "Announcements",
    description: "An announcement changed (`changed` names the fields).",
    data: payload({ id: Id, changed: Changed }),
  },
  "announcement.published": {
    group: "Announcements",
    description:
      "An announcement was published: the targeted learners (`sending_rules`) get it in their notification inbox.",
    data: payload({ id: Id, heading: Text, sending_rules: Text, expires_at: Text.nullable() }),
  },
  "announcement.deleted": {
    group: "Announcements",
    description: "An announcement was deleted.",
    data: payload({ id: Id, heading: Text }),
  },

  // Certificates (certificates module)
  "certificate_template.created": {
    group: "Certificates",
    description: "A certificate template was created.",
    data: payload({ id: Id, name: Text }),
  },
  "certificate_template.updated": {
    group: "Certificates",
    description: "A certificate template's settings changed.",
    data: payload({ id: Id, changed: Changed }),
  },
  "certificate_template.deleted": {
    group: "Certificates",
    description: "A certificate template was deleted (and removed from the courses that awarded it).",
    data: payload({ id: Id, name: Text, removed_from_course_ids: Ids }),
  },
  "certificate.issued": {
    group: "Certificates",
    description:
      "A certificate was issued: on course completion (`source: course`), path completion (`path`) or by an admin (`manual`).",
    data: payload({
      id: Id,
      code: Text,
      learner_id: Id,
      course_id: Id.nullable(),
      path_id: Id.nullable(),
      template_id: Id.nullable(),
      title: Text,
      issued_at: Text,
      expires_at: Text.nullable(),
      source: Text,
    }),
  },
  "certificate.revoked": {
    group: "Certificates",
    description: "An admin revoked a certificate; its public verification now answers `revoked`.",
    data: payload({ id: Id, code: Text, learner_id: Id, revoked_at: Text }),
  },

  // Webhooks themselves
  "webhook.created": {
    group: "Webhooks",
    description: "A webhook endpoint was created.",
    data: payload({ id: Id, url: Text, event_types: z.array(z.string()) }),
  },
  "webhook.updated": {
    group: "Webhooks",
    description: "A webhook endpoint changed.",
    data: payload({ id: Id, url: Text, changed: Changed }),
  },
  "webhook.deleted": {
    group: "Webhooks",
    description: "A webhook endpoint was deleted.",
    data: payload({ id: Id, url: Text }),
  },
  "webhook.secret_rotated": {
    group: "Webhooks",
    description: "A webhook endpoint's signing secret was rotated (the old one signs too until `previous_expires_at`).",
    data: payload({ id: Id, url: Text, previous_expires_at: Text }),
  },
  "webhook.endpoint_disabled": {
    group: "Webhooks",
    description: "An endpoint failed every delivery for 5 days and was disabled; re-enable it with PATCH.",
    data: payload({ id: Id, url: Text, failing_since: Text }),
  },
  "webhook.test": {
    group: "Webhooks",
    description:
      "A test event, sent by `POST /v1/admin/webhooks/{id}/test` to that endpoint only (whatever its filter).",
    data: payload({ endpoint_id: Id, message: Text }),
  },
} satisfies Record<string, EventDefinition>;

export type EventType = keyof typeof EVENT_CATALOG;
export const EVENT_TYPES = Object.keys(EVENT_CATALOG) as EventType[];

/** Subscribing to every type. */
export const ALL_EVENTS = "*";

export function isEventType(value: string): value is EventType {
  return Object.hasOwn(EVENT_CATALOG, value);
}

/** Types delivered only to the endpoint they name, never through filters. */
export const DIRECTED_TYPES = new Set<string>(["webhook.test"]);

export function eventTypeList() {
  return EVENT_TYPES.map((type) => ({
    type,
    group: EVENT_CATALOG[type].group,
    description: EVENT_CATALOG[type].description,
  }));
}

/** What a receiver gets: the event envelope. */
export interface EventEnvelope {
  id: number;
  type: string;
  version: number;
  tenant_id: number;
  occurred_at: string;
  data: Record<string, unknown>;
}

export function envelopeOf(row: {
  id: number;
  type: string;
  tenantId: number;
  occurredAt: string;
  data: Record<string, unknown>;
}): EventEnvelope {
  return {
    id: row.id,
    type: row.type,
    version: EVENT_VERSION,
    tenant_id: row.tenantId,
    occurred_at: row.occurredAt,
    data: row.data,
  };
}

const pascal = (type: string) =>
  type
    .split(/[._]/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");

const WebhookHeaders = z.object({
  "webhook-id": z.string().openapi({
    description: "`evt_<event id>`: the same for every attempt and redelivery of the event. Dedupe on it.",
    example: "evt_1042",
  }),
  "webhook-timestamp": z.string().openapi({
    description: "Unix seconds of this attempt. Refuse messages more than 5 minutes old or ahead.",
    example: "1795526028",
  }),
  "webhook-signature": z.string().openapi({
    description:
      "Space-separated `v1,<base64 HMAC-SHA256>` signatures of `{webhook-id}.{webhook-timestamp}.{body}` keyed with the base64-decoded part of the endpoint's `whsec_` secret; two during the 24 hours after a secret rotation.",
    example: "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
  }),
});

/**
 * The catalog as OpenAPI 3.1 `webhooks` (one POST per event type, its envelope as the body) and the security
 * scheme that names the signature. Called once on the app's registry; the document is built lazily.
 */
export function registerEventWebhooks(registry: OpenAPIRegistry) {
  registry.registerComponent("securitySchemes", "webhookSignature", {
    type: "apiKey",
    in: "header",
    name: "webhook-signature",
    description:
      "Lectern signs every webhook per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`); verify it with the endpoint's secret, for example with the `standardwebhooks` library. See docs/webhooks.md.",
  });
  for (const type of EVENT_TYPES) {
    const definition: EventDefinition = EVENT_CATALOG[type];
    const name = `${pascal(type)}Event`;
    const envelope = z
      .object({
        id: Id.openapi({ description: "The event id (`webhook-id` is `evt_<id>`)", example: 1042 }),
        type: z.literal(type),
        version: z.literal(EVENT_VERSION).openapi({ description: "Envelope version" }),
        tenant_id: Id.openapi({ description: "The academy", example: 7 }),
        occurred_at: z.string().openapi({ format: "date-time", example: "2026-11-24T09:30:00.000Z" }),
        data: definition.data,
      })
      .openapi(name, { description: definition.description });
    registry.registerWebhook({
      method: "post",
      path: type,
      operationId: `on${pascal(type)}`,
      tags: ["Events"],
      summary: type,
      description: `${definition.description}\n\nDelivered to endpoints subscribed to \`${type}\` or \`*\`, signed per Standard Webhooks; retried on any non-2xx answer, timeout or network error (docs/webhooks.md).`,
      security: [{ webhookSignature: [] }],
      request: {
        headers: WebhookHeaders,
        body: { required: true, content: { "application/json": { schema: envelope } } },
      },
      responses: {
        "2XX": { description: "Any 2xx acknowledges the event; the body is ignored (its first 2 KiB is logged)" },
        "4XX": {
          description:
            "Any other answer, a redirect, or none within 10 seconds is a failed attempt, retried after 5 s, 5 min, 30 min, 2 h, 5 h, then every 10 h",
        },
      },
    });
  }
}
