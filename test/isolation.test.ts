/**
 * Walks every operation of the live OpenAPI document and proves tenant isolation and authentication:
 * a route added later without an entry here fails this file, so no operation escapes the sweep.
 */
import { env } from "cloudflare:test";
import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { api, expectProblem, expectStatus, platformToken } from "./helpers/api";
import {
  createLearner,
  createTenant,
  learnerSession,
  PASSWORD,
  roleId,
  scopedKey,
  type TestTenant,
  unique,
} from "./helpers/factories";

interface Operation {
  method: string;
  path: string;
  security: Record<string, string[]>[];
  permission?: string;
}

let operations: Operation[] = [];
let a: TestTenant;
let b: TestTenant;
let aLearnerToken: string;
let aLearnerId: number;
let revokedKey: string;
/** One resource of tenant A per path with an id, filled in beforeAll. */
/**
 * Tenant A's resource behind each parameterised admin path: a concrete path (read back with GET before and
 * after tenant B's call), or `{ url, read }` for sub-resources and actions (`/courses/1/publish` is called,
 * `/courses/1` is read back).
 */
type SweepEntry = string | { url: string; read: string; body?: unknown };
const resourcesOfA: Record<string, SweepEntry> = {};
const readPathOf = (entry: SweepEntry) => (typeof entry === "string" ? entry : entry.read);

async function expiredToken(aud: "admin" | "learner", tenantId: number) {
  return new SignJWT({ tid: tenantId, sid: 1 })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer("lectern")
    .setSubject("user:1")
    .setAudience(aud)
    .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
    .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
    .sign(new TextEncoder().encode(env.JWT_SECRET));
}

function concrete(path: string, values: Record<string, string | number>) {
  return path.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(String(values[name] ?? 999_999)));
}

function bodyFor(method: string) {
  return method === "post" || method === "patch" || method === "put" ? { body: {} } : {};
}

beforeAll(async () => {
  const doc = await api("GET", "/openapi.json");
  operations = Object.entries<Record<string, any>>(doc.body.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      method,
      path,
      security: op.security ?? [],
      permission: op["x-required-permission"],
    })),
  );

  a = await createTenant();
  b = await createTenant();
  const aLearner = await learnerSession(a);
  aLearnerToken = aLearner.token;
  aLearnerId = aLearner.id;
  const revoked = await scopedKey(a, ["*"]);
  await api("DELETE", `/v1/admin/api-keys/${revoked.id}`, { token: a.key });
  revokedKey = revoked.key;

  // One resource of tenant A behind every `{id}` (or other parameter) path of the admin and platform APIs.
  const learner = await createLearner(a);
  const role = await api("POST", "/v1/admin/roles", {
    token: a.key,
    body: { name: unique("Role"), permissions: ["courses:read"] },
  });
  const staff = await api("POST", "/v1/admin/staff", {
    token: a.key,
    body: {
      name: "Ines",
      email: `${unique("staff")}@example.com`,
      role_id: await roleId(a, "instructor"),
      password: PASSWORD,
    },
  });
  const invitation = await api("POST", "/v1/admin/invitations", {
    token: a.key,
    body: { email: `${unique("invite")}@example.com`, role_id: await roleId(a, "assistant") },
  });
  const key = await scopedKey(a, ["courses:read"]);
  const client = await api("POST", "/v1/admin/api-clients", { token: a.key, body: { name: "Sync" } });
  const lrs = await api("POST", "/v1/admin/lrs-credentials", { token: a.key, body: { name: "LRS" } });
  const category = await api("POST", "/v1/admin/categories", { token: a.key, body: { name: unique("Cat") } });
  const course = await api("POST", "/v1/admin/courses", { token: a.key, body: { name: unique("Course") } });
  Object.assign(resourcesOfA, {
    "/v1/admin/learners/{id}": `/v1/admin/learners/${learner.id}`,
    "/v1/admin/learners/by-email/{email}": `/v1/admin/learners/by-email/${encodeURIComponent(learner.email)}`,
    "/v1/admin/roles/{id}": `/v1/admin/roles/${role.body.id}`,
    "/v1/admin/staff/{id}": `/v1/admin/staff/${staff.body.id}`,
    "/v1/admin/invitations/{id}": `/v1/admin/invitations/${invitation.body.id}`,
    "/v1/admin/api-keys/{id}": `/v1/admin/api-keys/${key.id}`,
    "/v1/admin/api-clients/{id}": `/v1/admin/api-clients/${client.body.id}`,
    "/v1/admin/api-clients/{id}/rotate-secret": `/v1/admin/api-clients/${client.body.id}`,
    "/v1/admin/lrs-credentials/{id}": `/v1/admin/lrs-credentials/${lrs.body.id}`,
    "/v1/admin/categories/{id}": `/v1/admin/categories/${category.body.id}`,
    "/v1/admin/courses/{id}": `/v1/admin/courses/${course.body.id}`,
    ...(await curriculumOfA(course.body.id)),
    ...(await learningPathOfA(course.body.id)),
    ...(await moduleOfA()),
    ...(await ratingsOfA()),
    ...(await webhookOfA()),
    ...(await discussionOfA(course.body.id)),
    ...(await certificatesOfA(course.body.id, learner.id)),
    ...(await enrollmentsOfA(course.body.id, learner.id)),
    "/v1/admin/jobs/{id}": await jobOfA(),
    ...(await announcementsOfA(learner.id)),
    ...(await mediaOfA()),
    ...(await packageOfA()),
    ...(await quizOfA()),
    ...(await surveyAndAssignmentOfA()),
    "/v1/platform/tenants/{id}": `/v1/platform/tenants/${a.id}`,
    "/v1/platform/tenants/{id}/api-keys": `/v1/platform/tenants/${a.id}`,
  });
}, 60_000);

/**
 * A question, a quiz placed in a published course and a submitted attempt of tenant A (by an enrolled learner),
 * and the sweep entries of the question and quiz paths.
 */
async function quizOfA() {
  const q = await api("POST", "/v1/admin/questions", {
    token: a.key,
    body: { type: "true_false", title: "Sweep", correct_answer: true },
  });
  const quiz = await api("POST", "/v1/admin/modules", { token: a.key, body: { type: "quiz", name: unique("Quiz") } });
  const quizBase = `/v1/admin/quizzes/${quiz.body.id}`;
  await api("PUT", `${quizBase}/questions`, { token: a.key, body: { question_ids: [q.body.id] } });
  const course = await api("POST", "/v1/admin/courses", { token: a.key, body: { name: unique("Quizzed") } });
  const base = `/v1/admin/courses/${course.body.id}`;
  const section = await api("POST", `${base}/sections`, { token: a.key, body: { name: "Only" } });
  const placement = await api("POST", `${base}/sections/${section.body.id}/placements`, {
    token: a.key,
    body: { module_id: quiz.body.id },
  });
  await api("POST", `${base}/publish`, { token: a.key });
  const taker = await learnerSession(a);
  await api("POST", `${base}/enrollments`, { token: a.key, body: { learner_ids: [taker.id] } });
  const attempt = await api("POST", `/v1/learner/quizzes/${quiz.body.id}/attempts`, {
    token: taker.token,
    body: { course_id: course.body.id, placement_id: placement.body.id },
  });
  await api("POST", `/v1/learner/attempts/${attempt.body.id}/submit`, { token: taker.token });
  const questionPath = `/v1/admin/questions/${q.body.id}`;
  const attemptPath = `/v1/admin/attempts/${attempt.body.id}`;
  return {
    "/v1/admin/questions/{id}": questionPath,
    "/v1/admin/questions/{id}/clone": { url: `${questionPath}/clone`, read: questionPath },
    "/v1/admin/quizzes/{module_id}/questions": {
      url: `${quizBase}/questions`,
      read: `${quizBase}/questions`,
      body: { question_ids: [] },
    },
    "/v1/admin/quizzes/{module_id}/attempts": `${quizBase}/attempts`,
    "/v1/admin/quizzes/{module_id}/analysis": `${quizBase}/analysis`,
    "/v1/admin/attempts/{id}": attemptPath,
    "/v1/admin/attempts/{id}/grade": {
      url: `${attemptPath}/grade`,
      read: attemptPath,
      body: { grades: [{ question_id: q.body.id, score: 0 }] },
    },
  };
}

/** A survey answered and an assignment submitted (text and a PDF) by A's learner, and their admin paths. */
async function surveyAndAssignmentOfA() {
  const course = await api("POST", "/v1/admin/courses", { token: a.key, body: { name: unique("Assessed") } });
  const base = `/v1/admin/courses/${course.body.id}`;
  const section = await api("POST", `${base}/sections`, { token: a.key, body: { name: "Only" } });
  const place = async (type: string, settings: Record<string, unknown>) => {
    const module = await api("POST", "/v1/admin/modules", {
      token: a.key,
      body: { type, name: unique(type), settings },
    });
    expectStatus(module, 201);
    const placement = await api("POST", `${base}/sections/${section.body.id}/placements`, {
      token: a.key,
      body: { module_id: module.body.id },
    });
    return { moduleId: module.body.id as number, placementId: placement.body.id as number };
  };
  const survey = await place("survey", { questions: [{ id: "q1", type: "rating", prompt: "Clear?" }] });
  const assignment = await place("assignment", { submission_type: "both", allowed_file_types: ["pdf"] });
  expectStatus(await api("POST", `${base}/publish`, { token: a.key }), 200);
  const learner = await learnerSession(a);
  await api("POST", `${base}/enrollments`, { token: a.key, body: { learner_ids: [learner.id] } });
  expectStatus(
    await api("POST", `/v1/learner/surveys/${survey.moduleId}/responses`, {
      token: learner.token,
      body: {
        course_id: course.body.id,
        placement_id: survey.placementId,
        answers: [{ question_id: "q1", value: 4 }],
      },
    }),
    201,
  );
  // A multipart submission, encoded the way a browser's FormData is.
  const form = new FormData();
  form.set("course_id", String(course.body.id));
  form.set("placement_id", String(assignment.placementId));
  form.set("text", "Attached.");
  const pdf = new TextEncoder().encode("%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n%%EOF\n");
  form.append("files", new File([pdf], "essay.pdf", { type: "application/pdf" }));
  const encoded = new Request("http://lectern.test/", { method: "POST", body: form });
  const submission = await api("POST", `/v1/learner/assignments/${assignment.moduleId}/submissions`, {
    token: learner.token,
    rawBody: await encoded.text(),
    headers: { "content-type": encoded.headers.get("content-type") as string },
  });
  expectStatus(submission, 201);
  const submissionPath = `/v1/admin/submissions/${submission.body.id}`;
  return {
    "/v1/admin/surveys/{module_id}/results": `/v1/admin/surveys/${survey.moduleId}/results`,
    "/v1/admin/surveys/{module_id}/results.csv": `/v1/admin/surveys/${survey.moduleId}/results.csv`,
    "/v1/admin/submissions/{id}": submissionPath,
    "/v1/admin/submissions/{id}/files/{file_id}": `${submissionPath}/files/${submission.body.files[0].id}`,
    "/v1/admin/submissions/{id}/evaluate": {
      url: `${submissionPath}/evaluate`,
      read: submissionPath,
      body: { score: 1 },
    },
  };
}

/** A section and a placement in tenant A's course, and the sweep entries of the course's sub-paths. */
async function curriculumOfA(courseId: number) {
  const base = `/v1/admin/courses/${courseId}`;
  const section = await api("POST", `${base}/sections`, { token: a.key, body: { name: "Week 1" } });
  const module = await api("POST", "/v1/admin/modules", { token: a.key, body: { type: "text", name: unique("Mod") } });
  const placement = await api("POST", `${base}/sections/${section.body.id}/placements`, {
    token: a.key,
    body: { module_id: module.body.id },
  });
  const sectionPath = `${base}/sections/${section.body.id}`;
  const placementPath = `${base}/placements/${placement.body.id}`;
  return {
    "/v1/admin/courses/{id}/publish": { url: `${base}/publish`, read: base },
    "/v1/admin/courses/{id}/restore": { url: `${base}/restore`, read: base },
    "/v1/admin/courses/{id}/clone": { url: `${base}/clone`, read: base },
    "/v1/admin/courses/{id}/curriculum": {
      url: `${base}/curriculum`,
      read: `${base}/curriculum`,
      body: { sections: [] },
    },
    "/v1/admin/courses/{id}/sections": { url: `${base}/sections`, read: `${base}/curriculum`, body: { name: "B's" } },
    "/v1/admin/courses/{id}/sections/{sectionId}": sectionPath,
    "/v1/admin/courses/{id}/sections/{sectionId}/placements": {
      url: `${sectionPath}/placements`,
      read: sectionPath,
      body: { module_id: module.body.id },
    },
    "/v1/admin/courses/{id}/placements/{placementId}": placementPath,
  };
}

/** Tenant A's learner enrolled in a published path of tenant A, and the sweep entries of enrollments and activity. */
async function enrollmentsOfA(courseId: number, learnerId: number) {
  const base = `/v1/admin/courses/${courseId}`;
  const list = `${base}/enrollments`;
  const body = { learner_ids: [learnerId] };
  const path = await api("POST", "/v1/admin/learning-paths", {
    token: a.key,
    body: { name: unique("Enrolled path"), steps: [{ course_id: courseId }] },
  });
  const pathList = `/v1/admin/learning-paths/${path.body.id}/enrollments`;
  const action = (name: string, extra: Record<string, unknown> = {}) => ({
    url: `${list}/${name}`,
    read: list,
    body: { ...body, ...extra },
  });
  return {
    "/v1/admin/courses/{id}/enrollments": { url: list, read: list, body },
    "/v1/admin/courses/{id}/enrollments/lookup": `${list}/lookup`,
    "/v1/admin/courses/{id}/enrollments/remove": action("remove"),
    "/v1/admin/courses/{id}/enrollments/revoke": action("revoke"),
    "/v1/admin/courses/{id}/enrollments/grant": action("grant"),
    "/v1/admin/courses/{id}/enrollments/expiry": action("expiry", { expires_at: null }),
    "/v1/admin/courses/{id}/enrollments/reset-progress": action("reset-progress"),
    "/v1/admin/learning-paths/{id}/enrollments": { url: pathList, read: pathList, body },
    "/v1/admin/learners/{id}/enrollments": `/v1/admin/learners/${learnerId}/enrollments`,
    "/v1/admin/courses/{id}/activities": `${base}/activities`,
  };
}

/** A media file and a multipart upload in progress of tenant A, and the sweep entries of the media paths. */
async function mediaOfA() {
  const file = await api("POST", "/v1/admin/media?name=notes.txt", {
    token: a.key,
    rawBody: "Notes of tenant A",
    headers: { "content-type": "text/plain", "content-length": "17" },
  });
  expect(file.status, file.text).toBe(201);
  const upload = await api("POST", "/v1/admin/media/uploads", {
    token: a.key,
    body: { name: "lecture.mp4", content_type: "video/mp4", size: 6_000_000 },
  });
  expect(upload.status, upload.text).toBe(201);
  const path = `/v1/admin/media/${file.body.id}`;
  const uploadPath = `/v1/admin/media/uploads/${upload.body.upload_id}`;
  return {
    "/v1/admin/media/{id}": path,
    "/v1/admin/media/{id}/usages": `${path}/usages`,
    "/v1/admin/media/{id}/download-url": { url: `${path}/download-url`, read: path },
    "/v1/admin/media/uploads/{upload_id}": uploadPath,
    "/v1/admin/media/uploads/{upload_id}/parts/{n}": { url: `${uploadPath}/parts/1`, read: uploadPath },
    "/v1/admin/media/uploads/{upload_id}/complete": { url: `${uploadPath}/complete`, read: uploadPath },
  };
}

/** A package of tenant A (its upload is enough: the import need not succeed), and the sweep entries of its paths. */
async function packageOfA() {
  const upload = await api("POST", "/v1/admin/packages", {
    token: a.key,
    rawBody: "not a zip",
    headers: { "content-type": "application/zip", "content-length": "9" },
  });
  expect(upload.status, upload.text).toBe(201);
  const path = `/v1/admin/packages/${upload.body.id}`;
  return {
    "/v1/admin/packages/{id}": path,
    "/v1/admin/packages/{id}/versions": { url: `${path}/versions`, read: path },
    "/v1/admin/packages/{id}/report": { url: `${path}/report`, read: path },
    "/v1/admin/packages/{id}/report/interactions.csv": { url: `${path}/report/interactions.csv`, read: path },
    // B is refused on A's package before any learner is looked up.
    "/v1/admin/packages/{id}/report/learners/{user_id}": { url: `${path}/report/learners/1`, read: path },
    // Registrations come from launches; B is refused before any registration is looked up in A's package.
    "/v1/admin/packages/{id}/registrations": { url: `${path}/registrations`, read: path },
    "/v1/admin/packages/{id}/registrations/{registration}": {
      url: `${path}/registrations/0f8fad5b-d9cb-469f-a165-70867728950e`,
      read: path,
    },
    "/v1/admin/packages/{id}/registrations/{registration}/waive": {
      url: `${path}/registrations/0f8fad5b-d9cb-469f-a165-70867728950e/waive`,
      read: path,
      body: { au_id: "https://example.com/au", reason: "Administrative" },
    },
    "/v1/admin/packages/{id}/versions/from-media": {
      url: `${path}/versions/from-media`,
      read: path,
      body: { media_id: 1 },
    },
  };
}

/** A background job of tenant A (written directly: which kinds exist depends on the modules). */
/** A draft announcement and a failed outbox email of tenant A, and the sweep entries of their paths. */
async function announcementsOfA(learnerId: number) {
  const announcement = await api("POST", "/v1/admin/announcements", {
    token: a.key,
    body: { heading: "Sweep", content: "Only for A", sending_rules: "all" },
  });
  const now = new Date().toISOString();
  const email = await env.DB.prepare(
    "INSERT INTO emails (tenant_id, user_id, to_address, subject, text_body, status, attempts, last_error, next_attempt_at, dedupe_key, created_at, updated_at) VALUES (?, ?, 'a@example.com', 'Sweep', 'Sweep', 'failed', 5, 'down', ?, ?, ?, ?) RETURNING id",
  )
    .bind(a.id, learnerId, now, unique("sweep"), now, now)
    .first<{ id: number }>();
  const base = `/v1/admin/announcements/${announcement.body.id}`;
  const emailPath = `/v1/admin/emails/${email?.id}`;
  return {
    "/v1/admin/announcements/{id}": { url: base, read: base, body: { heading: "From B" } },
    "/v1/admin/announcements/{id}/publish": { url: `${base}/publish`, read: base },
    "/v1/admin/emails/{id}": emailPath,
    "/v1/admin/emails/{id}/retry": { url: `${emailPath}/retry`, read: emailPath },
  };
}

async function jobOfA() {
  const now = new Date().toISOString();
  const row = await env.DB.prepare(
    "INSERT INTO jobs (tenant_id, kind, input, created_at, updated_at) VALUES (?, 'isolation.probe', '{}', ?, ?) RETURNING id",
  )
    .bind(a.id, now, now)
    .first<{ id: number }>();
  return `/v1/admin/jobs/${row?.id}`;
}

/** A certificate template and an issued certificate of tenant A, and the course's gradebook. */
async function certificatesOfA(courseId: number, learnerId: number) {
  const template = await api("POST", "/v1/admin/certificate-templates", { token: a.key, body: { name: "A's" } });
  const templatePath = `/v1/admin/certificate-templates/${template.body.id}`;
  const certificate = await api("POST", "/v1/admin/certificates", {
    token: a.key,
    body: { template_id: template.body.id, learner_id: learnerId },
  });
  const certificatePath = `/v1/admin/certificates/${certificate.body.id}`;
  const gradebook = `/v1/admin/courses/${courseId}/gradebook`;
  return {
    "/v1/admin/certificate-templates/{id}": templatePath,
    "/v1/admin/certificates/{id}": certificatePath,
    "/v1/admin/certificates/{id}/revoke": { url: `${certificatePath}/revoke`, read: certificatePath },
    "/v1/admin/certificates/{id}/pdf": { url: `${certificatePath}/pdf`, read: certificatePath },
    "/v1/admin/courses/{id}/gradebook": gradebook,
    "/v1/admin/courses/{id}/gradebook.csv": { url: `${gradebook}.csv`, read: gradebook },
  };
}

/** A module of tenant A, and the sweep entries of the module paths. */
async function moduleOfA() {
  const module = await api("POST", "/v1/admin/modules", { token: a.key, body: { type: "video", name: unique("Mod") } });
  const path = `/v1/admin/modules/${module.body.id}`;
  return { "/v1/admin/modules/{id}": path, "/v1/admin/modules/{id}/clone": { url: `${path}/clone`, read: path } };
}

/**
 * An inactive webhook endpoint of tenant A (nothing is ever sent to it, so reads stay stable) with one failed
 * delivery written straight to D1, and the sweep entries of the webhook paths.
 */
async function webhookOfA() {
  const hook = await api("POST", "/v1/admin/webhooks", {
    token: a.key,
    body: { url: "https://hooks.example.com/isolation", event_types: ["enrollment.created"], active: false },
  });
  const now = new Date().toISOString();
  const delivery = await env.DB.prepare(
    "INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, event_type, status, attempts, last_error, failed_at, created_at, updated_at) VALUES (?, ?, 0, 'enrollment.created', 'failed', 0, 'The endpoint was inactive: not sent.', ?, ?, ?) RETURNING id",
  )
    .bind(a.id, hook.body.id, now, now, now)
    .first<{ id: number }>();
  const base = `/v1/admin/webhooks/${hook.body.id}`;
  const attempts = `/v1/admin/webhooks/deliveries/${delivery?.id}/attempts`;
  return {
    "/v1/admin/webhooks/{id}": base,
    "/v1/admin/webhooks/{id}/rotate-secret": { url: `${base}/rotate-secret`, read: base },
    "/v1/admin/webhooks/{id}/test": { url: `${base}/test`, read: base },
    "/v1/admin/webhooks/{id}/deliveries": `${base}/deliveries`,
    "/v1/admin/webhooks/{id}/redeliver-failed": { url: `${base}/redeliver-failed`, read: `${base}/deliveries` },
    "/v1/admin/webhooks/deliveries/{id}/attempts": attempts,
    "/v1/admin/webhooks/deliveries/{id}/redeliver": {
      url: `/v1/admin/webhooks/deliveries/${delivery?.id}/redeliver`,
      read: attempts,
    },
  };
}

/** A discussion thread of tenant A's course with one post (by A's owner), and the sweep entries of its paths. */
async function discussionOfA(courseId: number) {
  const thread = await api("POST", "/v1/admin/discussions", {
    token: a.key,
    body: { course_id: courseId, title: "Sweep" },
  });
  const base = `/v1/admin/discussions/${thread.body.id}`;
  const now = new Date().toISOString();
  const owner = await env.DB.prepare("SELECT id FROM users WHERE tenant_id = ? AND kind = 'staff' LIMIT 1")
    .bind(a.id)
    .first<{ id: number }>();
  await env.DB.prepare("UPDATE discussion_threads SET last_seq = 1, post_count = 1 WHERE id = ?")
    .bind(thread.body.id)
    .run();
  const post = await env.DB.prepare(
    "INSERT INTO discussion_posts (tenant_id, thread_id, seq, changed_seq, author_id, body, mentioned_user_ids, attachment_media_ids, reaction_counts, created_at, updated_at) VALUES (?, ?, 1, 1, ?, 'Hello', '[]', '[]', '{}', ?, ?) RETURNING id",
  )
    .bind(a.id, thread.body.id, owner?.id, now, now)
    .first<{ id: number }>();
  const postPath = `${base}/posts/${post?.id}`;
  return {
    "/v1/admin/discussions/{id}": { url: base, read: base, body: { locked: false } },
    "/v1/admin/discussions/{id}/posts": { url: `${base}/posts`, read: `${base}/posts`, body: { body: "From B" } },
    "/v1/admin/discussions/{id}/posts/{post_id}": { url: postPath, read: postPath, body: { hidden: false } },
    "/v1/admin/discussions/{id}/live": { url: `${base}/live`, read: base },
    "/v1/admin/discussions/{id}/grades": { url: `${base}/grades`, read: base, body: { learner_id: 1, score: 1 } },
  };
}

/** A published course of tenant A rated by A's learner, and the sweep entries of the ratings paths. */
async function ratingsOfA() {
  const course = await api("POST", "/v1/admin/courses", { token: a.key, body: { name: unique("Rated") } });
  const base = `/v1/admin/courses/${course.body.id}`;
  const section = await api("POST", `${base}/sections`, { token: a.key, body: { name: "Only" } });
  const module = await api("POST", "/v1/admin/modules", { token: a.key, body: { type: "text", name: unique("Mod") } });
  await api("POST", `${base}/sections/${section.body.id}/placements`, {
    token: a.key,
    body: { module_id: module.body.id },
  });
  await api("POST", `${base}/publish`, { token: a.key });
  // Only enrolled learners rate a course.
  expectStatus(await api("POST", `${base}/enrollments`, { token: a.key, body: { learner_ids: [aLearnerId] } }), 201);
  const rating = await api("PUT", `/v1/learner/courses/${course.body.id}/ratings`, {
    token: aLearnerToken,
    body: { rating: 4 },
  });
  return {
    "/v1/admin/courses/{id}/ratings": `${base}/ratings`,
    "/v1/admin/courses/{id}/ratings/{ratingId}": `${base}/ratings/${rating.body.id}`,
  };
}

/** A learning path of tenant A (one step: its course) and the sweep entries of its paths. */
async function learningPathOfA(courseId: number) {
  const path = await api("POST", "/v1/admin/learning-paths", {
    token: a.key,
    body: { name: unique("Path"), steps: [{ course_id: courseId }] },
  });
  const base = `/v1/admin/learning-paths/${path.body.id}`;
  return {
    "/v1/admin/learning-paths/{id}": base,
    "/v1/admin/learning-paths/{id}/steps": { url: `${base}/steps`, read: base },
    "/v1/admin/learning-paths/{id}/publish": { url: `${base}/publish`, read: base },
    "/v1/admin/learning-paths/{id}/clone": { url: `${base}/clone`, read: base },
  };
}

const needs = (op: Operation, scheme: string) => op.security.some((s) => scheme in s);

describe("every operation of openapi.json", () => {
  it("is covered by this sweep", () => {
    expect(operations.length).toBeGreaterThan(30);
    for (const op of operations) {
      const secured = op.security.length > 0;
      const known = ["adminBearer", "learnerBearer", "platformToken"].some((s) => needs(op, s));
      expect(!secured || known, `${op.method} ${op.path} uses an unknown security scheme`).toBe(true);
      if (op.path.includes("{") && op.path.startsWith("/v1/admin/") && needs(op, "adminBearer")) {
        expect(resourcesOfA[op.path], `${op.method} ${op.path}: add a tenant-A resource to the sweep`).toBeTruthy();
      }
    }
  });

  it("refuses every secured operation without a credential (401)", async () => {
    for (const op of operations.filter((o) => o.security.length > 0)) {
      const res = await api(op.method.toUpperCase(), concrete(op.path, {}), bodyFor(op.method));
      expectProblem(res, 401);
    }
  });

  it("refuses every admin operation with a revoked key or an expired token (401)", async () => {
    const expired = await expiredToken("admin", a.id);
    for (const op of operations.filter((o) => needs(o, "adminBearer"))) {
      for (const token of [revokedKey, expired]) {
        const res = await api(op.method.toUpperCase(), concrete(op.path, {}), { token, ...bodyFor(op.method) });
        expectProblem(res, 401);
      }
    }
  });

  it("refuses every admin operation with a learner token (403) and every learner operation with an admin key (403)", async () => {
    for (const op of operations.filter((o) => needs(o, "adminBearer"))) {
      const res = await api(op.method.toUpperCase(), concrete(op.path, {}), {
        token: aLearnerToken,
        ...bodyFor(op.method),
      });
      expectProblem(res, 403);
    }
    for (const op of operations.filter((o) => needs(o, "learnerBearer"))) {
      const res = await api(op.method.toUpperCase(), concrete(op.path, {}), { token: a.key, ...bodyFor(op.method) });
      expectProblem(res, 403);
      const expired = await api(op.method.toUpperCase(), concrete(op.path, {}), {
        token: await expiredToken("learner", a.id),
        ...bodyFor(op.method),
      });
      expectProblem(expired, 401);
    }
  });

  it("refuses every admin operation to a key holding every permission but the one it requires (403)", async () => {
    const all = (await api("GET", "/v1/admin/permissions", { token: a.key })).body.data.map(
      (p: { permission: string }) => p.permission,
    );
    const withoutEach = new Map<string, string>();
    for (const op of operations.filter((o) => o.permission)) {
      const permission = op.permission as string;
      if (!withoutEach.has(permission)) {
        withoutEach.set(
          permission,
          (
            await scopedKey(
              a,
              all.filter((p: string) => p !== permission),
            )
          ).key,
        );
      }
      const token = withoutEach.get(permission);
      const res = await api(op.method.toUpperCase(), concrete(op.path, {}), { token, ...bodyFor(op.method) });
      const problem = expectProblem(res, 403);
      expect(problem.required_permission, `${op.method} ${op.path}`).toBe(permission);
    }
    expect(withoutEach.size).toBeGreaterThan(10);
  });

  it("refuses every platform operation with a tenant's owner key (401)", async () => {
    for (const op of operations.filter((o) => needs(o, "platformToken"))) {
      const res = await api(op.method.toUpperCase(), concrete(op.path, { id: a.id }), {
        token: a.key,
        ...bodyFor(op.method),
      });
      expectProblem(res, 401);
    }
  });

  it("answers 404 to tenant B for each of tenant A's resources, and A's resource is unchanged", async () => {
    const admin = operations.filter((o) => needs(o, "adminBearer") && o.path.includes("{"));
    for (const op of admin) {
      const entry = resourcesOfA[op.path];
      const target = readPathOf(entry);
      const url =
        typeof entry !== "string" ? entry.url : op.path.endsWith("/rotate-secret") ? `${target}/rotate-secret` : target;
      const readPath = target;
      const before = await api("GET", readPath, { token: a.key });
      expect(before.status, `A can read ${readPath}`).toBe(200);
      // A valid body where the operation needs one, so only the tenant can make the answer a 404.
      const hasBody = op.method !== "get" && op.method !== "delete";
      const body =
        hasBody && typeof entry !== "string" && entry.body !== undefined ? { body: entry.body } : bodyFor(op.method);
      const res = await api(op.method.toUpperCase(), url, { token: b.key, ...body });
      expectProblem(res, 404);
      const after = await api("GET", readPath, { token: a.key });
      expect(after.body, `${op.method} ${op.path} by tenant B changed tenant A's resource`).toEqual(before.body);
    }
  });

  it("never shows tenant A's data in tenant B's lists and lookups", async () => {
    const lists = operations.filter(
      (o) => o.method === "get" && needs(o, "adminBearer") && !o.path.includes("{") && o.path !== "/v1/admin/me",
    );
    for (const op of lists) {
      const res = await api("GET", `${op.path}?per_page=100&limit=100`, { token: b.key });
      expect(res.status, `${op.path}: ${res.text}`).toBe(200);
      // The owner of A carries A's slug in their email.
      expect(res.text, `${op.path} leaks tenant A`).not.toContain(a.slug);
      // A's resource of the same collection is not among B's items.
      const collection = op.path.replace(/\/lookup$/, "");
      const aEntry = resourcesOfA[`${collection}/{id}`];
      if (!aEntry) continue;
      const aPath = readPathOf(aEntry);
      const aId = Number(aPath.split("/").pop());
      const items: { id?: number; value?: number }[] = Array.isArray(res.body) ? res.body : res.body.data;
      expect(
        items.some((item) => (item.id ?? item.value) === aId),
        `${op.path} shows tenant A's ${collection} ${aId}`,
      ).toBe(false);
    }
  });

  it("keeps the platform token away from the admin API", async () => {
    const res = await api("GET", "/v1/admin/me", { token: platformToken() });
    expectProblem(res, 401);
  });
});
