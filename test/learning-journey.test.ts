/**
 * The learning runtime issue's "done when", through the documented API only: a learner enrolled by email sees
 * the course, is blocked by drip with the open date, completes the modules, receives a certificate whose public
 * verification works and whose PDF downloads from R2, and the admin sees it all in the gradebook and the
 * activity log.
 */
import { env } from "cloudflare:test";
import { PDFDocument } from "pdf-lib";
import { describe, expect, it } from "vitest";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, learnerSession } from "./helpers/factories";

describe("a learner goes from enrollment to a verified certificate", () => {
  it("enrolls by email, meets drip, completes, is certified, and shows up in the gradebook and activity log", async () => {
    const t = await createTenant();
    const admin = async (method: string, path: string, body?: unknown, status = 200) => {
      const res = await api(method, path, { token: t.key, body });
      expectStatus(res, status);
      return res.body;
    };

    // The admin builds a dripping course that awards a certificate.
    const template = await admin("POST", "/v1/admin/certificate-templates", { name: "Certificate of completion" }, 201);
    const course = await admin(
      "POST",
      "/v1/admin/courses",
      { name: "First aid basics", drip_enabled: true, certificate_template_ids: [template.id] },
      201,
    );
    const section = await admin("POST", `/v1/admin/courses/${course.id}/sections`, { name: "Week 1" }, 201);
    const opensAt = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const placements: number[] = [];
    for (const [i, module] of [
      { type: "text", name: "Check the scene", settings: { body: "Look before you step in." } },
      { type: "video", name: "Recovery position", settings: { url: "https://videos.example.com/recovery.mp4" } },
      { type: "text", name: "Week 2 preview", settings: { body: "CPR next." } },
    ].entries()) {
      const created = await admin("POST", "/v1/admin/modules", module, 201);
      const placement = await admin(
        "POST",
        `/v1/admin/courses/${course.id}/sections/${section.id}/placements`,
        { module_id: created.id, ...(i === 2 ? { drip_rule: "on_date", drip_date: opensAt } : {}) },
        201,
      );
      placements.push(placement.id);
    }
    await admin("POST", `/v1/admin/courses/${course.id}/publish`);

    // Enrolled by email (an unknown email is reported, not dropped).
    const lea = await learnerSession(t);
    const enrolled = await admin(
      "POST",
      `/v1/admin/courses/${course.id}/enrollments`,
      { emails: [lea.email, "nobody@example.com"] },
      201,
    );
    expect(enrolled.not_found_emails).toEqual(["nobody@example.com"]);
    const learner = async (method: string, path: string, body?: unknown) =>
      api(method, path, { token: lea.token, body });

    // The learner sees the course and its outline, the third module locked by drip with its date.
    const mine = await learner("GET", "/v1/learner/courses");
    expectStatus(mine, 200);
    expect(mine.body.data.map((c: { id: number }) => c.id)).toEqual([course.id]);
    const outline = await learner("GET", `/v1/learner/courses/${course.id}/outline`);
    expectStatus(outline, 200);
    const locked = outline.body.sections[0].placements[2];
    expect(locked).toMatchObject({ locked: true, lock: { rule: "drip", opens_at: opensAt } });
    const denied = await learner("POST", `/v1/learner/courses/${course.id}/modules/${placements[2]}/launch`);
    expect(expectProblem(denied, 403)).toMatchObject({ rule: "drip", opens_at: opensAt });

    // The first two modules: launch and complete.
    for (const placement of placements.slice(0, 2)) {
      expectStatus(await learner("POST", `/v1/learner/courses/${course.id}/modules/${placement}/launch`), 200);
      expectStatus(await learner("POST", `/v1/learner/courses/${course.id}/modules/${placement}/complete`), 200);
    }
    const midway = await learner("GET", `/v1/learner/courses/${course.id}/outline`);
    expect(midway.body.enrollment.progress_percent).toBe(66); // 2 of 3, rounded down: 100 only when complete

    // The drip date arrives (the admin moves it to now, as time would), and the last module completes the course.
    await admin("PATCH", `/v1/admin/courses/${course.id}/placements/${placements[2]}`, {
      drip_date: new Date(Date.now() - 1000).toISOString(),
    });
    expectStatus(await learner("POST", `/v1/learner/courses/${course.id}/modules/${placements[2]}/launch`), 200);
    expectStatus(await learner("POST", `/v1/learner/courses/${course.id}/modules/${placements[2]}/complete`), 200);
    const done = await learner("GET", "/v1/learner/courses?status=completed");
    expect(done.body.data[0].enrollment).toMatchObject({ progress_status: "completed", progress_percent: 100 });

    // The certificate: the learner's list, the public verification, the PDF from R2.
    const certificates = await learner("GET", "/v1/learner/certificates");
    expectStatus(certificates, 200);
    expect(certificates.body.data).toHaveLength(1);
    const certificate = certificates.body.data[0];
    expect(certificate).toMatchObject({ course_id: course.id, template_id: template.id, status: "valid" });
    const verifyPath = new URL(certificate.verify_url).pathname;
    const verified = await api("GET", verifyPath, { tenant: t.slug });
    expectStatus(verified, 200);
    expect(JSON.stringify(verified.body)).toContain("First aid basics");
    const pdf = await api("GET", `/v1/learner/certificates/${certificate.id}/pdf`, { token: lea.token });
    expectStatus(pdf, 200);
    const stored = await env.MEDIA.get(`t/${t.id}/certificates/${certificate.code}.pdf`);
    expect(stored, "the PDF is stored in R2 MEDIA").not.toBeNull();
    const document = await PDFDocument.load(new Uint8Array(await stored!.arrayBuffer()));
    expect(document.getPageCount()).toBe(1);

    // The admin's view: the gradebook row and the activity log of the course.
    const gradebook = await admin("GET", `/v1/admin/courses/${course.id}/gradebook`);
    const row = gradebook.data.find((r: { learner: { id: number } }) => r.learner.id === lea.id);
    expect(row).toMatchObject({ progress_percent: 100, completed_at: expect.any(String) });
    const activity = await admin("GET", `/v1/admin/courses/${course.id}/activities?learner_id=${lea.id}&per_page=100`);
    const types = activity.data.map((a: { type: string }) => a.type);
    for (const type of ["enrollment.created", "module.launched", "module.completed", "enrollment.completed"]) {
      expect(types, type).toContain(type);
    }
  });
});
