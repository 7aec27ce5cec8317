/**
 * Mass assignment (OWASP API3): every operation of openapi.json with a JSON request body gets a minimal valid
 * body plus, one at a time, each field a client must never set (tenant_id, id, timestamps, role, is_admin,
 * hashes, score where the body does not document it). The answer is a 422 naming that field, and D1 holds exactly
 * what it held before (every row of the academies involved, and no academy or user made from the body).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { api, expectProblem, platformToken } from "../helpers/api";
import {
  createTenant,
  learnerSession,
  PASSWORD,
  roleId,
  staffSession,
  type TestTenant,
  unique,
} from "../helpers/factories";
import { minimalValue } from "./arbitraries";
import { call } from "./harness";
import { flatten, jsonBodySchema, type OpenApiDocument, type Operation, operationsOf } from "./openapi";
import { snapshot, stringsIn } from "./snapshot";

const FORBIDDEN: Record<string, (other: TestTenant) => unknown> = {
  tenant_id: (other) => other.id,
  id: () => 1,
  created_at: () => "2000-01-01T00:00:00.000Z",
  updated_at: () => "2000-01-01T00:00:00.000Z",
  role: () => "owner",
  is_admin: () => true,
  password_hash: () => "pbkdf2-sha256$100000$c2FsdA$aGFzaA",
  key_hash: () => "0".repeat(64),
  score: () => 999_999,
};

const doc = (await api("GET", "/openapi.json")).body as OpenApiDocument;
const operations = operationsOf(doc);
// Bodies that are files (media uploads, package zips: the bytes themselves, no fields) have nothing to mass-assign.
// The question CSV import (`text/csv`, or a form whose one part is that file) refuses unknown columns as a whole
// (test/questions-import.test.ts).
const FILE_TYPES = new Set(["*/*", "application/zip", "application/octet-stream", "text/csv", "multipart/form-data"]);
const writes = operations.filter(
  (o) => o.op.requestBody && !Object.keys(o.op.requestBody.content ?? {}).every((type) => FILE_TYPES.has(type)),
);

let academy: TestTenant;
/** Another academy: the tenant_id an attacker would like to write into. */
let other: TestTenant;
let learnerToken: string;
let overrides: Record<string, () => unknown>;
/** Academies created as path targets (a tenant for the platform operations). */
const targetTenants: number[] = [];
const targets = new Map<string, string>();
const covered = new Set<string>();
let requests = 0;
let fieldsTried = 0;

function credentialFor(operation: Operation): string | undefined {
  switch (operation.scheme) {
    case "none":
      return undefined;
    case "platformToken":
      return platformToken();
    case "adminBearer":
      return academy.key;
    case "learnerBearer":
      return learnerToken;
    default:
      throw new Error(`${operation.key}: no credential for ${operation.scheme}`);
  }
}

const minimalBody = (operation: Operation) =>
  minimalValue(doc, jsonBodySchema(operation) ?? {}, { overrides, unique: () => unique("ma") }) as Record<
    string,
    unknown
  >;

async function send(operation: Operation, path: string, body: unknown) {
  requests++;
  const headerTenant = operation.parameters.some((p) => p.in === "header" && p.name.toLowerCase() === "x-tenant");
  return call<Record<string, unknown>>(operation.method.toUpperCase(), path, {
    token: credentialFor(operation),
    tenant: headerTenant ? academy.slug : undefined,
    body,
  });
}

/** Collections whose items are created elsewhere (a placement is made inside a section). */
const CREATED_BY: Record<string, string> = {
  "/v1/admin/courses/{id}/placements": "/v1/admin/courses/{id}/sections/{sectionId}/placements",
};

/**
 * The path of an operation on a real resource of the academy: `/v1/admin/learners/{id}` gets a learner made by
 * `POST /v1/admin/learners` with a minimal body (and the platform's tenants a throwaway academy, never a fixture).
 */
async function realPath(operation: Operation): Promise<string> {
  let path = operation.path;
  for (const match of operation.path.matchAll(/\{(\w+)\}/g)) {
    const collection = operation.path.slice(0, match.index - 1);
    // The collection with the parameters before this one already filled in (`/v1/admin/courses/7/sections`).
    const concrete = path.slice(0, path.indexOf(match[0]) - 1);
    let id = targets.get(concrete);
    if (!id) {
      const createPath = CREATED_BY[collection] ?? collection;
      const create = operations.find((o) => o.method === "post" && o.path === createPath);
      if (!create) throw new Error(`${operation.key}: no POST ${createPath} to make a ${match[1]} with`);
      const createUrl = createPath === collection ? concrete : await realPath(create);
      const created = await send(create, createUrl, minimalBody(create));
      expect(created.status, `${create.key}: ${created.text}`).toBe(201);
      id = String(created.body.id);
      if (collection === "/v1/platform/tenants") targetTenants.push(Number(id));
      targets.set(concrete, id);
    }
    path = path.replace(match[0], id);
  }
  return path;
}

/** The errors of a 422 name the field (at the top level, where it was sent). */
function namesField(problem: { errors?: { path: string }[] }, field: string) {
  return (problem.errors ?? []).some((e) => e.path === field);
}

beforeAll(async () => {
  academy = await createTenant({ settings: { rate_limits: { writes_per_minute: 1_000_000 } } });
  other = await createTenant();
  learnerToken = (await learnerSession(academy)).token;
  // Learners cannot create courses: their course-scoped writes get an id that validation answers before lookup.
  targets.set("/v1/learner/courses", "999999");
  targets.set("/v1/learner/courses/999999/modules", "999999");
  // Media files are uploaded as raw bytes, not made from a JSON body.
  const file = await api("POST", "/v1/admin/media?name=notes.txt", {
    token: academy.key,
    rawBody: "Mass assignment",
    headers: { "content-type": "text/plain", "content-length": "15" },
  });
  expect(file.status, file.text).toBe(201);
  targets.set("/v1/admin/media", String(file.body.id));
  // Packages are uploaded as a zip body (this one fails its import, which PATCH does not mind); SCORM sessions
  // come from a launch: commits to an unknown session are answered before their body is read.
  const pkg = await api("POST", "/v1/admin/packages", {
    token: academy.key,
    rawBody: "not a zip",
    headers: { "content-type": "application/zip", "content-length": "9" },
  });
  expect(pkg.status, pkg.text).toBe(201);
  targets.set("/v1/admin/packages", String(pkg.body.id));
  // xAPI/cmi5 registrations come from a launch: a waive body is validated before the registration is looked up.
  targets.set(`/v1/admin/packages/${pkg.body.id}/registrations`, "0f8fad5b-d9cb-469f-a165-70867728950e");
  // Its import job runs on the JOBS queue: let it finish, so it writes nothing while snapshots are compared.
  await vi.waitUntil(
    async () => {
      const jobs = await api("GET", "/v1/admin/jobs?per_page=100", { token: academy.key });
      return (jobs.body.data as { status: string }[]).every((j) => j.status === "succeeded" || j.status === "failed");
    },
    { timeout: 30_000, interval: 100 },
  );
  targets.set("/v1/learner/scorm/sessions", "999999");
  // A discussion thread with one post by a staff user (API keys of no user cannot post); learner paths are
  // validated before their thread is looked up.
  const discussionCourse = await api("POST", "/v1/admin/courses", { token: academy.key, body: { name: unique("ma") } });
  const thread = await api("POST", "/v1/admin/discussions", {
    token: academy.key,
    body: { course_id: discussionCourse.body.id, title: "Mass assignment" },
  });
  expect(thread.status, thread.text).toBe(201);
  const moderator = await staffSession(academy, "instructor");
  const threadPost = await api("POST", `/v1/admin/discussions/${thread.body.id}/posts`, {
    token: moderator.token,
    body: { body: "First" },
  });
  expect(threadPost.status, threadPost.text).toBe(201);
  targets.set("/v1/admin/discussions", String(thread.body.id));
  targets.set(`/v1/admin/discussions/${thread.body.id}/posts`, String(threadPost.body.id));
  targets.set("/v1/learner/discussions", "999999");
  targets.set("/v1/learner/discussions/999999/posts", "999999");
  // Quizzes: a quiz module for its admin paths; attempts are validated before they are looked up (a made-up id).
  const quiz = await api("POST", "/v1/admin/modules", {
    token: academy.key,
    body: { type: "quiz", name: unique("ma") },
  });
  expect(quiz.status, quiz.text).toBe(201);
  targets.set("/v1/admin/quizzes", String(quiz.body.id));
  targets.set("/v1/admin/attempts", "999999");
  targets.set("/v1/learner/quizzes", "999999");
  targets.set("/v1/learner/attempts", "999999");
  targets.set("/v1/learner/attempts/999999/answers", "999999");
  // Surveys, assignments and flashcards: learner paths are validated before their module is looked up; a
  // submission to evaluate needs a learner's submission, so a made-up id (validation answers first) too.
  targets.set("/v1/learner/surveys", "999999");
  targets.set("/v1/learner/assignments", "999999");
  targets.set("/v1/learner/flashcards", "999999");
  targets.set("/v1/learner/flashcards/999999/cards", "999999");
  targets.set("/v1/admin/submissions", "999999");
  const instructor = await roleId(academy, "instructor");
  const client = await api("POST", "/v1/admin/api-clients", { token: academy.key, body: { name: unique("ma") } });
  const modules: number[] = [];
  for (let i = 0; i < 6; i++) {
    const made = await api("POST", "/v1/admin/modules", {
      token: academy.key,
      body: { type: "text", name: `MA ${i}` },
    });
    modules.push(made.body.id);
  }
  let nextModule = 0;
  expect(client.status).toBe(201);
  overrides = {
    role_id: () => instructor,
    // A different module each time: a module sits at most once in a course.
    module_id: () => modules[nextModule++ % modules.length],
    scopes: () => ["courses:read"],
    permissions: () => ["courses:read"],
    password: () => PASSWORD,
    client_id: () => client.body.client_id,
    client_secret: () => client.body.client_secret,
  };
}, 120_000);

afterAll(() => {
  console.log(
    `[mass-assignment] write operations covered: ${covered.size}/${writes.length} | forbidden fields tried: ${fieldsTried} | requests: ${requests}`,
  );
});

describe("mass assignment on every operation with a JSON body", () => {
  it("finds the write operations", () => {
    expect(writes.length).toBeGreaterThan(10);
  });

  for (const operation of writes) {
    it(operation.key, async () => {
      const schema = jsonBodySchema(operation);
      expect(schema, `${operation.key} has a request body but no application/json schema`).toBeDefined();
      const flat = flatten(doc, schema ?? {});
      const documented = new Set(Object.keys(flat.properties ?? {}));
      const strict = flat.additionalProperties === false;
      const path = await realPath(operation);

      // The minimal body alone has an accepted shape, so a 422 naming an added field can only come from that
      // field. (Its values may still be refused: a made-up reset token is a 422 on `token`, a documented field.)
      const baseline = await send(operation, path, minimalBody(operation));
      expect([400, 413, 415], `${operation.key} minimal body: ${baseline.text}`).not.toContain(baseline.status);
      const baselineErrors = (baseline.body?.errors ?? []) as { path: string }[];
      for (const error of baselineErrors) {
        expect(documented.has(error.path.split(".")[0]), `${operation.key} minimal body: ${baseline.text}`).toBe(true);
      }

      for (const [field, value] of Object.entries(FORBIDDEN)) {
        if (documented.has(field)) continue;
        fieldsTried++;
        const body = { ...minimalBody(operation), [field]: value(other) };
        const tenants = [academy.id, other.id, ...targetTenants];
        const names = stringsIn(body);
        const before = await snapshot(tenants, names);
        const res = await send(operation, path, body);
        if (strict) {
          const problem = expectProblem(res, 422);
          expect(namesField(problem, field), `${operation.key} + ${field}: ${res.text}`).toBe(true);
        } else {
          // An open schema (OAuth's token request: RFC 6749 section 3.2 says to ignore unknown parameters)
          // must ignore the field: same answer as without it, and a credential it issues stays in its academy.
          expect(res.status, `${operation.key} + ${field}: ${res.text}`).toBe(baseline.status);
          const issued = (res.body?.access_token ?? undefined) as string | undefined;
          if (issued) {
            const me = await call<{ tenant_id: number }>("GET", "/v1/admin/me", { token: issued });
            expect(me.body.tenant_id, `${operation.key} + ${field}: token of another academy`).toBe(academy.id);
          }
        }
        const after = await snapshot(tenants, names);
        expect(after.rows, `${operation.key} + ${field} wrote to D1`).toEqual(before.rows);
        expect(after.named, `${operation.key} + ${field} created an academy or user`).toBe(before.named);
      }
      covered.add(operation.key);
    });
  }

  it("covered every operation with a request body", () => {
    expect([...covered].sort()).toEqual(writes.map((o) => o.key).sort());
  });
});
