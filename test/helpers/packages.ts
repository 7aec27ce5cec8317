/**
 * What the package tests share: a raw call through the Worker's fetch handler (any headers and body, e.g. a zip
 * upload or a `/content/` file), an admin POST, a package uploaded and imported (the JOBS handler run inline), and
 * a published course placing it with enrolled learners.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { expect } from "vitest";
import worker from "../../src/index";
import { importPackage } from "../../src/modules/packages/import";
import { type ApiResponse, api, expectStatus } from "./api";
import type { learnerSession, TestTenant } from "./factories";
import { unique } from "./factories";

type Learner = Awaited<ReturnType<typeof learnerSession>>;

/** A request as a browser or a package's content would send it; `path` may be a full URL. */
export async function raw(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: BodyInit,
): Promise<ApiResponse> {
  const url = path.startsWith("http") ? path : `http://lectern.test${path}`;
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(url, { method, headers, body }), env, ctx);
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field in tests
  let parsed: any = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body: parsed, text } as ApiResponse;
}

/** An admin POST that must succeed; its body. */
export async function post(t: TestTenant, path: string, body: unknown) {
  const res = await api("POST", path, { token: t.key, body });
  expect(res.status, `${path}: ${res.text}`).toBeLessThan(300);
  return res.body;
}

/** Uploads a package zip and imports it (the JOBS handler, inline): the package, ready. */
export async function importedPackage(t: TestTenant, zip: Uint8Array) {
  const res = await raw(
    "POST",
    "/v1/admin/packages",
    { authorization: `Bearer ${t.key}`, "content-type": "application/zip", "content-length": String(zip.length) },
    zip,
  );
  expect(res.status, res.text).toBe(201);
  await importPackage(env, t.id, res.body.id);
  const pkg = await api("GET", `/v1/admin/packages/${res.body.id}`, { token: t.key });
  expectStatus(pkg, 200);
  expect(pkg.body.status, JSON.stringify(pkg.body)).toBe("ready");
  return pkg.body;
}

/** A published course with one required placement of a package module, and these learners enrolled (if any). */
export async function courseWithPackage(t: TestTenant, packageId: number, learners: Learner[]) {
  const module = await post(t, "/v1/admin/modules", {
    type: "scorm",
    name: unique("Package"),
    settings: { package_id: packageId },
  });
  const course = await post(t, "/v1/admin/courses", { name: unique("Course") });
  const section = await post(t, `/v1/admin/courses/${course.id}/sections`, { name: "Week 1" });
  const placement = await post(t, `/v1/admin/courses/${course.id}/sections/${section.id}/placements`, {
    module_id: module.id,
    required: true,
  });
  expectStatus(await api("POST", `/v1/admin/courses/${course.id}/publish`, { token: t.key }), 200);
  if (learners.length) {
    await post(t, `/v1/admin/courses/${course.id}/enrollments`, { learner_ids: learners.map((l) => l.id) });
  }
  return { courseId: course.id as number, placementId: placement.id as number, moduleId: module.id as number };
}
