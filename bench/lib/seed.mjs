// Seeding a bench tenant: the tenant, keys and the few objects scenarios touch go through the real API; the bulk
// rows (courses, learners, enrollments, xAPI statements) are copies of API-made template rows loaded straight into
// the instance's local D1 with INSERT ... SELECT over WITH RECURSIVE generators (a million rows in seconds).
// Copying template rows keeps the loader independent of each table's column list (read with PRAGMA table_info).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { d1File, d1Json } from "./server.mjs";

/** Data sizes (bench/README.md). Each bulk learner has ENROLLMENTS_PER_LEARNER enrollments. */
export const SIZES = {
  small: { courses: 1_000, enrollments: 10_000, xapi: 10_000 },
  medium: { courses: 10_000, enrollments: 100_000, xapi: 100_000 },
  large: { courses: 100_000, enrollments: 1_000_000, xapi: 1_000_000 },
};
const ENROLLMENTS_PER_LEARNER = 10;
/** Bulk learners 0..POOL-1 have no bulk enrollments: the enroll scenario enrolls them, 0..WALKERS-1 launch modules. */
export const POOL = 100;
export const WALKERS = 10;
/** The bench learner's enrollments (the outline course plus bulk courses): the same at every size. */
const MY_COURSES = 20;
/** Curriculum of the outline course: sections x text modules; the bench learner completes COMPLETED of them. */
const SECTIONS = 3;
const PER_SECTION = 10;
const COMPLETED = 10;
export const PASSWORD = "bench-Password-1234";

export function client(baseUrl) {
  return async function call(method, path, { token, body, headers = {}, expect = [200, 201] } = {}) {
    const res = await fetch(baseUrl + path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    const json = text ? JSON.parse(text) : null;
    if (!expect.includes(res.status)) {
      throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
    }
    return json;
  };
}

/** Everything made through the API on a fresh instance. Returns the ids the bulk load and the scenarios need. */
export async function seedApi(baseUrl, platformToken) {
  const call = client(baseUrl);
  const tenant = await call("POST", "/v1/platform/tenants", {
    token: platformToken,
    body: {
      name: "Bench Academy",
      slug: "bench",
      // The bench drives writes far above the default per-credential limit (600/min): lift it for this tenant.
      settings: { rate_limits: { writes_per_minute: 100_000_000 } },
      owner: { name: "Bench Owner", email: "owner@bench.test", password: PASSWORD },
    },
  });
  const key = tenant.owner_api_key.key;
  const category = await call("POST", "/v1/admin/categories", {
    token: key,
    body: { type: "course", name: "Bench", slug: "bench" },
  });
  const course = await call("POST", "/v1/admin/courses", {
    token: key,
    body: {
      name: "Bench outline course",
      slug: "bench-outline",
      subtitle: "The course the bench learner studies",
      description: "Seeded by npm run bench.",
      category_ids: [category.id],
    },
  });
  const placements = [];
  for (let s = 0; s < SECTIONS; s++) {
    const section = await call("POST", `/v1/admin/courses/${course.id}/sections`, {
      token: key,
      body: { name: `Section ${s + 1}` },
    });
    for (let m = 0; m < PER_SECTION; m++) {
      const module = await call("POST", "/v1/admin/modules", {
        token: key,
        body: { type: "text", name: `Lesson ${s + 1}.${m + 1}`, settings: { body: "Read this. ".repeat(20) } },
      });
      const placement = await call("POST", `/v1/admin/courses/${course.id}/sections/${section.id}/placements`, {
        token: key,
        body: { module_id: module.id },
      });
      placements.push(placement.id);
    }
  }
  await call("POST", `/v1/admin/courses/${course.id}/publish`, { token: key });
  const learner = await call("POST", "/v1/admin/learners", {
    token: key,
    body: { name: "Bench Learner", email: "learner@bench.test", password: PASSWORD, email_verified: true },
  });
  await call("POST", `/v1/admin/courses/${course.id}/enrollments`, {
    token: key,
    body: { learner_ids: [learner.id] },
  });
  const learnerToken = await login(call, "learner@bench.test");
  for (const placement of placements.slice(0, COMPLETED)) {
    await call("POST", `/v1/learner/courses/${course.id}/modules/${placement}/launch`, { token: learnerToken });
    await call("POST", `/v1/learner/courses/${course.id}/modules/${placement}/complete`, { token: learnerToken });
  }
  const media = await seedMedia(baseUrl, call, key);
  const xapi = await seedXapi(baseUrl, call, key);
  let quiz = null;
  try {
    quiz = await seedQuiz(call, key);
  } catch (err) {
    // The quiz scenarios then say why they did not run; the rest of the bench goes on.
    quiz = { error: String(err.message ?? err).slice(0, 300) };
  }
  return {
    xapi,
    media,
    quiz,
    tenantId: tenant.id,
    tenantSlug: tenant.slug,
    adminKey: key,
    categoryId: category.id,
    courseId: course.id,
    placements,
    learnerId: learner.id,
  };
}

/**
 * A published course holding one quiz of 10 true/false questions (default settings: unlimited retakes), when the
 * quizzes module is in this build (null otherwise).
 */
async function seedQuiz(call, key) {
  const probe = await call("GET", "/v1/admin/questions?per_page=1", { token: key, expect: [200, 404] });
  if (!probe || !Array.isArray(probe.data)) return null;
  const questionIds = [];
  for (let i = 0; i < 10; i++) {
    const q = await call("POST", "/v1/admin/questions", {
      token: key,
      body: { type: "true_false", title: `Bench statement ${i + 1} is true`, correct_answer: i % 2 === 0 },
    });
    questionIds.push(q.id);
  }
  const module = await call("POST", "/v1/admin/modules", { token: key, body: { type: "quiz", name: "Bench quiz" } });
  await call("PUT", `/v1/admin/quizzes/${module.id}/questions`, { token: key, body: { question_ids: questionIds } });
  const course = await call("POST", "/v1/admin/courses", {
    token: key,
    body: { name: "Bench quiz course", slug: "bench-quiz", show_in_catalog: false },
  });
  const section = await call("POST", `/v1/admin/courses/${course.id}/sections`, { token: key, body: { name: "Quiz" } });
  const placement = await call("POST", `/v1/admin/courses/${course.id}/sections/${section.id}/placements`, {
    token: key,
    body: { module_id: module.id },
  });
  await call("POST", `/v1/admin/courses/${course.id}/publish`, { token: key });
  return { moduleId: module.id, courseId: course.id, placementId: placement.id };
}

/**
 * A 1 MiB PDF in the media library and a signed download URL valid for a day (path and query, origin dropped),
 * when the media module is in this build (null otherwise, or `{ error }`).
 */
async function seedMedia(baseUrl, call, key) {
  try {
    const probe = await call("GET", "/v1/admin/media/types", { token: key, expect: [200, 404] });
    if (!probe) return null;
    const bytes = Buffer.alloc(1024 * 1024, 0x20);
    bytes.write("%PDF-1.4\n", 0, "latin1");
    const res = await fetch(`${baseUrl}/v1/admin/media?name=bench.pdf`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/pdf",
        "content-length": String(bytes.length),
      },
      body: bytes,
    });
    const file = await res.json();
    if (res.status !== 201) throw new Error(`upload: ${res.status} ${JSON.stringify(file).slice(0, 300)}`);
    const signed = await call("POST", `/v1/admin/media/${file.id}/download-url`, {
      token: key,
      body: { expires_in: 86_400 },
    });
    const url = new URL(signed.url);
    return { id: file.id, path: url.pathname + url.search, size: bytes.length };
  } catch (err) {
    return { error: String(err.message ?? err).slice(0, 300) };
  }
}

export const XAPI_VERB = "http://adlnet.gov/expapi/verbs/completed";
const XAPI_TEMPLATE_EMAIL = "xapi-template@bench.test";
const XAPI_TEMPLATE_ACTIVITY = "https://bench.test/activities/template";

/** One xAPI statement (as the scenarios and the template use): actor i, activity j, the `completed` verb. */
export function xapiStatement(email, activity) {
  return {
    actor: { objectType: "Agent", name: "Bench learner", mbox: `mailto:${email}` },
    verb: { id: XAPI_VERB, display: { "en-US": "completed" } },
    object: { objectType: "Activity", id: activity, definition: { name: { "en-US": "Bench activity" } } },
    result: { completion: true, success: true, score: { scaled: 0.9 } },
  };
}

/**
 * An LRS credential (HTTP Basic) and one statement stored through /xapi/statements: the template the bulk loader
 * copies. null when the xAPI module is not in this build, `{ error }` when seeding failed.
 */
async function seedXapi(baseUrl, call, key) {
  try {
    const probe = await call("GET", "/v1/admin/lrs-credentials?per_page=1", { token: key, expect: [200, 404] });
    if (!probe || !Array.isArray(probe.data)) return null;
    const credential = await call("POST", "/v1/admin/lrs-credentials", { token: key, body: { name: "Bench" } });
    const auth = `Basic ${Buffer.from(`${credential.key}:${credential.secret}`).toString("base64")}`;
    const res = await fetch(`${baseUrl}/xapi/statements`, {
      method: "POST",
      headers: { authorization: auth, "content-type": "application/json", "x-experience-api-version": "1.0.3" },
      body: JSON.stringify(xapiStatement(XAPI_TEMPLATE_EMAIL, XAPI_TEMPLATE_ACTIVITY)),
    });
    const ids = await res.json();
    if (res.status !== 200)
      throw new Error(`POST /xapi/statements: ${res.status} ${JSON.stringify(ids).slice(0, 300)}`);
    return { auth, templateId: ids[0] };
  } catch (err) {
    return { error: String(err.message ?? err).slice(0, 300) };
  }
}

/**
 * Bulk statements: copies of the template statement (and its filter terms) for `count` statements spread over
 * 1,000 agents and 100 activities, stored before the template (stored_us counts down from it, 1 ms apart).
 */
export const XAPI = {
  table: "xapi_statements",
  sql({ tenantId, count, seeded }) {
    const t = tenantId;
    const tpl = `(SELECT stored_us FROM xapi_statements WHERE tenant_id = ${t} AND statement_id = '${seeded.xapi.templateId}')`;
    const swap = (expr) =>
      `replace(replace(${expr}, '${XAPI_TEMPLATE_EMAIL}', 'x' || (i % 1000) || '@bench.test'), '${XAPI_TEMPLATE_ACTIVITY}', 'https://bench.test/activities/' || (i % 100))`;
    const id = `printf('%08x-0000-4000-8000-%012x', i, i)`;
    const gen = `WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < ${count - 1})`;
    return `${gen}
INSERT INTO xapi_statements (tenant_id, statement_id, stored_us, verb_id, registration, ref_id, voided, statement, credential_id)
SELECT ${t}, ${id}, s.stored_us - (${count} - i) * 1000, s.verb_id, s.registration, s.ref_id, 0,
  replace(${swap("s.statement")}, s.statement_id, ${id}), s.credential_id
FROM g, xapi_statements s WHERE s.tenant_id = ${t} AND s.statement_id = '${seeded.xapi.templateId}';
${gen}
INSERT OR IGNORE INTO xapi_statement_terms (tenant_id, kind, value, stored_us)
SELECT ${t}, tt.kind, ${swap("tt.value")}, tt.stored_us - (${count} - i) * 1000
FROM g, xapi_statement_terms tt WHERE tt.tenant_id = ${t} AND tt.stored_us = ${tpl};`;
  },
};

export async function login(call, email) {
  const session = await call("POST", "/v1/learner/auth/login", {
    headers: { "x-tenant": "bench" },
    body: { email, password: PASSWORD },
  });
  return session.access_token;
}

/**
 * INSERT ... SELECT copying one template row `count` times: every column comes from the template unless
 * `overrides` gives an SQL expression for it (in terms of the generator's `i`, 0-based); `omit` columns are left
 * to their defaults (an autoincrement id).
 */
function copyRows({ table, columns, templateId, count, overrides, omit = [] }) {
  const cols = columns.filter((c) => !omit.includes(c));
  const select = cols.map((c) => (c in overrides ? `${overrides[c]}` : `tpl."${c}"`)).join(", ");
  return `WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < ${count - 1})
INSERT INTO "${table}" (${cols.map((c) => `"${c}"`).join(", ")})
SELECT ${select} FROM g, "${table}" AS tpl WHERE tpl.id = ${templateId};`;
}

/** Bulk rows for a size. Answers the id ranges the scenarios use. */
export async function seedBulk({ config, persistTo, workDir, seeded, size, xapiTable }) {
  const plan = SIZES[size];
  const tables = ["users", "courses", "enrollments", "course_categories"];
  const info = await d1Json(
    config,
    persistTo,
    [
      ...tables.map((t) => `PRAGMA table_info("${t}")`),
      "SELECT max(id) AS n FROM users",
      "SELECT max(id) AS n FROM courses",
      `SELECT id FROM enrollments WHERE tenant_id = ${seeded.tenantId} AND user_id = ${seeded.learnerId}`,
    ].join("; "),
  );
  const columns = Object.fromEntries(tables.map((t, i) => [t, info[i].results.map((r) => r.name)]));
  const userBase = info[tables.length].results[0].n + 1;
  const courseBase = info[tables.length + 1].results[0].n + 1;
  const templateEnrollment = info[tables.length + 2].results[0].id;
  const t = seeded.tenantId;
  const bulkCourses = plan.courses - 1; // plus the outline course
  const bulkLearners = plan.enrollments / ENROLLMENTS_PER_LEARNER;
  const learners = POOL + bulkLearners;
  const step = Math.floor(bulkCourses / ENROLLMENTS_PER_LEARNER);
  const ts = (seconds) => `strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '-' || (${seconds}) || ' seconds')`;

  const sql = [
    copyRows({
      table: "users",
      columns: columns.users,
      templateId: seeded.learnerId,
      count: learners,
      overrides: {
        id: `${userBase} + i`,
        email: `'l' || i || '@bench.test'`,
        name: `'Bench Learner ' || i`,
        external_id: "NULL",
        last_login_at: "NULL",
        created_at: ts("i"),
        updated_at: ts("i"),
      },
    }),
    copyRows({
      table: "courses",
      columns: columns.courses,
      templateId: seeded.courseId,
      count: bulkCourses,
      overrides: {
        id: `${courseBase} + i`,
        slug: `'bench-' || i`,
        name: `'Bench course ' || printf('%06d', i)`,
        published_at: ts("i * 60"),
        created_at: ts("i * 60"),
        updated_at: ts("i * 60"),
      },
    }),
    `INSERT INTO course_categories (${columns.course_categories.join(", ")})
SELECT ${columns.course_categories
      .map((c) =>
        c === "course_id" ? "c.id" : c === "tenant_id" ? `${t}` : c === "category_id" ? seeded.categoryId : "0",
      )
      .join(", ")}
FROM courses c WHERE c.tenant_id = ${t} AND c.id >= ${courseBase};`,
    // Bulk learners POOL.. have ENROLLMENTS_PER_LEARNER enrollments each, spread over the bulk courses.
    copyRows({
      table: "enrollments",
      columns: columns.enrollments,
      templateId: templateEnrollment,
      count: plan.enrollments,
      omit: ["id"],
      overrides: {
        course_id: `${courseBase} + ((i / ${ENROLLMENTS_PER_LEARNER}) + (i % ${ENROLLMENTS_PER_LEARNER}) * ${step}) % ${bulkCourses}`,
        user_id: `${userBase + POOL} + i / ${ENROLLMENTS_PER_LEARNER}`,
        ...resetEnrollment(ts),
      },
    }),
    // The bench learner: the outline course (made through the API) and MY_COURSES - 1 bulk courses.
    copyRows({
      table: "enrollments",
      columns: columns.enrollments,
      templateId: templateEnrollment,
      count: MY_COURSES - 1,
      omit: ["id"],
      overrides: { course_id: `${courseBase} + i`, user_id: `${seeded.learnerId}`, ...resetEnrollment(ts) },
    }),
    // Public catalog answers are cached under the tenant's catalog_version: move readers past anything cached.
    `UPDATE tenants SET catalog_version = catalog_version + 1 WHERE id = ${t};`,
  ];
  if (xapiTable) sql.push(xapiTable.sql({ tenantId: t, count: plan.xapi, userBase, learners, seeded }));
  const file = join(workDir, `bulk-${size}.sql`);
  writeFileSync(file, sql.join("\n"));
  const started = performance.now();
  await d1File(config, persistTo, file);
  return {
    seconds: Math.round((performance.now() - started) / 100) / 10,
    courses: plan.courses,
    learners: learners + 1,
    enrollments: plan.enrollments + MY_COURSES,
    xapi_statements: xapiTable ? plan.xapi : 0,
    courseBase,
    bulkCourses,
    userBase,
  };
}

function resetEnrollment(ts) {
  return {
    status: "'active'",
    source: "'admin'",
    path_enrollment_id: "NULL",
    enrolled_at: ts("i"),
    started_at: "NULL",
    expires_at: "NULL",
    revoked_at: "NULL",
    completed_at: "NULL",
    last_accessed_at: "NULL",
    resume_placement_id: "NULL",
    required_total: "0",
    required_done: "0",
    progress_percent: "0",
    grade: "NULL",
    updated_at: ts("i"),
  };
}
