/**
 * Certificate templates, issuing (the completion contract `certificateIssueStatements`, manual issue),
 * revocation, public verification, PDFs stored in R2, and the learner's own certificates.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { PDFDocument } from "pdf-lib";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../src/index";
import { certificateIssueStatements } from "../src/modules/certificates/service";
import type { TenantContext } from "../src/platform/auth";
import { createDb } from "../src/platform/db";
import { api, expectProblem, expectStatus } from "./helpers/api";
import {
  createLearner,
  createTenant,
  keyWithout,
  lastEvent,
  learnerSession,
  type TestTenant,
  unique,
} from "./helpers/factories";

const TEMPLATES = "/v1/admin/certificate-templates";
const CERTIFICATES = "/v1/admin/certificates";

async function createTemplate(t: TestTenant, fields: Record<string, unknown> = {}) {
  const res = await api("POST", TEMPLATES, { token: t.key, body: { name: unique("Template"), ...fields } });
  expectStatus(res, 201);
  return res.body as { id: number; name: string; width: number; height: number; expiry_months: number | null };
}

async function createCourse(t: TestTenant, fields: Record<string, unknown> = {}) {
  const res = await api("POST", "/v1/admin/courses", { token: t.key, body: { name: unique("Course"), ...fields } });
  expectStatus(res, 201);
  return res.body as { id: number; name: string; certificate_template_ids: number[] };
}

async function assign(t: TestTenant, body: Record<string, unknown>) {
  const res = await api("POST", CERTIFICATES, { token: t.key, body });
  expectStatus(res, 201);
  return res.body as {
    id: number;
    code: string;
    status: string;
    title: string;
    recipient_name: string;
    learner_id: number;
    expires_at: string | null;
    verify_url: string;
  };
}

function contextOf(t: TestTenant): TenantContext {
  return { tenantId: t.id, db: createDb(env.DB), env, principal: { kind: "platform" }, defer: () => {} };
}

async function count(sql: string, ...params: unknown[]) {
  const row = await env.DB.prepare(sql)
    .bind(...params)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** The raw bytes of a download (api() decodes bodies as text). */
async function download(path: string, token: string, headers: Record<string, string> = {}) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://lectern.test${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } }),
    env,
    ctx,
  );
  const bytes = new Uint8Array(await res.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { status: res.status, headers: res.headers, bytes };
}

const PNG_1x1 = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="),
  (ch) => ch.charCodeAt(0),
);

// ---- templates -------------------------------------------------------------------------------------------------

describe("certificate templates", () => {
  let t: TestTenant;
  let other: TestTenant;

  beforeAll(async () => {
    t = await createTenant();
    other = await createTenant();
  });

  it("creates with A4 landscape defaults, reads, lists, looks up, updates", async () => {
    const created = await api("POST", TEMPLATES, { token: t.key, body: { name: "Completion" } });
    expectStatus(created, 201);
    expect(created.headers.get("location")).toBe(`${TEMPLATES}/${created.body.id}`);
    expect(created.body).toMatchObject({
      name: "Completion",
      width: 842,
      height: 595,
      background_url: null,
      background_media_id: null,
      fields: [],
      expiry_months: null,
    });
    expect(await lastEvent(t.id, "certificate_template.created")).toMatchObject({
      id: created.body.id,
      name: "Completion",
    });

    const fields = [
      { key: "recipient_name", x: 100, y: 250, size: 36, color: "#112233" },
      { key: "text", x: 100, y: 120, size: 18, text: "Awarded to" },
      { key: "verify_url", x: 100, y: 560, size: 9 },
    ];
    const full = await createTemplate(t, {
      name: "Portrait",
      width: 595,
      height: 842,
      background_url: "https://cdn.example.com/bg.png",
      fields,
      expiry_months: 24,
    });
    const read = await api("GET", `${TEMPLATES}/${full.id}`, { token: t.key });
    expectStatus(read, 200);
    expect(read.body).toMatchObject({ width: 595, height: 842, fields, expiry_months: 24 });

    const list = await api("GET", `${TEMPLATES}?sort=name`, { token: t.key });
    expectStatus(list, 200);
    expect(list.body.data.map((r: { name: string }) => r.name)).toEqual(["Completion", "Portrait"]);
    expect(list.body.meta).toMatchObject({ total: 2, page: 1 });
    const lookup = await api("GET", `${TEMPLATES}/lookup?q=portr`, { token: t.key });
    expect(lookup.body).toEqual([{ value: full.id, label: "Portrait" }]);

    const patched = await api("PATCH", `${TEMPLATES}/${full.id}`, {
      token: t.key,
      body: { name: "Portrait v2", expiry_months: null, background_url: null, background_media_id: 7 },
    });
    expectStatus(patched, 200);
    expect(patched.body).toMatchObject({ name: "Portrait v2", expiry_months: null, background_media_id: 7, fields });
    expect(await lastEvent(t.id, "certificate_template.updated")).toMatchObject({ id: full.id });
  });

  it("refuses fields outside the page and other bad input (422 naming the field), writing nothing", async () => {
    const before = (await api("GET", TEMPLATES, { token: t.key })).body.meta.total;
    const cases: [Record<string, unknown>, string][] = [
      [{ fields: [{ key: "code", x: 900, y: 100, size: 10 }] }, "fields.0.x"],
      [{ fields: [{ key: "code", x: 10, y: 700, size: 10 }] }, "fields.0.y"],
      [{ fields: [{ key: "code", x: 10, y: 5, size: 10 }] }, "fields.0.y"],
      [{ fields: [{ key: "text", x: 10, y: 100, size: 10 }] }, "fields.0.text"],
      [{ fields: [{ key: "code", x: 10, y: 100, size: 10, text: "no" }] }, "fields.0.text"],
      [{ fields: [{ key: "signature", x: 10, y: 100, size: 10 }] }, "fields.0.key"],
      [{ fields: [{ key: "code", x: 10, y: 100, size: 10, color: "red" }] }, "fields.0.color"],
      [{ fields: [{ key: "code", x: 10, y: 100, size: 10, font: "Times" }] }, "fields.0.font"],
      [{ background_url: "http://cdn.example.com/bg.png" }, "background_url"],
      [{ background_url: "https://cdn.example.com/bg.png", background_media_id: 3 }, "background_media_id"],
      [{ width: 10 }, "width"],
      [{ expiry_months: 0 }, "expiry_months"],
      [{ tenant_id: other.id }, "tenant_id"],
    ];
    for (const [body, path] of cases) {
      const res = await api("POST", TEMPLATES, { token: t.key, body: { name: "Bad", ...body } });
      const problem = expectProblem(res, 422);
      expect(
        problem.errors?.map((e) => e.path),
        JSON.stringify(body),
      ).toContain(path);
    }
    expectProblem(await api("POST", TEMPLATES, { token: t.key, body: {} }), 422);
    expect((await api("GET", TEMPLATES, { token: t.key })).body.meta.total).toBe(before);

    // Shrinking the page checks the fields already there.
    const template = await createTemplate(t, { fields: [{ key: "code", x: 700, y: 500, size: 10 }] });
    const shrink = await api("PATCH", `${TEMPLATES}/${template.id}`, { token: t.key, body: { width: 595 } });
    expect(expectProblem(shrink, 422).errors?.map((e) => e.path)).toEqual(["fields.0.x"]);
    expect((await api("GET", `${TEMPLATES}/${template.id}`, { token: t.key })).body.width).toBe(842);
  });

  it("refuses to delete a template courses award (409 naming them) unless forced", async () => {
    const template = await createTemplate(t);
    const keep = await createTemplate(t);
    const course = await createCourse(t, { name: "Awarding course", certificate_template_ids: [template.id, keep.id] });
    const conflict = await api("DELETE", `${TEMPLATES}/${template.id}`, { token: t.key });
    const problem = expectProblem(conflict, 409);
    expect(problem.detail).toContain("Awarding course");
    expect(problem.used_by).toEqual({ courses: [{ id: course.id, name: "Awarding course" }] });
    expect(problem.used_by_count).toBe(1);
    expectStatus(await api("GET", `${TEMPLATES}/${template.id}`, { token: t.key }), 200);

    expectStatus(await api("DELETE", `${TEMPLATES}/${template.id}?force=true`, { token: t.key }), 204);
    expectProblem(await api("GET", `${TEMPLATES}/${template.id}`, { token: t.key }), 404);
    const after = await api("GET", `/v1/admin/courses/${course.id}`, { token: t.key });
    expect(after.body.certificate_template_ids).toEqual([keep.id]);
    expect(await lastEvent(t.id, "certificate_template.deleted")).toMatchObject({
      id: template.id,
      removed_from_course_ids: [course.id],
    });

    const unused = await createTemplate(t);
    expectStatus(await api("DELETE", `${TEMPLATES}/${unused.id}`, { token: t.key }), 204);
    expectProblem(await api("DELETE", `${TEMPLATES}/${unused.id}`, { token: t.key }), 404);
  });

  it("answers 404 for another academy's template and 401/403 without the right credential", async () => {
    const mine = await createTemplate(t);
    for (const [method, body] of [
      ["GET", undefined],
      ["PATCH", { name: "Stolen" }],
      ["DELETE", undefined],
    ] as const) {
      expectProblem(await api(method, `${TEMPLATES}/${mine.id}`, { token: other.key, body }), 404);
    }
    expect((await api("GET", `${TEMPLATES}/${mine.id}`, { token: t.key })).body.name).toBe(mine.name);
    expect((await api("GET", TEMPLATES, { token: other.key })).body.data).toEqual([]);

    expectProblem(await api("GET", TEMPLATES), 401);
    expectProblem(await api("POST", TEMPLATES, { body: { name: "x" } }), 401);
    const noRead = await keyWithout(t, "certificates:read");
    const noWrite = await keyWithout(t, "certificates:write");
    expect(expectProblem(await api("GET", TEMPLATES, { token: noRead }), 403).required_permission).toBe(
      "certificates:read",
    );
    expectStatus(await api("GET", TEMPLATES, { token: noWrite }), 200);
    for (const [method, path, body] of [
      ["POST", TEMPLATES, { name: "x" }],
      ["PATCH", `${TEMPLATES}/${mine.id}`, { name: "x" }],
      ["DELETE", `${TEMPLATES}/${mine.id}`, undefined],
    ] as const) {
      const problem = expectProblem(await api(method, path, { token: noWrite, body }), 403);
      expect(problem.required_permission).toBe("certificates:write");
    }
    expect((await api("GET", `${TEMPLATES}/${mine.id}`, { token: t.key })).body.name).toBe(mine.name);
  });
});

// ---- issuing on completion (the shared contract) ----------------------------------------------------------------

describe("certificateIssueStatements", () => {
  let t: TestTenant;
  let other: TestTenant;
  let learnerId: number;

  beforeAll(async () => {
    t = await createTenant();
    other = await createTenant();
    learnerId = (await createLearner(t, { name: "Ada Lovelace" })).id;
  });

  const issuedFor = (sourceKey: string) =>
    count("SELECT COUNT(*) AS n FROM certificates WHERE tenant_id = ? AND source_key = ?", t.id, sourceKey);
  const eventsFor = (sourceKey: string, type = "certificate.issued") =>
    count(
      `SELECT COUNT(*) AS n FROM outbox WHERE tenant_id = ? AND type = ? AND data ->> 'code' IN
         (SELECT code FROM certificates WHERE tenant_id = ? AND source_key = ?)`,
      t.id,
      type,
      t.id,
      sourceKey,
    );
  const activitiesFor = (sourceKey: string) =>
    count(
      `SELECT COUNT(*) AS n FROM activities WHERE tenant_id = ? AND type = 'certificate.issued' AND data ->> 'code' IN
         (SELECT code FROM certificates WHERE tenant_id = ? AND source_key = ?)`,
      t.id,
      t.id,
      sourceKey,
    );

  function statements(sourceKey: string, templateIds: number[], courseId: number | null = null) {
    return certificateIssueStatements(contextOf(t), {
      userId: learnerId,
      recipientName: "Ada Lovelace",
      title: "Analytical Engines",
      courseId,
      sourceKey,
      templateIds,
    });
  }

  it("issues one certificate per template, with expiry from the template, an event and an activity", async () => {
    const lasting = await createTemplate(t, { expiry_months: 12 });
    const forever = await createTemplate(t);
    const course = await createCourse(t);
    const source = `course:${unique("e")}`;
    const db = createDb(env.DB);
    await db.batch(statements(source, [lasting.id, forever.id, lasting.id], course.id) as [never]);
    const rows = await env.DB.prepare(
      "SELECT * FROM certificates WHERE tenant_id = ? AND source_key = ? ORDER BY template_id",
    )
      .bind(t.id, source)
      .all<Record<string, string | number | null>>();
    expect(rows.results).toHaveLength(2);
    const [withExpiry, without] = rows.results;
    expect(withExpiry).toMatchObject({
      template_id: lasting.id,
      user_id: learnerId,
      course_id: course.id,
      recipient_name: "Ada Lovelace",
      title: "Analytical Engines",
      revoked_at: null,
    });
    const issued = new Date(withExpiry.issued_at as string);
    const expected = new Date(issued);
    expected.setUTCMonth(expected.getUTCMonth() + 12);
    expect(withExpiry.expires_at).toBe(expected.toISOString());
    expect(without.expires_at).toBeNull();
    expect(withExpiry.code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){4}$/);
    expect(withExpiry.code).not.toBe(without.code);
    expect(await eventsFor(source)).toBe(2);
    expect(await activitiesFor(source)).toBe(2);
    const event = await lastEvent(t.id, "certificate.issued");
    expect(event).toMatchObject({ learner_id: learnerId, course_id: course.id, source: "course" });
  });

  it("is idempotent: the same statements again, and two concurrent batches, issue one certificate and one event", async () => {
    const template = await createTemplate(t);
    const db = createDb(env.DB);

    const again = `course:${unique("again")}`;
    await db.batch(statements(again, [template.id]) as [never]);
    await db.batch(statements(again, [template.id]) as [never]);
    expect(await issuedFor(again)).toBe(1);
    expect(await eventsFor(again)).toBe(1);
    expect(await activitiesFor(again)).toBe(1);

    const racing = `course:${unique("race")}`;
    const eventsBefore = await count(
      "SELECT COUNT(*) AS n FROM outbox WHERE tenant_id = ? AND type = 'certificate.issued'",
      t.id,
    );
    await Promise.all([
      db.batch(statements(racing, [template.id]) as [never]),
      db.batch(statements(racing, [template.id]) as [never]),
      db.batch(statements(racing, [template.id]) as [never]),
    ]);
    expect(await issuedFor(racing)).toBe(1);
    expect(await eventsFor(racing)).toBe(1);
    expect(await activitiesFor(racing)).toBe(1);
    expect(
      await count("SELECT COUNT(*) AS n FROM outbox WHERE tenant_id = ? AND type = 'certificate.issued'", t.id),
    ).toBe(eventsBefore + 1);
  });

  it("issues nothing for another academy's or a deleted template", async () => {
    const foreign = await createTemplate(other);
    const source = `course:${unique("foreign")}`;
    await createDb(env.DB).batch(statements(source, [foreign.id, 999_999_999]) as [never]);
    expect(await issuedFor(source)).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM certificates WHERE template_id = ?", foreign.id)).toBe(0);
    expect(await eventsFor(source)).toBe(0);
  });
});

// ---- admin: manual issue, list, revoke; public verification -----------------------------------------------------

describe("issued certificates", () => {
  let t: TestTenant;
  let other: TestTenant;
  let template: { id: number; name: string };
  let course: { id: number; name: string };
  let learner: { id: number; email: string };

  beforeAll(async () => {
    t = await createTenant({ name: "Babbage Academy" });
    other = await createTenant();
    template = await createTemplate(t, { name: "Honours", expiry_months: 6 });
    course = await createCourse(t, { name: "Difference Engines" });
    learner = await createLearner(t, { name: "Ada Lovelace" });
  });

  it("issues by hand: the learner's name, the course's name, an event and an activity", async () => {
    const res = await api("POST", CERTIFICATES, {
      token: t.key,
      body: { template_id: template.id, learner_id: learner.id, course_id: course.id },
    });
    expectStatus(res, 201);
    expect(res.headers.get("location")).toBe(`${CERTIFICATES}/${res.body.id}`);
    expect(res.body).toMatchObject({
      status: "valid",
      template_id: template.id,
      learner_id: learner.id,
      course_id: course.id,
      path_id: null,
      recipient_name: "Ada Lovelace",
      title: "Difference Engines",
      source: "manual",
      revoked_at: null,
      verify_url: `http://lectern.test/v1/public/certificates/${res.body.code}`,
    });
    expect(res.body.expires_at > res.body.issued_at).toBe(true);
    expect(await lastEvent(t.id, "certificate.issued")).toMatchObject({ id: res.body.id, code: res.body.code });
    const activity = await env.DB.prepare(
      "SELECT * FROM activities WHERE tenant_id = ? AND type = 'certificate.issued' ORDER BY id DESC LIMIT 1",
    )
      .bind(t.id)
      .first<Record<string, string | number | null>>();
    expect(activity).toMatchObject({ user_id: learner.id, course_id: course.id, actor: "staff" });
    expect(JSON.parse(String(activity?.data)).certificate_id).toBe(res.body.id);

    const titled = await assign(t, { template_id: template.id, learner_id: learner.id, title: "Special award" });
    expect(titled).toMatchObject({ title: "Special award" });
    const plain = await assign(t, { template_id: template.id, learner_id: learner.id });
    expect(plain.title).toBe("Honours");
    expect((await api("GET", `${CERTIFICATES}/${res.body.id}`, { token: t.key })).body).toEqual(res.body);
  });

  it("refuses unknown or foreign template, learner and course ids (422) and writes nothing", async () => {
    const staffUser = t.ownerUserId as number;
    const foreignTemplate = await createTemplate(other);
    const foreignLearner = await createLearner(other);
    const before = (await api("GET", CERTIFICATES, { token: t.key })).body.meta.total;
    const cases: [Record<string, unknown>, string][] = [
      [{ template_id: foreignTemplate.id, learner_id: learner.id }, "template_id"],
      [{ template_id: template.id, learner_id: foreignLearner.id }, "learner_id"],
      [{ template_id: template.id, learner_id: staffUser }, "learner_id"],
      [{ template_id: template.id, learner_id: learner.id, course_id: 999_999_999 }, "course_id"],
      [{ template_id: template.id, learner_id: learner.id, title: "" }, "title"],
      [{ template_id: "one", learner_id: learner.id }, "template_id"],
      [{ template_id: template.id, learner_id: learner.id, code: "MINE" }, "code"],
      [{ learner_id: learner.id }, "template_id"],
    ];
    for (const [body, path] of cases) {
      const problem = expectProblem(await api("POST", CERTIFICATES, { token: t.key, body }), 422);
      expect(
        problem.errors?.map((e) => e.path),
        JSON.stringify(body),
      ).toContain(path);
    }
    expect((await api("GET", CERTIFICATES, { token: t.key })).body.meta.total).toBe(before);
  });

  it("lists with filters by learner, course, template and status", async () => {
    const u = await createTenant();
    const tpl = await createTemplate(u);
    const tpl2 = await createTemplate(u);
    const c1 = await createCourse(u);
    const l1 = await createLearner(u);
    const l2 = await createLearner(u);
    const a = await assign(u, { template_id: tpl.id, learner_id: l1.id, course_id: c1.id });
    const b = await assign(u, { template_id: tpl2.id, learner_id: l2.id });
    const c = await assign(u, { template_id: tpl.id, learner_id: l2.id });
    expectStatus(await api("POST", `${CERTIFICATES}/${b.id}/revoke`, { token: u.key }), 200);
    await env.DB.prepare("UPDATE certificates SET expires_at = '2001-01-01T00:00:00.000Z' WHERE id = ?")
      .bind(c.id)
      .run();
    const ids = async (query: string) => {
      const res = await api("GET", `${CERTIFICATES}?${query}`, { token: u.key });
      expectStatus(res, 200);
      return res.body.data.map((r: { id: number }) => r.id);
    };
    expect(await ids("")).toEqual([c.id, b.id, a.id]);
    expect(await ids("sort=issued_at")).toEqual([a.id, b.id, c.id]);
    expect(await ids(`learner_id=${l2.id}`)).toEqual([c.id, b.id]);
    expect(await ids(`course_id=${c1.id}`)).toEqual([a.id]);
    expect(await ids(`template_id=${tpl.id}`)).toEqual([c.id, a.id]);
    expect(await ids("status=valid")).toEqual([a.id]);
    expect(await ids("status=revoked")).toEqual([b.id]);
    expect(await ids("status=expired")).toEqual([c.id]);
    expect(await ids("per_page=1&page=2")).toEqual([b.id]);
    const expired = await api("GET", `${CERTIFICATES}/${c.id}`, { token: u.key });
    expect(expired.body.status).toBe("expired");
    expectProblem(await api("GET", `${CERTIFICATES}?status=lost`, { token: u.key }), 422);
    expectProblem(await api("GET", `${CERTIFICATES}?learner_id=abc`, { token: u.key }), 422);
    expect((await api("GET", CERTIFICATES, { token: other.key })).body.data).toEqual([]);
  });

  it("revokes once: one event, verification says revoked", async () => {
    const cert = await assign(t, { template_id: template.id, learner_id: learner.id });
    const events = () =>
      count(
        "SELECT COUNT(*) AS n FROM outbox WHERE tenant_id = ? AND type = 'certificate.revoked' AND data ->> 'id' = ?",
        t.id,
        cert.id,
      );
    const revoked = await api("POST", `${CERTIFICATES}/${cert.id}/revoke`, { token: t.key });
    expectStatus(revoked, 200);
    expect(revoked.body).toMatchObject({ id: cert.id, status: "revoked" });
    expect(typeof revoked.body.revoked_at).toBe("string");
    expect(await events()).toBe(1);
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM activities WHERE tenant_id = ? AND type = 'certificate.revoked' AND data ->> 'certificate_id' = ?",
        t.id,
        cert.id,
      ),
    ).toBe(1);
    const again = await api("POST", `${CERTIFICATES}/${cert.id}/revoke`, { token: t.key });
    expectStatus(again, 200);
    expect(again.body.revoked_at).toBe(revoked.body.revoked_at);
    expect(await events()).toBe(1);

    const verified = await api("GET", `/v1/public/certificates/${cert.code}`, { tenant: t.slug });
    expectStatus(verified, 200);
    expect(verified.body).toMatchObject({ valid: false, status: "revoked", revoked_at: revoked.body.revoked_at });
  });

  it("verifies publicly by code: valid, expired, unknown, another academy's (404), never an email", async () => {
    const cert = await assign(t, { template_id: template.id, learner_id: learner.id, course_id: course.id });
    const res = await api("GET", `/v1/public/certificates/${cert.code}`, { tenant: t.slug });
    expectStatus(res, 200);
    expect(res.body).toEqual({
      valid: true,
      status: "valid",
      code: cert.code,
      recipient_name: "Ada Lovelace",
      title: "Difference Engines",
      course_name: "Difference Engines",
      learning_path_name: null,
      issued_at: expect.any(String),
      expires_at: cert.expires_at,
      revoked_at: null,
      academy_name: "Babbage Academy",
    });
    expect(res.text).not.toContain(learner.email);
    expect(res.text).not.toContain("@");
    // Codes typed in lower case still verify.
    expectStatus(await api("GET", `/v1/public/certificates/${cert.code.toLowerCase()}`, { tenant: t.slug }), 200);

    await env.DB.prepare("UPDATE certificates SET expires_at = '2020-01-01T00:00:00.000Z' WHERE id = ?")
      .bind(cert.id)
      .run();
    const expired = await api("GET", `/v1/public/certificates/${cert.code}`, { tenant: t.slug });
    expect(expired.body).toMatchObject({ valid: false, status: "expired", expires_at: "2020-01-01T00:00:00.000Z" });

    expectProblem(await api("GET", "/v1/public/certificates/AAAA-BBBB-CCCC-DDDD-EEEE", { tenant: t.slug }), 404);
    expectProblem(await api("GET", `/v1/public/certificates/${cert.code}`, { tenant: other.slug }), 404);
    expectProblem(await api("GET", `/v1/public/certificates/${cert.code}`, { tenant: unique("nobody") }), 404);
    expectProblem(await api("GET", `/v1/public/certificates/${cert.code}`), 400);
  });

  it("answers 404 for another academy's certificate and 401/403 without the right credential", async () => {
    const cert = await assign(t, { template_id: template.id, learner_id: learner.id });
    for (const [method, path] of [
      ["GET", `${CERTIFICATES}/${cert.id}`],
      ["POST", `${CERTIFICATES}/${cert.id}/revoke`],
      ["GET", `${CERTIFICATES}/${cert.id}/pdf`],
    ] as const) {
      expectProblem(await api(method, path, { token: other.key }), 404);
    }
    expect((await api("GET", `${CERTIFICATES}/${cert.id}`, { token: t.key })).body.status).toBe("valid");

    expectProblem(await api("GET", CERTIFICATES), 401);
    expectProblem(await api("GET", `${CERTIFICATES}/${cert.id}/pdf`), 401);
    const noRead = await keyWithout(t, "certificates:read");
    const noWrite = await keyWithout(t, "certificates:write");
    for (const path of [CERTIFICATES, `${CERTIFICATES}/${cert.id}`, `${CERTIFICATES}/${cert.id}/pdf`]) {
      expect(expectProblem(await api("GET", path, { token: noRead }), 403).required_permission).toBe(
        "certificates:read",
      );
    }
    const assignDenied = await api("POST", CERTIFICATES, {
      token: noWrite,
      body: { template_id: template.id, learner_id: learner.id },
    });
    expect(expectProblem(assignDenied, 403).required_permission).toBe("certificates:write");
    expectProblem(await api("POST", `${CERTIFICATES}/${cert.id}/revoke`, { token: noWrite }), 403);
    expect((await api("GET", `${CERTIFICATES}/${cert.id}`, { token: t.key })).body.status).toBe("valid");
    expectProblem(await api("GET", `${CERTIFICATES}/abc`, { token: t.key }), 422);
  });
});

// ---- PDFs and the learner's own certificates ---------------------------------------------------------------------

describe("certificate PDFs and the learner's certificates", () => {
  let t: TestTenant;
  let other: TestTenant;
  let template: { id: number };
  let me: { id: number; token: string };
  let someoneElse: { id: number; token: string };

  beforeAll(async () => {
    t = await createTenant();
    other = await createTenant();
    template = await createTemplate(t, {
      fields: [
        { key: "recipient_name", x: 80, y: 240, size: 40 },
        { key: "course_name", x: 80, y: 300, size: 24, color: "#334455" },
        { key: "issued_at", x: 80, y: 360, size: 12 },
        { key: "expires_at", x: 80, y: 380, size: 12 },
        { key: "code", x: 80, y: 520, size: 10 },
        { key: "verify_url", x: 80, y: 540, size: 10 },
        { key: "text", x: 700, y: 100, size: 30, text: "A long text that runs past the page's right edge" },
      ],
    });
    me = await learnerSession(t);
    someoneElse = await learnerSession(t);
  });

  it("renders the PDF once, stores it in R2 and serves it from there (ETag, 304)", async () => {
    const cert = await assign(t, { template_id: template.id, learner_id: me.id, title: "Zoë's 李 course\nline" });
    const key = `t/${t.id}/certificates/${cert.code}.pdf`;
    expect(await env.MEDIA.head(key)).toBeNull();

    const first = await download(`${CERTIFICATES}/${cert.id}/pdf`, t.key);
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe("application/pdf");
    expect(first.headers.get("content-disposition")).toContain(`certificate-${cert.code}.pdf`);
    expect(first.headers.get("x-request-id")).toBeTruthy();
    expect(new TextDecoder().decode(first.bytes.slice(0, 5))).toBe("%PDF-");
    const etag = first.headers.get("etag");
    expect(etag).toBeTruthy();
    const stored = await env.MEDIA.head(key);
    expect(stored?.size).toBe(first.bytes.byteLength);
    expect(stored?.httpMetadata?.contentType).toBe("application/pdf");
    expect(stored?.httpEtag).toBe(etag);
    expect((await env.DB.prepare("SELECT pdf_key FROM certificates WHERE id = ?").bind(cert.id).first())?.pdf_key).toBe(
      key,
    );

    const doc = await PDFDocument.load(first.bytes);
    expect(doc.getPageCount()).toBe(1);
    expect(doc.getPage(0).getSize()).toEqual({ width: 842, height: 595 });
    expect(doc.getTitle()).toBe("Zoë's 李 course\nline");

    // Served from R2: a changed template does not change the stored certificate.
    expectStatus(
      await api("PATCH", `${TEMPLATES}/${template.id}`, { token: t.key, body: { width: 600, fields: [] } }),
      200,
    );
    const second = await download(`${CERTIFICATES}/${cert.id}/pdf`, t.key);
    expect(second.status).toBe(200);
    expect(second.headers.get("etag")).toBe(etag);
    expect(second.bytes).toEqual(first.bytes);
    const notModified = await download(`${CERTIFICATES}/${cert.id}/pdf`, t.key, { "if-none-match": etag as string });
    expect(notModified.status).toBe(304);
    expect(notModified.bytes.byteLength).toBe(0);
    const weak = await download(`${CERTIFICATES}/${cert.id}/pdf`, t.key, { "if-none-match": `"x", W/${etag}` });
    expect(weak.status).toBe(304);
    const stale = await download(`${CERTIFICATES}/${cert.id}/pdf`, t.key, { "if-none-match": 'garbage, "other"' });
    expect(stale.status).toBe(200);
    expect(stale.bytes).toEqual(first.bytes);
  });

  it("draws a background from the academy's media on R2, and renders with a default layout once the template is gone", async () => {
    const mediaId = 4242;
    await env.MEDIA.put(`t/${t.id}/media/${mediaId}/background.png`, PNG_1x1, {
      httpMetadata: { contentType: "image/png" },
    });
    const withBg = await createTemplate(t, {
      width: 400,
      height: 300,
      background_media_id: mediaId,
      fields: [{ key: "recipient_name", x: 20, y: 100, size: 20 }],
    });
    const cert = await assign(t, { template_id: withBg.id, learner_id: me.id });
    const pdf = await download(`${CERTIFICATES}/${cert.id}/pdf`, t.key);
    expect(pdf.status).toBe(200);
    const doc = await PDFDocument.load(pdf.bytes);
    expect(doc.getPage(0).getSize()).toEqual({ width: 400, height: 300 });
    const resources = doc.getPage(0).node.Resources();
    expect(resources?.toString()).toContain("/XObject");

    const orphan = await createTemplate(t);
    const orphaned = await assign(t, { template_id: orphan.id, learner_id: me.id });
    expectStatus(await api("DELETE", `${TEMPLATES}/${orphan.id}`, { token: t.key }), 204);
    const still = await api("GET", `${CERTIFICATES}/${orphaned.id}`, { token: t.key });
    expect(still.body).toMatchObject({ template_id: null, status: "valid" });
    const fallback = await download(`${CERTIFICATES}/${orphaned.id}/pdf`, t.key);
    expect(fallback.status).toBe(200);
    expect((await PDFDocument.load(fallback.bytes)).getPage(0).getSize()).toEqual({ width: 842, height: 595 });
  });

  it("lets a learner list and download only their own certificates", async () => {
    const mine = await assign(t, { template_id: template.id, learner_id: me.id, title: "Mine" });
    const theirs = await assign(t, { template_id: template.id, learner_id: someoneElse.id, title: "Theirs" });

    const list = await api("GET", "/v1/learner/certificates?per_page=100", { token: me.token });
    expectStatus(list, 200);
    const ids = list.body.data.map((c: { id: number }) => c.id);
    expect(ids).toContain(mine.id);
    expect(ids).not.toContain(theirs.id);
    expect(list.body.data.every((c: { learner_id: number }) => c.learner_id === me.id)).toBe(true);
    expect(list.body.data[0]).toMatchObject({ id: mine.id, title: "Mine", status: "valid" });
    const theirList = await api("GET", "/v1/learner/certificates", { token: someoneElse.token });
    expect(theirList.body.data.map((c: { id: number }) => c.id)).toEqual([theirs.id]);

    const pdf = await download(`/v1/learner/certificates/${mine.id}/pdf`, me.token);
    expect(pdf.status).toBe(200);
    expect(new TextDecoder().decode(pdf.bytes.slice(0, 5))).toBe("%PDF-");
    expectProblem(await api("GET", `/v1/learner/certificates/${theirs.id}/pdf`, { token: me.token }), 404);
    const foreign = await learnerSession(other);
    expectProblem(await api("GET", `/v1/learner/certificates/${mine.id}/pdf`, { token: foreign.token }), 404);
    expect((await api("GET", "/v1/learner/certificates", { token: foreign.token })).body.data).toEqual([]);

    expectStatus(await api("POST", `${CERTIFICATES}/${mine.id}/revoke`, { token: t.key }), 200);
    expectProblem(await api("GET", `/v1/learner/certificates/${mine.id}/pdf`, { token: me.token }), 409);
    const afterRevoke = await api("GET", "/v1/learner/certificates?per_page=100", { token: me.token });
    expect(afterRevoke.body.data.find((c: { id: number }) => c.id === mine.id).status).toBe("revoked");

    expectProblem(await api("GET", "/v1/learner/certificates"), 401);
    expectProblem(await api("GET", "/v1/learner/certificates", { token: t.key }), 403);
    expectProblem(await api("GET", "/v1/learner/certificates?per_page=500", { token: me.token }), 422);
  });
});

// ---- end to end: completing a course issues its certificates ----------------------------------------------------

describe("completing a course", () => {
  it("issues the course's certificate once, verifiable publicly, downloadable by the learner, shown in the gradebook", async () => {
    const t = await createTenant();
    const template = await createTemplate(t, { expiry_months: 12 });
    const course = await createCourse(t, { name: "Journey course", certificate_template_ids: [template.id] });
    const section = await api("POST", `/v1/admin/courses/${course.id}/sections`, { token: t.key, body: { name: "S" } });
    const module = await api("POST", "/v1/admin/modules", { token: t.key, body: { type: "text", name: unique("M") } });
    const placement = await api("POST", `/v1/admin/courses/${course.id}/sections/${section.body.id}/placements`, {
      token: t.key,
      body: { module_id: module.body.id },
    });
    expectStatus(placement, 201);
    expectStatus(await api("POST", `/v1/admin/courses/${course.id}/publish`, { token: t.key }), 200);
    const learner = await learnerSession(t);
    const enrolled = await api("POST", `/v1/admin/courses/${course.id}/enrollments`, {
      token: t.key,
      body: { learner_ids: [learner.id] },
    });
    expect(enrolled.status, enrolled.text).toBeLessThan(300);

    const modulePath = `/v1/learner/courses/${course.id}/modules/${placement.body.id}`;
    expectStatus(await api("POST", `${modulePath}/launch`, { token: learner.token }), 200);
    const [first, second] = await Promise.all([
      api("POST", `${modulePath}/complete`, { token: learner.token }),
      api("POST", `${modulePath}/complete`, { token: learner.token }),
    ]);
    expect(first.status, first.text).toBe(200);
    expect(second.status, second.text).toBe(200);

    const mine = await api("GET", "/v1/learner/certificates", { token: learner.token });
    expectStatus(mine, 200);
    expect(mine.body.data).toHaveLength(1);
    const certificate = mine.body.data[0];
    expect(certificate).toMatchObject({
      template_id: template.id,
      course_id: course.id,
      title: "Journey course",
      source: "course",
      status: "valid",
    });
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM outbox WHERE tenant_id = ? AND type = 'certificate.issued' AND data ->> 'learner_id' = ?",
        t.id,
        learner.id,
      ),
    ).toBe(1);
    const verified = await api("GET", new URL(certificate.verify_url).pathname, { tenant: t.slug });
    expect(verified.body).toMatchObject({ valid: true, course_name: "Journey course" });
    const pdf = await download(`/v1/learner/certificates/${certificate.id}/pdf`, learner.token);
    expect(pdf.status).toBe(200);
    expect(await env.MEDIA.head(`t/${t.id}/certificates/${certificate.code}.pdf`)).not.toBeNull();
    const gradebook = await api("GET", `/v1/admin/courses/${course.id}/gradebook`, { token: t.key });
    expect(gradebook.body.data[0]).toMatchObject({ learner: { id: learner.id }, progress_percent: 100 });
    expect(gradebook.body.data[0].completed_at).toEqual(expect.any(String));
  });
});
