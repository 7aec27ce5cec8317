/**
 * Reusable content modules (`/v1/admin/modules`): every type with its default and full settings, settings
 * validation per type, slugs, filters, lookup, types, clone, quick edit, deletes guarded by course placements,
 * events, and the helpers the courses module uses (moduleCopyStatements, assertModulesExist).
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { assertModulesExist, moduleCopyStatements } from "../src/modules/content-modules/service";
import type { TenantContext } from "../src/platform/auth";
import { createDb } from "../src/platform/db";
import { ApiError } from "../src/platform/errors";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, keyWithout, lastEvent, type TestTenant, unique } from "./helpers/factories";

type Module = {
  id: number;
  type: string;
  name: string;
  slug: string;
  description: string | null;
  estimated_minutes: number | null;
  points: number;
  settings: Record<string, unknown>;
  category_ids: number[];
  used_in_courses: { id: number; name: string }[];
  created_at: string;
  updated_at: string;
};

const DEFAULTS: Record<string, Record<string, unknown>> = {
  text: { body: "", format: "html", track_completion: true },
  video: {
    url: null,
    provider: "other",
    media_id: null,
    cover_url: null,
    duration_seconds: null,
    track_completion: true,
    completion_threshold_percent: 90,
    disable_forward_seek: false,
  },
  audio: {
    url: null,
    media_id: null,
    duration_seconds: null,
    transcript: null,
    allow_download: false,
    track_completion: true,
    completion_threshold_percent: 90,
  },
  pdf: {
    url: null,
    media_id: null,
    allow_download: false,
    default_zoom: "auto",
    show_sidebar: false,
    track_completion: true,
  },
  powerpoint: { url: null, media_id: null, viewer: "microsoft_office", track_completion: true },
  embed: { url: null, html: null, height: 600, allow_fullscreen: true, track_completion: false },
  assignment: {
    instructions: "",
    submission_type: "both",
    allowed_file_types: [],
    max_file_mb: 10,
    max_files: 5,
    total_points: 100,
    pass_points: null,
    due_at: null,
    allow_late_submissions: true,
    allow_resubmission: false,
    max_submissions: 0,
  },
  quiz: {
    selection: "static",
    question_rules: [],
    pass_percent: 70,
    time_limit_hours: 0,
    time_limit_minutes: 0,
    allow_retakes: true,
    retakes_allowed: 0,
    shuffle_questions: false,
    shuffle_answers: false,
    force_sequential: false,
    real_time_grading: false,
    show_correct_answers: "not_till_retake_allowed",
    available_from: null,
    available_until: null,
  },
  survey: {
    questions: [],
    submit_button_text: "Submit",
    anonymous: false,
    allow_multiple_responses: false,
    track_completion: true,
  },
  scorm: { package_id: null, launch_in_new_window: false, track_completion: true },
  discussion: { prompt: "", min_posts: 1, min_replies: 0, graded: false, total_points: 0 },
  flashcards: { cards: [], orientation: "landscape", shuffle: false, track_completion: true },
  webinar: {
    starts_at: null,
    ends_at: null,
    timezone: "UTC",
    provider: "other",
    join_url: null,
    recording_url: null,
    attendance_threshold_percent: 80,
  },
};

/** A complete settings object per type, every field away from its default. */
const FULL: Record<string, Record<string, unknown>> = {
  text: { body: "# Welcome\n\nRead this first.", format: "markdown", track_completion: false },
  video: {
    url: "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    provider: "youtube",
    media_id: null,
    cover_url: "https://cdn.example.com/cover.jpg",
    duration_seconds: 212,
    track_completion: false,
    completion_threshold_percent: 75,
    disable_forward_seek: true,
  },
  audio: {
    url: null,
    media_id: 44,
    duration_seconds: 1800,
    transcript: "Hello and welcome.",
    allow_download: true,
    track_completion: false,
    completion_threshold_percent: 50,
  },
  pdf: {
    url: "https://cdn.example.com/handbook.pdf",
    media_id: null,
    allow_download: true,
    default_zoom: "75%",
    show_sidebar: true,
    track_completion: false,
  },
  powerpoint: {
    url: "https://cdn.example.com/deck.pptx",
    media_id: null,
    viewer: "google_viewer",
    track_completion: false,
  },
  embed: {
    url: null,
    html: "<iframe src='https://example.com'></iframe>",
    height: 900,
    allow_fullscreen: false,
    track_completion: true,
  },
  assignment: {
    instructions: "<p>Write an essay.</p>",
    submission_type: "file",
    allowed_file_types: ["pdf", "docx"],
    max_file_mb: 25,
    max_files: 3,
    total_points: 40,
    pass_points: 20,
    due_at: "2027-01-15T00:00:00Z",
    allow_late_submissions: false,
    allow_resubmission: true,
    max_submissions: 2,
  },
  quiz: {
    selection: "dynamic",
    question_rules: [{ category_id: 9, count: 5 }],
    pass_percent: 80,
    time_limit_hours: 1,
    time_limit_minutes: 30,
    allow_retakes: false,
    retakes_allowed: 3,
    shuffle_questions: true,
    shuffle_answers: true,
    force_sequential: true,
    real_time_grading: true,
    show_correct_answers: "never",
    available_from: "2027-01-01T00:00:00Z",
    available_until: "2027-02-01T00:00:00Z",
  },
  survey: {
    questions: [
      {
        id: "q1",
        type: "rating",
        prompt: "How clear?",
        required: true,
        options: [],
        scale_min: 1,
        scale_max: 5,
        max_length: 5000,
      },
    ],
    submit_button_text: "Send",
    anonymous: true,
    allow_multiple_responses: true,
    track_completion: false,
  },
  scorm: { package_id: 5, launch_in_new_window: true, track_completion: false },
  discussion: { prompt: "<p>What surprised you?</p>", min_posts: 3, min_replies: 2, graded: true, total_points: 20 },
  flashcards: {
    cards: [
      {
        id: "c-1",
        front: "Mitochondria",
        back: "The powerhouse of the cell",
        front_media_id: null,
        back_media_id: null,
      },
      { id: "c-2", front: "Ribosome", back: "Makes proteins", front_media_id: null, back_media_id: null },
    ],
    orientation: "portrait",
    shuffle: true,
    track_completion: false,
  },
  webinar: {
    starts_at: "2027-03-01T15:00:00Z",
    ends_at: "2027-03-01T16:30:00Z",
    timezone: "Europe/Paris",
    provider: "zoom",
    join_url: "https://zoom.us/j/123456789",
    recording_url: "https://cdn.example.com/recording.mp4",
    attendance_threshold_percent: 60,
  },
};

const TYPES = Object.keys(DEFAULTS);

async function createModule(t: TestTenant, fields: Record<string, unknown> = {}): Promise<Module> {
  const res = await api("POST", "/v1/admin/modules", {
    token: t.key,
    body: { type: "text", name: unique("Module"), ...fields },
  });
  expectStatus(res, 201);
  return res.body;
}

async function getModule(t: TestTenant, id: number) {
  const res = await api("GET", `/v1/admin/modules/${id}`, { token: t.key });
  expectStatus(res, 200);
  return res.body as Module;
}

async function createCategory(t: TestTenant, type = "module") {
  const res = await api("POST", "/v1/admin/categories", { token: t.key, body: { name: unique("Cat"), type } });
  expectStatus(res, 201);
  return res.body.id as number;
}

async function createCourse(t: TestTenant) {
  const res = await api("POST", "/v1/admin/courses", { token: t.key, body: { name: unique("Course") } });
  expectStatus(res, 201);
  return res.body as { id: number; name: string };
}

/** Places a module in a course (a section of its own) straight in D1. */
async function place(t: TestTenant, courseId: number, moduleId: number) {
  const now = new Date().toISOString();
  const section = await env.DB.prepare(
    "INSERT INTO course_sections (tenant_id, course_id, name, position, created_at, updated_at) VALUES (?, ?, 'Part', 0, ?, ?) RETURNING id",
  )
    .bind(t.id, courseId, now, now)
    .first<{ id: number }>();
  await env.DB.prepare(
    "INSERT INTO course_placements (tenant_id, course_id, section_id, module_id, position, created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?)",
  )
    .bind(t.id, courseId, section?.id, moduleId, now, now)
    .run();
}

const courseVersion = async (id: number) =>
  (await env.DB.prepare("SELECT version FROM courses WHERE id = ?").bind(id).first<{ version: number }>())?.version;
const catalogVersion = async (tenantId: number) =>
  (await env.DB.prepare("SELECT catalog_version AS v FROM tenants WHERE id = ?").bind(tenantId).first<{ v: number }>())
    ?.v;
const placements = async (moduleId: number) =>
  (
    await env.DB.prepare("SELECT count(*) AS n FROM course_placements WHERE module_id = ?")
      .bind(moduleId)
      .first<{ n: number }>()
  )?.n;
const moduleCount = async (tenantId: number) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM modules WHERE tenant_id = ?").bind(tenantId).first<{ n: number }>())
    ?.n;

const paths = (problem: { errors?: { path: string }[] }) => (problem.errors ?? []).map((e) => e.path);

// ---- create: every type ---------------------------------------------------------------------------------------

describe("creating modules of every type", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("creates each type from {type, name} alone, with the type's default settings", async () => {
    for (const type of TYPES) {
      const name = unique(`Blank ${type}`);
      const res = await api("POST", "/v1/admin/modules", { token: t.key, body: { type, name } });
      expectStatus(res, 201);
      expect(res.headers.get("location")).toBe(`/v1/admin/modules/${res.body.id}`);
      expect(res.body).toMatchObject({
        type,
        name,
        slug: name.toLowerCase().replace(/[^a-z0-9]+/g, "-"),
        description: null,
        estimated_minutes: null,
        points: 0,
        category_ids: [],
        used_in_courses: [],
      });
      expect(res.body.settings, type).toEqual(DEFAULTS[type]);
      expect(await getModule(t, res.body.id)).toEqual(res.body);
    }
  });

  it("creates each type with every setting given, and stores them as sent", async () => {
    const category = await createCategory(t);
    for (const type of TYPES) {
      const res = await api("POST", "/v1/admin/modules", {
        token: t.key,
        body: {
          type,
          name: unique(`Full ${type}`),
          description: "About it",
          estimated_minutes: 12,
          points: 5,
          category_ids: [category],
          settings: FULL[type],
        },
      });
      expectStatus(res, 201);
      expect(res.body.settings, type).toEqual(FULL[type]);
      expect(res.body).toMatchObject({
        description: "About it",
        estimated_minutes: 12,
        points: 5,
        category_ids: [category],
      });
      expect((await getModule(t, res.body.id)).settings).toEqual(FULL[type]);
    }
  });

  it("fills the omitted settings of a partial settings object with defaults", async () => {
    const module = await createModule(t, {
      type: "video",
      settings: { url: "https://vimeo.com/1", provider: "vimeo" },
    });
    expect(module.settings).toEqual({ ...DEFAULTS.video, url: "https://vimeo.com/1", provider: "vimeo" });
  });

  it("writes module.created with the new id", async () => {
    const module = await createModule(t, { type: "quiz" });
    expect(await lastEvent(t.id, "module.created")).toEqual({
      id: module.id,
      type: "quiz",
      slug: module.slug,
      name: module.name,
    });
  });

  it("refuses settings of another type with a 422 naming the field, and writes nothing", async () => {
    const before = await moduleCount(t.id);
    const cases: [Record<string, unknown>, string][] = [
      [{ type: "video", settings: { cards: [{ front: "a", back: "b" }] } }, "settings.cards"],
      [{ type: "text", settings: { url: "https://example.com" } }, "settings.url"],
      [{ type: "video", settings: { provider: "dailymotion" } }, "settings.provider"],
      [{ type: "video", settings: { url: "ftp://example.com/v.mp4" } }, "settings.url"],
      [{ type: "pdf", settings: { url: "https://example.com/a.pdf", media_id: 3 } }, "settings.media_id"],
      [{ type: "embed", settings: { url: "https://example.com", html: "<b>x</b>" } }, "settings.html"],
      [
        { type: "webinar", settings: { starts_at: "2027-01-02T10:00:00Z", ends_at: "2027-01-02T09:00:00Z" } },
        "settings.ends_at",
      ],
      [{ type: "webinar", settings: { ends_at: "2027-01-02T09:00:00Z" } }, "settings.starts_at"],
      [{ type: "webinar", settings: { timezone: "Mars/Olympus" } }, "settings.timezone"],
      [{ type: "flashcards", settings: { cards: [{ front: "", back: "b" }] } }, "settings.cards.0.front"],
      [
        { type: "flashcards", settings: { cards: Array.from({ length: 501 }, () => ({ front: "a", back: "b" })) } },
        "settings.cards",
      ],
      [{ type: "quiz", settings: { pass_percent: 101 } }, "settings.pass_percent"],
      [{ type: "assignment", settings: { submission_type: "video" } }, "settings.submission_type"],
      [{ type: "assignment", settings: { allowed_file_types: [".PDF"] } }, "settings.allowed_file_types.0"],
      [{ type: "scorm", settings: { package_id: "abc" } }, "settings.package_id"],
      [{ type: "discussion", settings: { min_posts: -1 } }, "settings.min_posts"],
      [{ type: "text", settings: "hello" }, "settings"],
    ];
    for (const [body, path] of cases) {
      const name = unique("Refused");
      const res = await api("POST", "/v1/admin/modules", { token: t.key, body: { name, ...body } });
      const problem = expectProblem(res, 422);
      expect(paths(problem), JSON.stringify(body).slice(0, 100)).toContain(path);
      const found = await api("GET", `/v1/admin/modules?q=${encodeURIComponent(name)}`, { token: t.key });
      expect(found.body.meta.total).toBe(0);
    }
    expect(await moduleCount(t.id)).toBe(before);
  });

  it("refuses an unknown or missing type with a 422 naming `type`", async () => {
    for (const body of [{ type: "hologram", name: "X" }, { name: "X" }, { type: 3, name: "X" }]) {
      const problem = expectProblem(await api("POST", "/v1/admin/modules", { token: t.key, body }), 422);
      expect(paths(problem)).toEqual(["type"]);
    }
  });

  it("refuses unknown fields, a blank name and categories of another type", async () => {
    const courseCategory = await createCategory(t, "course");
    const cases: [Record<string, unknown>, string][] = [
      [{ type: "text", name: "X", tenant_id: 1 }, "tenant_id"],
      [{ type: "text", name: "  " }, "name"],
      [{ type: "text", name: "X", points: -1 }, "points"],
      [{ type: "text", name: "X", slug: "Not A Slug" }, "slug"],
      [{ type: "text", name: "X", category_ids: [courseCategory] }, "category_ids"],
      [{ type: "text", name: "X", category_ids: [999_999_999] }, "category_ids"],
    ];
    const before = await moduleCount(t.id);
    for (const [body, path] of cases) {
      const problem = expectProblem(await api("POST", "/v1/admin/modules", { token: t.key, body }), 422);
      expect(paths(problem)).toContain(path);
    }
    expect(await moduleCount(t.id)).toBe(before);
  });

  it("answers 409 to an explicit slug in use and picks the first free suffix for a derived one", async () => {
    const name = unique("Same Name");
    const first = await createModule(t, { name });
    const second = await createModule(t, { name, type: "pdf" });
    const third = await createModule(t, { name });
    expect(second.slug).toBe(`${first.slug}-2`);
    expect(third.slug).toBe(`${first.slug}-3`);
    const clash = expectProblem(
      await api("POST", "/v1/admin/modules", { token: t.key, body: { type: "text", name: "Other", slug: first.slug } }),
      409,
    );
    expect(paths(clash)).toEqual(["slug"]);
    // Another academy may use the same slug.
    const other = await createTenant();
    expect((await createModule(other, { name, slug: first.slug })).slug).toBe(first.slug);
  });
});

// ---- update -------------------------------------------------------------------------------------------------------

describe("updating a module", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("changes the given fields, replaces categories and writes module.updated", async () => {
    const [a, b] = [await createCategory(t), await createCategory(t)];
    const module = await createModule(t, { type: "video", category_ids: [a], settings: FULL.video });
    const res = await api("PATCH", `/v1/admin/modules/${module.id}`, {
      token: t.key,
      body: {
        name: "Renamed",
        description: "New",
        estimated_minutes: 3,
        points: 10,
        category_ids: [b],
        slug: unique("renamed"),
      },
    });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({
      name: "Renamed",
      description: "New",
      estimated_minutes: 3,
      points: 10,
      category_ids: [b],
    });
    expect(res.body.settings).toEqual(FULL.video);
    expect(res.body.updated_at >= module.updated_at).toBe(true);
    expect(await getModule(t, module.id)).toEqual(res.body);
    expect(await lastEvent(t.id, "module.updated")).toMatchObject({ id: module.id, type: "video" });
  });

  it("replaces settings, validated against the module's type", async () => {
    const module = await createModule(t, { type: "video", settings: FULL.video });
    const res = await api("PATCH", `/v1/admin/modules/${module.id}`, {
      token: t.key,
      body: { settings: { url: "https://vimeo.com/2", provider: "vimeo" } },
    });
    expectStatus(res, 200);
    expect(res.body.settings).toEqual({ ...DEFAULTS.video, url: "https://vimeo.com/2", provider: "vimeo" });

    const before = await getModule(t, module.id);
    const wrong = expectProblem(
      await api("PATCH", `/v1/admin/modules/${module.id}`, {
        token: t.key,
        body: { name: "Should not stick", settings: { body: "text settings", format: "html" } },
      }),
      422,
    );
    expect(paths(wrong)).toEqual(["settings.body", "settings.format"]);
    expect(await getModule(t, module.id)).toEqual(before);
  });

  it("refuses to change the type (422 naming `type`) but accepts the same type", async () => {
    const module = await createModule(t, { type: "pdf" });
    const problem = expectProblem(
      await api("PATCH", `/v1/admin/modules/${module.id}`, { token: t.key, body: { type: "video", name: "Nope" } }),
      422,
    );
    expect(paths(problem)).toEqual(["type"]);
    expect((await getModule(t, module.id)).name).toBe(module.name);
    const same = await api("PATCH", `/v1/admin/modules/${module.id}`, {
      token: t.key,
      body: { type: "pdf", name: "Ok" },
    });
    expectStatus(same, 200);
    expect(same.body).toMatchObject({ type: "pdf", name: "Ok" });
  });

  it("answers 409 to a slug another module has, and 422 to bad values", async () => {
    const [a, b] = [await createModule(t), await createModule(t)];
    expect(
      paths(
        expectProblem(await api("PATCH", `/v1/admin/modules/${b.id}`, { token: t.key, body: { slug: a.slug } }), 409),
      ),
    ).toEqual(["slug"]);
    // Its own slug is no conflict.
    expectStatus(await api("PATCH", `/v1/admin/modules/${b.id}`, { token: t.key, body: { slug: b.slug } }), 200);
    for (const [body, path] of [
      [{ name: "" }, "name"],
      [{ points: 1.5 }, "points"],
      [{ category_ids: [999_999_999] }, "category_ids"],
      [{ color: "red" }, "color"],
    ] as const) {
      const problem = expectProblem(await api("PATCH", `/v1/admin/modules/${b.id}`, { token: t.key, body }), 422);
      expect(paths(problem)).toContain(path);
    }
    expect(await getModule(t, b.id)).toMatchObject({ name: b.name, points: 0, category_ids: [] });
  });

  it("bumps the version of the courses using it and the catalog version", async () => {
    const course = await createCourse(t);
    const unused = await createCourse(t);
    const module = await createModule(t);
    await place(t, course.id, module.id);
    const [v, u, catalog] = [
      await courseVersion(course.id),
      await courseVersion(unused.id),
      await catalogVersion(t.id),
    ];
    expectStatus(await api("PATCH", `/v1/admin/modules/${module.id}`, { token: t.key, body: { name: "Moved" } }), 200);
    expect(await courseVersion(course.id)).toBe((v as number) + 1);
    expect(await courseVersion(unused.id)).toBe(u);
    expect(await catalogVersion(t.id)).toBe((catalog as number) + 1);
    expect((await getModule(t, module.id)).used_in_courses).toEqual([{ id: course.id, name: course.name }]);
  });
});

// ---- lists, lookup, types -------------------------------------------------------------------------------------

describe("listing and looking up modules", () => {
  let t: TestTenant;
  let category: number;
  let course: { id: number; name: string };
  const made: Module[] = [];

  beforeAll(async () => {
    t = await createTenant();
    category = await createCategory(t);
    course = await createCourse(t);
    const specs = [
      { type: "video", name: "Charlie video" },
      { type: "text", name: "Alpha text", category_ids: [category] },
      { type: "video", name: "Bravo video", category_ids: [category] },
      { type: "quiz", name: "Delta quiz" },
      { type: "text", name: "Echo text" },
    ];
    for (const [i, spec] of specs.entries()) {
      const module = await createModule(t, spec);
      // Distinct creation times, oldest first.
      await env.DB.prepare("UPDATE modules SET created_at = ? WHERE id = ?")
        .bind(`2026-01-0${i + 1}T00:00:00.000Z`, module.id)
        .run();
      made.push(module);
    }
    await place(t, course.id, made[0].id);
    await place(t, course.id, made[3].id);
  });

  const names = async (query: string) => {
    const res = await api("GET", `/v1/admin/modules${query}`, { token: t.key });
    expectStatus(res, 200);
    return (res.body.data as Module[]).map((m) => m.name);
  };

  it("lists newest first by default, with categories and the courses using each module", async () => {
    const res = await api("GET", "/v1/admin/modules", { token: t.key });
    expectStatus(res, 200);
    expect(res.body.data.map((m: Module) => m.name)).toEqual([
      "Echo text",
      "Delta quiz",
      "Bravo video",
      "Alpha text",
      "Charlie video",
    ]);
    expect(res.body.meta).toEqual({ page: 1, per_page: 15, total: 5, last_page: 1 });
    const charlie = res.body.data.find((m: Module) => m.name === "Charlie video");
    expect(charlie.used_in_courses).toEqual([{ id: course.id, name: course.name }]);
    expect(res.body.data.find((m: Module) => m.name === "Bravo video").category_ids).toEqual([category]);
  });

  it("filters by type, category, course and name", async () => {
    expect(await names("?type=video&sort=name")).toEqual(["Bravo video", "Charlie video"]);
    expect(await names(`?category_id=${category}&sort=name`)).toEqual(["Alpha text", "Bravo video"]);
    expect(await names(`?course_id=${course.id}&sort=name`)).toEqual(["Charlie video", "Delta quiz"]);
    expect(await names(`?course_id=${course.id}&type=quiz`)).toEqual(["Delta quiz"]);
    expect(await names("?q=TEXT&sort=-name")).toEqual(["Echo text", "Alpha text"]);
    expect(await names("?course_id=999999999")).toEqual([]);
  });

  it("sorts by name, type and dates, and paginates", async () => {
    expect(await names("?sort=name")).toEqual([
      "Alpha text",
      "Bravo video",
      "Charlie video",
      "Delta quiz",
      "Echo text",
    ]);
    expect(await names("?sort=type")).toEqual([
      "Delta quiz",
      "Alpha text",
      "Echo text",
      "Charlie video",
      "Bravo video",
    ]);
    expect(await names("?sort=created_at")).toEqual([
      "Charlie video",
      "Alpha text",
      "Bravo video",
      "Delta quiz",
      "Echo text",
    ]);
    const page = await api("GET", "/v1/admin/modules?sort=name&per_page=2&page=2", { token: t.key });
    expect(page.body.data.map((m: Module) => m.name)).toEqual(["Charlie video", "Delta quiz"]);
    expect(page.body.meta).toEqual({ page: 2, per_page: 2, total: 5, last_page: 3 });
  });

  it("refuses bad list parameters with a 422 naming them", async () => {
    for (const [query, path] of [
      ["?type=hologram", "query.type"],
      ["?sort=points", "query.sort"],
      ["?per_page=101", "query.per_page"],
      ["?course_id=abc", "query.course_id"],
    ]) {
      const problem = expectProblem(await api("GET", `/v1/admin/modules${query}`, { token: t.key }), 422);
      expect(paths(problem)).toContain(path);
    }
  });

  it("uses the indexes for the list queries (no full scan of modules)", async () => {
    const plans = [
      "SELECT id FROM modules WHERE tenant_id = 1 ORDER BY created_at DESC, id LIMIT 15",
      "SELECT id FROM modules WHERE tenant_id = 1 AND type = 'video' ORDER BY created_at DESC, id LIMIT 15",
      "SELECT id FROM modules WHERE tenant_id = 1 ORDER BY name, id LIMIT 15",
      "SELECT id FROM modules WHERE tenant_id = 1 ORDER BY updated_at, id LIMIT 15",
      "SELECT id FROM modules WHERE tenant_id = 1 ORDER BY type, created_at, id LIMIT 15",
      "SELECT id FROM modules WHERE tenant_id = 1 AND id IN (SELECT module_id FROM course_placements WHERE tenant_id = 1 AND course_id = 2) ORDER BY created_at DESC",
      "SELECT id FROM modules WHERE tenant_id = 1 AND id IN (SELECT module_id FROM module_categories WHERE tenant_id = 1 AND category_id = 2) ORDER BY created_at DESC",
    ];
    for (const query of plans) {
      const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${query}`).all<{ detail: string }>();
      const details = results.map((r) => r.detail).join(" | ");
      expect(details, query).not.toMatch(/SCAN (modules|course_placements|module_categories)(?! USING)/);
    }
  });

  it("looks up modules by name, optionally of one type", async () => {
    const res = await api("GET", "/v1/admin/modules/lookup?q=video", { token: t.key });
    expectStatus(res, 200);
    expect(res.body).toEqual([
      { value: made[2].id, label: "Bravo video", type: "video" },
      { value: made[0].id, label: "Charlie video", type: "video" },
    ]);
    const typed = await api("GET", "/v1/admin/modules/lookup?type=text&limit=1", { token: t.key });
    expect(typed.body).toEqual([{ value: made[1].id, label: "Alpha text", type: "text" }]);
    expect(paths(expectProblem(await api("GET", "/v1/admin/modules/lookup?limit=0", { token: t.key }), 422))).toContain(
      "query.limit",
    );
  });

  it("lists the module types with labels and completion rules", async () => {
    const res = await api("GET", "/v1/admin/modules/types", { token: t.key });
    expectStatus(res, 200);
    expect(res.body.map((r: { value: string }) => r.value)).toEqual(TYPES);
    expect(res.body.find((r: { value: string }) => r.value === "video")).toEqual({
      value: "video",
      label: "Video",
      description: expect.stringContaining("video"),
      completion: expect.stringContaining("completion_threshold_percent"),
    });
    for (const row of res.body) {
      expect(row.label.length).toBeGreaterThan(1);
      expect(row.completion.length).toBeGreaterThan(10);
    }
  });
});

// ---- clone --------------------------------------------------------------------------------------------------------

describe("cloning a module", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("copies type, settings and categories under `<name> (copy)` with a new slug, and writes module.cloned", async () => {
    const category = await createCategory(t);
    const course = await createCourse(t);
    const source = await createModule(t, {
      type: "flashcards",
      name: unique("Deck"),
      description: "Cards",
      points: 3,
      category_ids: [category],
      settings: FULL.flashcards,
    });
    await place(t, course.id, source.id);
    const res = await api("POST", `/v1/admin/modules/${source.id}/clone`, { token: t.key });
    expectStatus(res, 201);
    expect(res.headers.get("location")).toBe(`/v1/admin/modules/${res.body.id}`);
    expect(res.body).toMatchObject({
      type: "flashcards",
      name: `${source.name} (copy)`,
      slug: `${source.slug}-copy`,
      description: "Cards",
      points: 3,
      category_ids: [category],
      used_in_courses: [],
      settings: FULL.flashcards,
    });
    expect(res.body.id).not.toBe(source.id);
    expect(await getModule(t, res.body.id)).toEqual(res.body);
    expect(await lastEvent(t.id, "module.cloned")).toMatchObject({ id: res.body.id, source_id: source.id });
    // A second copy gets the next free slug.
    const again = await api("POST", `/v1/admin/modules/${source.id}/clone`, { token: t.key, body: {} });
    expect(again.body.slug).toBe(`${source.slug}-copy-2`);
  });

  it("takes a name, and refuses a bad one with nothing written", async () => {
    const source = await createModule(t, { type: "audio" });
    const named = await api("POST", `/v1/admin/modules/${source.id}/clone`, {
      token: t.key,
      body: { name: "Episode 2" },
    });
    expectStatus(named, 201);
    expect(named.body).toMatchObject({ name: "Episode 2", slug: "episode-2", type: "audio" });
    const before = await moduleCount(t.id);
    for (const body of [{ name: "" }, { name: "X", settings: {} }]) {
      expectProblem(await api("POST", `/v1/admin/modules/${source.id}/clone`, { token: t.key, body }), 422);
    }
    expect(await moduleCount(t.id)).toBe(before);
  });
});

// ---- quick edit ---------------------------------------------------------------------------------------------------

describe("quick edit", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("edits many modules in one call and answers them", async () => {
    const category = await createCategory(t);
    const course = await createCourse(t);
    const [a, b, c] = [
      await createModule(t, { category_ids: [category] }),
      await createModule(t),
      await createModule(t),
    ];
    await place(t, course.id, b.id);
    const version = await courseVersion(course.id);
    const res = await api("PATCH", "/v1/admin/modules", {
      token: t.key,
      body: {
        items: [
          { id: a.id, name: "A2", points: 7, category_ids: [] },
          { id: b.id, description: "B described", estimated_minutes: 9 },
          { id: c.id, estimated_minutes: null, category_ids: [category] },
        ],
      },
    });
    expectStatus(res, 200);
    expect(res.body.data.map((m: Module) => m.id)).toEqual([a.id, b.id, c.id]);
    expect(await getModule(t, a.id)).toMatchObject({ name: "A2", points: 7, category_ids: [], description: null });
    expect(await getModule(t, b.id)).toMatchObject({ name: b.name, description: "B described", estimated_minutes: 9 });
    expect(await getModule(t, c.id)).toMatchObject({ name: c.name, estimated_minutes: null, category_ids: [category] });
    expect(res.body.data[1]).toEqual(await getModule(t, b.id));
    expect(await courseVersion(course.id)).toBe((version as number) + 1);
    expect(await lastEvent(t.id, "module.updated")).toMatchObject({
      id: c.id,
      changed: ["estimated_minutes", "category_ids"],
    });
  });

  it("edits and then bulk-deletes 100 modules (statements split under D1's parameter limit)", async () => {
    const tenant = await createTenant();
    const now = new Date().toISOString();
    await env.DB.batch(
      Array.from({ length: 100 }, (_, i) =>
        env.DB.prepare(
          "INSERT INTO modules (tenant_id, type, name, slug, settings, created_at, updated_at) VALUES (?, 'text', ?, ?, '{}', ?, ?)",
        ).bind(tenant.id, `Bulk ${i}`, `bulk-${i}`, now, now),
      ),
    );
    const category = await createCategory(tenant);
    const ids = (
      await env.DB.prepare("SELECT id FROM modules WHERE tenant_id = ? ORDER BY id")
        .bind(tenant.id)
        .all<{ id: number }>()
    ).results.map((r) => r.id);
    const res = await api("PATCH", "/v1/admin/modules", {
      token: tenant.key,
      body: { items: ids.map((id, i) => ({ id, name: `Edited ${i}`, points: i, category_ids: [category] })) },
    });
    expectStatus(res, 200);
    expect(res.body.data).toHaveLength(100);
    const list = await api("GET", `/v1/admin/modules?per_page=100&sort=name&category_id=${category}`, {
      token: tenant.key,
    });
    expect(list.body.meta.total).toBe(100);
    expect(list.body.data.every((m: Module) => m.name === `Edited ${m.points}` && m.settings.format === "html")).toBe(
      true,
    );
    const deleted = await api("POST", "/v1/admin/modules/bulk-delete", { token: tenant.key, body: { ids } });
    expect(deleted.body).toEqual({ deleted: ids });
    expect(await moduleCount(tenant.id)).toBe(0);
  });

  it("is atomic: one unknown id, a repeated id or a bad category changes nothing", async () => {
    const other = await createTenant();
    const foreign = await createModule(other);
    const [a, b] = [await createModule(t), await createModule(t)];
    const cases: [unknown[], string][] = [
      [
        [
          { id: a.id, name: "Changed" },
          { id: 999_999_999, name: "Ghost" },
        ],
        "items.1.id",
      ],
      [
        [
          { id: a.id, name: "Changed" },
          { id: foreign.id, name: "Theirs" },
        ],
        "items.1.id",
      ],
      [
        [
          { id: a.id, name: "Changed" },
          { id: a.id, points: 3 },
        ],
        "items.1.id",
      ],
      [
        [
          { id: b.id, name: "Changed" },
          { id: a.id, category_ids: [999_999_999] },
        ],
        "items.1.category_ids",
      ],
      [[{ id: a.id, name: "" }], "items.0.name"],
      [[{ id: a.id, type: "video" }], "items.0.type"],
      [[], "items"],
      [Array.from({ length: 101 }, () => ({ id: a.id })), "items"],
    ];
    for (const [items, path] of cases) {
      const problem = expectProblem(await api("PATCH", "/v1/admin/modules", { token: t.key, body: { items } }), 422);
      expect(paths(problem)).toContain(path);
    }
    expect(await getModule(t, a.id)).toMatchObject({ name: a.name, points: 0, updated_at: a.updated_at });
    expect(await getModule(t, b.id)).toMatchObject({ name: b.name, updated_at: b.updated_at });
    expect((await getModule(other, foreign.id)).name).toBe(foreign.name);
  });
});

// ---- delete -------------------------------------------------------------------------------------------------------

describe("deleting modules", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("deletes an unused module and writes module.deleted", async () => {
    const module = await createModule(t);
    expectStatus(await api("DELETE", `/v1/admin/modules/${module.id}`, { token: t.key }), 204);
    expectProblem(await api("GET", `/v1/admin/modules/${module.id}`, { token: t.key }), 404);
    expect(await lastEvent(t.id, "module.deleted")).toMatchObject({ id: module.id, slug: module.slug, course_ids: [] });
    expectProblem(await api("DELETE", `/v1/admin/modules/${module.id}`, { token: t.key }), 404);
  });

  it("refuses a module placed in courses with a 409 listing them, then deletes it with force=true", async () => {
    const [c1, c2] = [await createCourse(t), await createCourse(t)];
    const module = await createModule(t);
    await place(t, c1.id, module.id);
    await place(t, c2.id, module.id);
    const problem = expectProblem(await api("DELETE", `/v1/admin/modules/${module.id}`, { token: t.key }), 409);
    expect(problem.courses).toEqual([
      { id: c1.id, name: c1.name },
      { id: c2.id, name: c2.name },
    ]);
    expect(paths(problem)).toEqual(["id"]);
    expect((await getModule(t, module.id)).used_in_courses).toHaveLength(2);
    expect(await placements(module.id)).toBe(2);

    const versions = [await courseVersion(c1.id), await courseVersion(c2.id)];
    const catalog = await catalogVersion(t.id);
    expectStatus(await api("DELETE", `/v1/admin/modules/${module.id}?force=true`, { token: t.key }), 204);
    expectProblem(await api("GET", `/v1/admin/modules/${module.id}`, { token: t.key }), 404);
    expect(await placements(module.id)).toBe(0);
    expect([await courseVersion(c1.id), await courseVersion(c2.id)]).toEqual(versions.map((v) => (v as number) + 1));
    expect(await catalogVersion(t.id)).toBe((catalog as number) + 1);
    expect(await lastEvent(t.id, "module.deleted")).toMatchObject({ id: module.id, course_ids: [c1.id, c2.id] });
  });

  it("refuses a bad force value", async () => {
    const module = await createModule(t);
    const problem = expectProblem(
      await api("DELETE", `/v1/admin/modules/${module.id}?force=yes`, { token: t.key }),
      422,
    );
    expect(paths(problem)).toContain("query.force");
    await getModule(t, module.id);
  });

  it("bulk-deletes atomically: a placed module is a 409 listing its courses, force deletes them all", async () => {
    const course = await createCourse(t);
    const [a, b, c] = [await createModule(t), await createModule(t), await createModule(t)];
    await place(t, course.id, b.id);
    const refused = expectProblem(
      await api("POST", "/v1/admin/modules/bulk-delete", { token: t.key, body: { ids: [a.id, b.id, c.id] } }),
      409,
    );
    expect(refused.modules).toEqual([{ id: b.id, name: b.name, courses: [{ id: course.id, name: course.name }] }]);
    expect(paths(refused)).toEqual(["ids.1"]);
    for (const m of [a, b, c]) await getModule(t, m.id);

    const res = await api("POST", "/v1/admin/modules/bulk-delete", {
      token: t.key,
      body: { ids: [a.id, b.id, c.id], force: true },
    });
    expectStatus(res, 200);
    expect(res.body).toEqual({ deleted: [a.id, b.id, c.id] });
    for (const m of [a, b, c]) expectProblem(await api("GET", `/v1/admin/modules/${m.id}`, { token: t.key }), 404);
    expect(await placements(b.id)).toBe(0);
  });

  it("bulk-delete names unknown ids (422) and deletes nothing", async () => {
    const other = await createTenant();
    const foreign = await createModule(other);
    const a = await createModule(t);
    for (const [ids, path] of [
      [[a.id, 999_999_999], "ids.1"],
      [[foreign.id, a.id], "ids.0"],
      [[], "ids"],
      [Array.from({ length: 101 }, (_, i) => i + 1), "ids"],
    ] as const) {
      const problem = expectProblem(
        await api("POST", "/v1/admin/modules/bulk-delete", { token: t.key, body: { ids } }),
        422,
      );
      expect(paths(problem)).toContain(path);
    }
    await getModule(t, a.id);
    await getModule(other, foreign.id);
  });
});

// ---- authentication, permissions, isolation --------------------------------------------------------------------

describe("every module endpoint refuses missing credentials, missing permissions and other academies' ids", () => {
  let a: TestTenant;
  let b: TestTenant;
  let module: Module;
  let withoutRead: string;
  let withoutWrite: string;

  beforeAll(async () => {
    a = await createTenant();
    b = await createTenant();
    module = await createModule(a, { type: "video", settings: FULL.video });
    withoutRead = await keyWithout(a, "modules:read");
    withoutWrite = await keyWithout(a, "modules:write");
  });

  const endpoints: { method: string; path: () => string; permission: string; body?: () => unknown }[] = [
    { method: "GET", path: () => "/v1/admin/modules", permission: "modules:read" },
    { method: "GET", path: () => "/v1/admin/modules/lookup", permission: "modules:read" },
    { method: "GET", path: () => "/v1/admin/modules/types", permission: "modules:read" },
    { method: "GET", path: () => `/v1/admin/modules/${module.id}`, permission: "modules:read" },
    {
      method: "POST",
      path: () => "/v1/admin/modules",
      permission: "modules:write",
      body: () => ({ type: "text", name: "Denied" }),
    },
    {
      method: "PATCH",
      path: () => "/v1/admin/modules",
      permission: "modules:write",
      body: () => ({ items: [{ id: module.id, name: "Denied" }] }),
    },
    {
      method: "POST",
      path: () => "/v1/admin/modules/bulk-delete",
      permission: "modules:write",
      body: () => ({ ids: [module.id], force: true }),
    },
    {
      method: "PATCH",
      path: () => `/v1/admin/modules/${module.id}`,
      permission: "modules:write",
      body: () => ({ name: "Denied" }),
    },
    { method: "DELETE", path: () => `/v1/admin/modules/${module.id}?force=true`, permission: "modules:write" },
    {
      method: "POST",
      path: () => `/v1/admin/modules/${module.id}/clone`,
      permission: "modules:write",
      body: () => ({}),
    },
  ];

  it("answers 401 without a credential", async () => {
    for (const e of endpoints) {
      expectProblem(await api(e.method, e.path(), { body: e.body?.() }), 401);
    }
  });

  it("answers 403 to a key lacking exactly the permission", async () => {
    for (const e of endpoints) {
      const token = e.permission === "modules:read" ? withoutRead : withoutWrite;
      const problem = expectProblem(await api(e.method, e.path(), { token, body: e.body?.() }), 403);
      expect(problem.required_permission, `${e.method} ${e.path()}`).toBe(e.permission);
    }
    // The key without modules:write still reads.
    expectStatus(await api("GET", `/v1/admin/modules/${module.id}`, { token: withoutWrite }), 200);
  });

  it("answers 404 (or 422 naming the id in bulk bodies) to another academy, changing nothing", async () => {
    const before = await getModule(a, module.id);
    for (const e of endpoints.filter((x) => x.path().includes(String(module.id)))) {
      expectProblem(await api(e.method, e.path(), { token: b.key, body: e.body?.() }), 404);
    }
    expect(
      paths(
        expectProblem(
          await api("PATCH", "/v1/admin/modules", { token: b.key, body: { items: [{ id: module.id, name: "B" }] } }),
          422,
        ),
      ),
    ).toEqual(["items.0.id"]);
    expect(
      paths(
        expectProblem(
          await api("POST", "/v1/admin/modules/bulk-delete", { token: b.key, body: { ids: [module.id], force: true } }),
          422,
        ),
      ),
    ).toEqual(["ids.0"]);
    const lists = [
      await api("GET", "/v1/admin/modules?per_page=100", { token: b.key }),
      await api("GET", "/v1/admin/modules/lookup?limit=100", { token: b.key }),
    ];
    expect(lists[0].body.data.some((m: Module) => m.id === module.id)).toBe(false);
    expect(lists[1].body.some((m: { value: number }) => m.value === module.id)).toBe(false);
    expect(await getModule(a, module.id)).toEqual(before);
  });
});

// ---- helpers for the courses module ---------------------------------------------------------------------------

describe("moduleCopyStatements and assertModulesExist", () => {
  let t: TestTenant;
  let ctx: TenantContext;
  beforeAll(async () => {
    t = await createTenant();
    ctx = {
      tenantId: t.id,
      db: createDb(env.DB),
      env,
      principal: { kind: "api_key", tenantId: t.id, keyId: 0, userId: null, permissions: ["*"], writesPerMinute: 600 },
      defer: () => {},
    };
  });

  it("copies modules with their settings and categories under free slugs, in the caller's batch", async () => {
    const category = await createCategory(t);
    const a = await createModule(t, { type: "quiz", settings: FULL.quiz, category_ids: [category] });
    const b = await createModule(t, { type: "webinar", settings: FULL.webinar });
    const { statements, newSlugs } = await moduleCopyStatements(ctx, [a.id, b.id, a.id]);
    expect([...newSlugs.keys()]).toEqual([a.id, b.id]);
    expect(newSlugs.get(a.id)).toBe(`${a.slug}-2`);
    expect(newSlugs.get(b.id)).toBe(`${b.slug}-2`);
    await ctx.db.batch(statements as [never, ...never[]]);
    const copyA = await env.DB.prepare("SELECT id FROM modules WHERE tenant_id = ? AND slug = ?")
      .bind(t.id, newSlugs.get(a.id))
      .first<{ id: number }>();
    const copied = await getModule(t, copyA?.id as number);
    expect(copied).toMatchObject({ type: "quiz", name: a.name, settings: FULL.quiz, category_ids: [category] });
    expect(await lastEvent(t.id, "module.cloned")).toMatchObject({ source_id: b.id, slug: newSlugs.get(b.id) });

    await expect(moduleCopyStatements(ctx, [999_999_999])).rejects.toBeInstanceOf(ApiError);
  });

  it("returns the modules found and refuses other academies' ids with a 422 naming the path", async () => {
    const mine = await createModule(t, { type: "scorm" });
    const found = await assertModulesExist(ctx, [mine.id], "module_ids");
    expect(found.get(mine.id)).toEqual({ id: mine.id, type: "scorm", name: mine.name });
    const other = await createTenant();
    const theirs = await createModule(other);
    const error = await assertModulesExist(ctx, [mine.id, theirs.id], "module_id").catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(422);
    expect(error.options.errors.map((e: { path: string }) => e.path)).toEqual(["module_id"]);
  });
});
