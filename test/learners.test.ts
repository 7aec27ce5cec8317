/**
 * Learners as the academy manages them (admin API) and as they manage themselves (learner API), plus the
 * catalog's core: categories and courses. Every test makes its own academies and credentials.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { api, expectProblem, expectStatus } from "./helpers/api";
import {
  createLearner,
  createTenant,
  keyWithout,
  learnerLogin,
  learnerSession,
  loginAttempt,
  PASSWORD,
  revokedKey,
  scopedKey,
  staffSession,
  type TestTenant,
  unique,
} from "./helpers/factories";

const NEW_PASSWORD = "another-long-passphrase-42";

const learnerEmail = (prefix = "learner") => `${unique(prefix)}@example.com`;

async function setCreatedAt(table: "users" | "courses", id: number, iso: string) {
  await env.DB.prepare(`UPDATE ${table} SET created_at = ? WHERE id = ?`).bind(iso, id).run();
}

async function createCategory(tenant: TestTenant, fields: Record<string, unknown> = {}) {
  const res = await api("POST", "/v1/admin/categories", {
    token: tenant.key,
    body: { name: unique("Category"), ...fields },
  });
  expectStatus(res, 201);
  return res.body as { id: number; slug: string; name: string; type: string; position: number };
}

async function createCourse(tenant: TestTenant, fields: Record<string, unknown> = {}) {
  const res = await api("POST", "/v1/admin/courses", {
    token: tenant.key,
    body: { name: unique("Course"), ...fields },
  });
  expectStatus(res, 201);
  return res.body as { id: number; slug: string; name: string; category_ids: number[]; status: string };
}

async function ids(token: string, path: string): Promise<number[]> {
  const res = await api("GET", path, { token });
  expectStatus(res, 200);
  return res.body.data.map((row: { id: number }) => row.id);
}

// ---- authentication and permissions on every endpoint ---------------------------------------------------------

describe("every learner, category and course endpoint refuses missing, revoked and under-privileged credentials", () => {
  let t: TestTenant;
  let revoked: string;
  let assistantToken: string;
  let learnerToken: string;
  const fixture: Record<string, number> = {};
  let learner: { id: number; email: string };
  let before: unknown;

  async function snapshot() {
    const [learners, one, categories, courses] = await Promise.all([
      api("GET", "/v1/admin/learners?per_page=100", { token: t.key }),
      api("GET", `/v1/admin/learners/${learner.id}`, { token: t.key }),
      api("GET", "/v1/admin/categories?per_page=100", { token: t.key }),
      api("GET", "/v1/admin/courses?per_page=100", { token: t.key }),
    ]);
    const withoutLogin = (rows: Record<string, unknown>[]) => rows.map((r) => ({ ...r, last_login_at: null }));
    return {
      learners: withoutLogin(learners.body.data),
      one: { ...one.body, last_login_at: null },
      categories: categories.body.data,
      courses: courses.body.data,
    };
  }

  beforeAll(async () => {
    t = await createTenant();
    revoked = await revokedKey(t);
    // The Assistant reads learners and courses but writes neither and holds no categories permission.
    assistantToken = (await staffSession(t, "assistant")).token;
    const session = await learnerSession(t);
    learnerToken = session.token;
    learner = await createLearner(t, { name: "Guarded Learner" });
    fixture.category = (await createCategory(t)).id;
    fixture.course = (await createCourse(t)).id;
    before = await snapshot();
  });

  const cases: {
    method: string;
    label: string;
    path: () => string;
    permission: string;
    body?: () => unknown;
    staffAllowed?: boolean;
  }[] = [
    { method: "GET", label: "/v1/admin/learners", path: () => "/v1/admin/learners", permission: "learners:read" },
    {
      method: "GET",
      label: "/v1/admin/learners/lookup",
      path: () => "/v1/admin/learners/lookup",
      permission: "learners:read",
    },
    {
      method: "GET",
      label: "/v1/admin/learners/by-email/{email}",
      path: () => `/v1/admin/learners/by-email/${encodeURIComponent(learner.email)}`,
      permission: "learners:read",
    },
    {
      method: "POST",
      label: "/v1/admin/learners",
      path: () => "/v1/admin/learners",
      permission: "learners:write",
      body: () => ({ name: "New", email: learnerEmail() }),
    },
    {
      method: "GET",
      label: "/v1/admin/learners/{id}",
      path: () => `/v1/admin/learners/${learner.id}`,
      permission: "learners:read",
    },
    {
      method: "PATCH",
      label: "/v1/admin/learners/{id}",
      path: () => `/v1/admin/learners/${learner.id}`,
      permission: "learners:write",
      body: () => ({ name: "Changed", status: "suspended", score: 99 }),
    },
    {
      method: "DELETE",
      label: "/v1/admin/learners/{id}",
      path: () => `/v1/admin/learners/${learner.id}`,
      permission: "learners:write",
    },
    {
      method: "GET",
      label: "/v1/admin/categories",
      path: () => "/v1/admin/categories",
      permission: "categories:read",
    },
    {
      method: "POST",
      label: "/v1/admin/categories",
      path: () => "/v1/admin/categories",
      permission: "categories:write",
      body: () => ({ name: "Guarded category" }),
    },
    {
      method: "GET",
      label: "/v1/admin/categories/{id}",
      path: () => `/v1/admin/categories/${fixture.category}`,
      permission: "categories:read",
    },
    { method: "GET", label: "/v1/admin/courses", path: () => "/v1/admin/courses", permission: "courses:read" },
    {
      method: "POST",
      label: "/v1/admin/courses",
      path: () => "/v1/admin/courses",
      permission: "courses:write",
      body: () => ({ name: "Guarded course" }),
    },
    {
      method: "GET",
      label: "/v1/admin/courses/{id}",
      path: () => `/v1/admin/courses/${fixture.course}`,
      permission: "courses:read",
    },
  ];

  it.each(cases)("$method $label", async ({ method, path, permission, body }) => {
    const call = (token?: string) => api(method, path(), { token, body: body?.() });
    expectProblem(await call(), 401);
    expect(expectProblem(await call(revoked), 401).detail).toMatch(/revoked/);
    expectProblem(await call("garbage.token.value"), 401);
    expectProblem(await call(learnerToken), 403);

    const problem = expectProblem(await call(await keyWithout(t, permission)), 403);
    expect(problem.required_permission).toBe(permission);
    const assistantHolds = ["learners:read", "courses:read"].includes(permission);
    if (assistantHolds) expect((await call(assistantToken)).status).toBe(200);
    else expect(expectProblem(await call(assistantToken), 403).required_permission).toBe(permission);
  });

  it("changed nothing through the refused calls", async () => {
    expect(await snapshot()).toEqual(before);
  });

  it("guards the learner's own profile: no token 401, ended session 401, admin credentials 403", async () => {
    const session = await learnerSession(t);
    for (const [method, body] of [
      ["GET", undefined],
      ["PATCH", { name: "Mine" }],
    ] as const) {
      expectProblem(await api(method, "/v1/learner/me", { body }), 401);
      expectProblem(await api(method, "/v1/learner/me", { token: "not-a-token", body }), 401);
      expectProblem(await api(method, "/v1/learner/me", { token: t.key, body }), 403);
      expectProblem(await api(method, "/v1/learner/me", { token: assistantToken, body }), 403);
    }
    expectStatus(await api("POST", "/v1/learner/auth/logout", { token: session.token }), 204);
    expectProblem(await api("GET", "/v1/learner/me", { token: session.token }), 401);
    expectProblem(await api("PATCH", "/v1/learner/me", { token: session.token, body: { name: "After" } }), 401);
    const row = await api("GET", `/v1/admin/learners/${session.id}`, { token: t.key });
    expect(row.body.name).toBe("Lea Learner");
  });
});

// ---- learners (admin) ------------------------------------------------------------------------------------------

describe("learners managed by the academy", () => {
  it("creates a learner with profile fields and never returns the password", async () => {
    const t = await createTenant();
    const res = await api("POST", "/v1/admin/learners", {
      token: t.key,
      body: {
        name: "  Ada Lovelace ",
        email: " Ada.Lovelace@Example.COM",
        password: PASSWORD,
        external_id: "crm-42",
        score: 7,
        company_name: "Analytical Engines",
        locale: "en-GB",
        timezone: "Europe/London",
        picture_src: "https://cdn.example.com/ada.png",
        email_verified: true,
      },
    });
    expectStatus(res, 201);
    expect(res.headers.get("location")).toBe(`/v1/admin/learners/${res.body.id}`);
    expect(res.body).toMatchObject({
      name: "Ada Lovelace",
      email: "ada.lovelace@example.com",
      status: "active",
      external_id: "crm-42",
      score: 7,
      company_name: "Analytical Engines",
      locale: "en-GB",
      timezone: "Europe/London",
      picture_src: "https://cdn.example.com/ada.png",
      email_unsubscribe: false,
      email_verified_at: expect.any(String),
      last_login_at: null,
    });
    expect(res.text).not.toMatch(/password|pbkdf2/i);
    const got = await api("GET", `/v1/admin/learners/${res.body.id}`, { token: t.key });
    expectStatus(got, 200);
    expect(got.body).toEqual(res.body);

    const minimal = await createLearner(t, { password: undefined });
    expect(minimal).toMatchObject({ score: 0, status: "active", external_id: null, email_verified_at: null });
  });

  it("lets a learner sign in with the password the academy set, and not without one", async () => {
    const t = await createTenant();
    const learner = await createLearner(t);
    const session = await learnerLogin(t, learner.email.toUpperCase());
    expect(session.user.id).toBe(learner.id);
    const me = await api("GET", "/v1/learner/me", { token: session.access_token });
    expectStatus(me, 200);
    expect(me.body).toMatchObject({ id: learner.id, email: learner.email });
    const after = await api("GET", `/v1/admin/learners/${learner.id}`, { token: t.key });
    expect(after.body.last_login_at).not.toBeNull();

    expectProblem(await loginAttempt("learner", t, learner.email, "wrong-password-123"), 401);
    const noPassword = await createLearner(t, { password: undefined });
    expectProblem(await loginAttempt("learner", t, noPassword.email), 401);
    // A learner is not staff: the admin sign-in does not know them.
    expectProblem(await loginAttempt("admin", t, learner.email), 401);
  });

  it("answers invalid learner bodies with 422 naming the field, and creates no one", async () => {
    const t = await createTenant();
    const base = { name: "Val", email: learnerEmail(), password: PASSWORD };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, role_id: 1 }, "role_id"],
      [{ ...base, kind: "staff" }, "kind"],
      [{ ...base, password_hash: "x" }, "password_hash"],
      [{ ...base, email: "ada-at-example.com" }, "email"],
      [{ ...base, password: "short" }, "password"],
      [{ ...base, score: -1 }, "score"],
      [{ ...base, status: "banned" }, "status"],
      [{ ...base, locale: "english please" }, "locale"],
      [{ ...base, picture_src: "javascript:alert(1)" }, "picture_src"],
      [{ ...base, name: "" }, "name"],
      [{ email: learnerEmail() }, "name"],
    ];
    for (const [body, path] of cases) {
      const problem = expectProblem(await api("POST", "/v1/admin/learners", { token: t.key, body }), 422);
      expect(problem.errors?.map((e) => e.path)).toContain(path);
    }
    const unknown = expectProblem(
      await api("POST", "/v1/admin/learners", { token: t.key, body: { ...base, is_admin: true } }),
      422,
    );
    expect(unknown.errors).toEqual([{ path: "is_admin", message: "Unknown field." }]);
    expect((await api("GET", "/v1/admin/learners", { token: t.key })).body.meta.total).toBe(0);
  });

  it("refuses a duplicate email within an academy (409), whatever its case", async () => {
    const t = await createTenant();
    const first = await createLearner(t);
    const dup = expectProblem(
      await api("POST", "/v1/admin/learners", {
        token: t.key,
        body: { name: "Copy", email: first.email.toUpperCase() },
      }),
      409,
    );
    expect(dup.detail).toContain(first.email);
    const second = await createLearner(t);
    expectProblem(
      await api("PATCH", `/v1/admin/learners/${second.id}`, {
        token: t.key,
        body: { email: first.email.replace("learner", "LEARNER") },
      }),
      409,
    );
    expect((await api("GET", `/v1/admin/learners/${second.id}`, { token: t.key })).body.email).toBe(second.email);
    expect((await api("GET", "/v1/admin/learners", { token: t.key })).body.meta.total).toBe(2);
    // Keeping one's own email is not a conflict.
    expectStatus(
      await api("PATCH", `/v1/admin/learners/${second.id}`, { token: t.key, body: { email: second.email } }),
      200,
    );
    // Another academy may have a learner with the same email.
    const other = await createTenant();
    expectStatus(
      await api("POST", "/v1/admin/learners", { token: other.key, body: { name: "Twin", email: first.email } }),
      201,
    );
  });

  it("lists learners with search, filters, sort and pages", async () => {
    const t = await createTenant();
    const ada = await createLearner(t, { name: "Ada Lovelace", email: `${unique("ada")}@analytical.test` });
    const grace = await createLearner(t, { name: "Grace Hopper", status: "suspended" });
    const alan = await createLearner(t, { name: "Alan Turing" });
    await setCreatedAt("users", ada.id, "2020-01-01T00:00:00.000Z");
    await setCreatedAt("users", grace.id, "2021-06-01T00:00:00.000Z");

    expect(await ids(t.key, "/v1/admin/learners")).toEqual([alan.id, grace.id, ada.id]);
    expect(await ids(t.key, "/v1/admin/learners?sort=name")).toEqual([ada.id, alan.id, grace.id]);
    expect(await ids(t.key, "/v1/admin/learners?sort=-name")).toEqual([grace.id, alan.id, ada.id]);
    expect(await ids(t.key, "/v1/admin/learners?sort=created_at")).toEqual([ada.id, grace.id, alan.id]);

    expect(await ids(t.key, "/v1/admin/learners?q=HOPPER")).toEqual([grace.id]);
    expect(await ids(t.key, "/v1/admin/learners?q=analytical")).toEqual([ada.id]);
    expect(await ids(t.key, "/v1/admin/learners?q=a%25")).toEqual([]); // % is a character, not a wildcard
    expect(await ids(t.key, "/v1/admin/learners?status=suspended")).toEqual([grace.id]);
    expect(await ids(t.key, "/v1/admin/learners?status=active&sort=name")).toEqual([ada.id, alan.id]);
    expect(await ids(t.key, `/v1/admin/learners?email=${encodeURIComponent(ada.email.toUpperCase())}`)).toEqual([
      ada.id,
    ]);
    expect(await ids(t.key, "/v1/admin/learners?email=analytical.test")).toEqual([]); // exact, not a search

    expect(await ids(t.key, "/v1/admin/learners?created_from=2021-01-01T00:00:00Z&sort=created_at")).toEqual([
      grace.id,
      alan.id,
    ]);
    expect(await ids(t.key, "/v1/admin/learners?created_to=2021-01-01T00:00:00Z")).toEqual([ada.id]);
    expect(
      await ids(t.key, "/v1/admin/learners?created_from=2019-12-31T23:00:00-02:00&created_to=2021-12-31T00:00:00Z"),
    ).toEqual([grace.id]);

    const page = await api("GET", "/v1/admin/learners?sort=name&per_page=2&page=2", { token: t.key });
    expect(page.body.data.map((l: { id: number }) => l.id)).toEqual([grace.id]);
    expect(page.body.meta).toEqual({ page: 2, per_page: 2, total: 3, last_page: 2 });
    const beyond = await api("GET", "/v1/admin/learners?page=9", { token: t.key });
    expect(beyond.body.data).toEqual([]);
    expect(beyond.body.meta.total).toBe(3);

    for (const query of ["status=deleted", "created_from=yesterday", "sort=score", "sort=name,password_hash"]) {
      const problem = expectProblem(await api("GET", `/v1/admin/learners?${query}`, { token: t.key }), 422);
      expect(problem.errors?.[0].path).toMatch(/^query\./);
    }
  });

  it("offers a learner picker labelled `Name <email>`", async () => {
    const t = await createTenant();
    const ada = await createLearner(t, { name: "Ada Picker" });
    await createLearner(t, { name: "Bob Other" });
    const res = await api("GET", "/v1/admin/learners/lookup?q=picker", { token: t.key });
    expectStatus(res, 200);
    expect(res.body).toEqual([{ value: ada.id, label: `Ada Picker <${ada.email}>` }]);
    const limited = await api("GET", "/v1/admin/learners/lookup?limit=1", { token: t.key });
    expect(limited.body).toEqual([{ value: ada.id, label: `Ada Picker <${ada.email}>` }]);
    expectProblem(await api("GET", "/v1/admin/learners/lookup?limit=101", { token: t.key }), 422);
  });

  it("finds a learner by email, case-insensitively", async () => {
    const t = await createTenant();
    const learner = await createLearner(t, { email: `${unique("Mixed.Case+tag")}@Example.com` });
    expect(learner.email).toBe(learner.email.toLowerCase());
    for (const asked of [learner.email, learner.email.toUpperCase()]) {
      const res = await api("GET", `/v1/admin/learners/by-email/${encodeURIComponent(asked)}`, { token: t.key });
      expectStatus(res, 200);
      expect(res.body.id).toBe(learner.id);
    }
    expectProblem(await api("GET", "/v1/admin/learners/by-email/nobody%40example.com", { token: t.key }), 404);
    // Staff are not learners.
    expectProblem(
      await api("GET", `/v1/admin/learners/by-email/${encodeURIComponent(t.ownerEmail)}`, { token: t.key }),
      404,
    );
    expectProblem(await api("GET", `/v1/admin/learners/by-email/${"x".repeat(300)}`, { token: t.key }), 422);
  });

  it("updates a learner's profile, score, status and external id", async () => {
    const t = await createTenant();
    const learner = await createLearner(t, { locale: "en" });
    const res = await api("PATCH", `/v1/admin/learners/${learner.id}`, {
      token: t.key,
      body: { name: "Renamed", score: 120, external_id: "ext-9", locale: null, email_unsubscribe: true },
    });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({
      id: learner.id,
      name: "Renamed",
      score: 120,
      external_id: "ext-9",
      locale: null,
      email_unsubscribe: true,
      email: learner.email,
    });
    expect(Date.parse(res.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(learner.updated_at as string));
    expect((await api("GET", `/v1/admin/learners/${learner.id}`, { token: t.key })).body).toEqual(res.body);

    const problem = expectProblem(
      await api("PATCH", `/v1/admin/learners/${learner.id}`, {
        token: t.key,
        body: { name: "Again", kind: "staff", role_id: 1 },
      }),
      422,
    );
    expect(problem.errors?.map((e) => e.path).sort()).toEqual(["kind", "role_id"]);
    expectProblem(
      await api("PATCH", `/v1/admin/learners/${learner.id}`, { token: t.key, body: { score: "lots" } }),
      422,
    );
    expect((await api("GET", `/v1/admin/learners/${learner.id}`, { token: t.key })).body.name).toBe("Renamed");
  });

  it("a new password from the academy ends the learner's sessions", async () => {
    const t = await createTenant();
    const learner = await learnerSession(t);
    expectStatus(
      await api("PATCH", `/v1/admin/learners/${learner.id}`, { token: t.key, body: { password: NEW_PASSWORD } }),
      200,
    );
    expectProblem(await api("GET", "/v1/learner/me", { token: learner.token }), 401);
    expectProblem(
      await api("POST", "/v1/learner/auth/refresh", { body: { refresh_token: learner.refreshToken } }),
      401,
    );
    expectProblem(await loginAttempt("learner", t, learner.email, PASSWORD), 401);
    const fresh = await learnerLogin(t, learner.email, NEW_PASSWORD);
    expectStatus(await api("GET", "/v1/learner/me", { token: fresh.access_token }), 200);
  });

  it("suspension blocks the learner's session and sign-in until reactivated", async () => {
    const t = await createTenant();
    const learner = await learnerSession(t);
    const res = await api("PATCH", `/v1/admin/learners/${learner.id}`, {
      token: t.key,
      body: { status: "suspended" },
    });
    expectStatus(res, 200);
    expect(res.body.status).toBe("suspended");
    // The session ended with the suspension.
    expectProblem(await api("GET", "/v1/learner/me", { token: learner.token }), 401);
    expectProblem(
      await api("POST", "/v1/learner/auth/refresh", { body: { refresh_token: learner.refreshToken } }),
      401,
    );
    const login = expectProblem(await loginAttempt("learner", t, learner.email), 403);
    expect(login.detail).toMatch(/suspended/);
    expect(await ids(t.key, "/v1/admin/learners?status=suspended")).toEqual([learner.id]);

    expectStatus(
      await api("PATCH", `/v1/admin/learners/${learner.id}`, { token: t.key, body: { status: "active" } }),
      200,
    );
    const again = await learnerLogin(t, learner.email);
    expectStatus(await api("GET", "/v1/learner/me", { token: again.access_token }), 200);
  });

  it("a suspended learner's still-open session is refused with 403", async () => {
    // Suspension through the API ends sessions; this proves the per-request status check behind it.
    const t = await createTenant();
    const learner = await learnerSession(t);
    await env.DB.prepare("UPDATE users SET status = 'suspended' WHERE id = ?").bind(learner.id).run();
    const problem = expectProblem(await api("GET", "/v1/learner/me", { token: learner.token }), 403);
    expect(problem.detail).toMatch(/suspended/);
    expectProblem(await api("PATCH", "/v1/learner/me", { token: learner.token, body: { name: "Still me" } }), 403);
  });

  it("deletes a learner: gone from reads, their session and sign-in end", async () => {
    const t = await createTenant();
    const learner = await learnerSession(t);
    const keep = await createLearner(t);
    expectStatus(await api("DELETE", `/v1/admin/learners/${learner.id}`, { token: t.key }), 204);
    expectProblem(await api("GET", `/v1/admin/learners/${learner.id}`, { token: t.key }), 404);
    expectProblem(
      await api("GET", `/v1/admin/learners/by-email/${encodeURIComponent(learner.email)}`, { token: t.key }),
      404,
    );
    expectProblem(await api("DELETE", `/v1/admin/learners/${learner.id}`, { token: t.key }), 404);
    expectProblem(await api("PATCH", `/v1/admin/learners/${learner.id}`, { token: t.key, body: { name: "X" } }), 404);
    expectProblem(await api("GET", "/v1/learner/me", { token: learner.token }), 401);
    expectProblem(await loginAttempt("learner", t, learner.email), 401);
    expect(await ids(t.key, "/v1/admin/learners")).toEqual([keep.id]);
    // The email is free again.
    expectStatus(
      await api("POST", "/v1/admin/learners", { token: t.key, body: { name: "Back", email: learner.email } }),
      201,
    );
  });

  it("answers staff ids on learner routes with 404", async () => {
    const t = await createTenant();
    const ownerId = t.ownerUserId!;
    expectProblem(await api("GET", `/v1/admin/learners/${ownerId}`, { token: t.key }), 404);
    expectProblem(
      await api("PATCH", `/v1/admin/learners/${ownerId}`, { token: t.key, body: { status: "suspended" } }),
      404,
    );
    expectProblem(await api("DELETE", `/v1/admin/learners/${ownerId}`, { token: t.key }), 404);
    const owner = await api("GET", `/v1/admin/staff/${ownerId}`, { token: t.key });
    expect(owner.body).toMatchObject({ status: "active", role: "owner" });
  });
});

// ---- the learner's own profile ----------------------------------------------------------------------------------

describe("PATCH /v1/learner/me", () => {
  it("updates the learner's own profile fields", async () => {
    const t = await createTenant();
    const learner = await learnerSession(t);
    const res = await api("PATCH", "/v1/learner/me", {
      token: learner.token,
      body: {
        name: "Lea Renamed",
        picture_src: "https://cdn.example.com/lea.png",
        company_name: "Lea Co",
        email_unsubscribe: true,
        locale: "fr-CA",
        timezone: "America/Montreal",
      },
    });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({
      id: learner.id,
      name: "Lea Renamed",
      picture_src: "https://cdn.example.com/lea.png",
      company_name: "Lea Co",
      email_unsubscribe: true,
      locale: "fr-CA",
      timezone: "America/Montreal",
      email: learner.email,
      status: "active",
      score: 0,
    });
    expect((await api("GET", "/v1/learner/me", { token: learner.token })).body).toEqual(res.body);
    expect((await api("GET", `/v1/admin/learners/${learner.id}`, { token: t.key })).body).toEqual(res.body);

    const cleared = await api("PATCH", "/v1/learner/me", { token: learner.token, body: { company_name: null } });
    expect(cleared.body).toMatchObject({ company_name: null, name: "Lea Renamed" });
    // The session survives a profile change.
    expectStatus(await api("GET", "/v1/learner/me", { token: learner.token }), 200);
  });

  it("refuses fields the academy manages (mass assignment) with 422 naming each, changing nothing", async () => {
    const t = await createTenant();
    const learner = await learnerSession(t);
    const before = await api("GET", "/v1/learner/me", { token: learner.token });
    const forbidden: Record<string, unknown> = {
      email: "taken-over@example.com",
      score: 1_000_000,
      status: "active",
      external_id: "mine",
      password: NEW_PASSWORD,
      email_verified: true,
      paypal_email: "pay@example.com",
      role_id: 1,
      id: 1,
    };
    for (const [field, value] of Object.entries(forbidden)) {
      const problem = expectProblem(
        await api("PATCH", "/v1/learner/me", { token: learner.token, body: { name: "Sneaky", [field]: value } }),
        422,
      );
      expect(problem.errors).toEqual([{ path: field, message: "Unknown field." }]);
    }
    const all = expectProblem(
      await api("PATCH", "/v1/learner/me", { token: learner.token, body: { email: "x@example.com", score: 5 } }),
      422,
    );
    expect(all.errors?.map((e) => e.path).sort()).toEqual(["email", "score"]);
    const invalid = expectProblem(
      await api("PATCH", "/v1/learner/me", { token: learner.token, body: { timezone: "Nowhere/Land" } }),
      422,
    );
    expect(invalid.errors?.[0].path).toBe("timezone");

    expect((await api("GET", "/v1/learner/me", { token: learner.token })).body).toEqual(before.body);
    // Old password still signs in; the email was not changed.
    await learnerLogin(t, learner.email);
  });
});

// ---- tenant isolation of learners -------------------------------------------------------------------------------

describe("a learner of one academy never shows in another", () => {
  it("keeps A's learner out of B's lists, searches, lookups and reads, and B cannot change them", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const theirs = await createLearner(a, { name: "Zelda Isolated" });
    const session = await learnerLogin(a, theirs.email);
    const mine = await createLearner(b, { name: "Bea Local" });
    const before = await api("GET", `/v1/admin/learners/${theirs.id}`, { token: a.key });

    expect(await ids(b.key, "/v1/admin/learners?per_page=100")).toEqual([mine.id]);
    expect(await ids(b.key, "/v1/admin/learners?q=Zelda")).toEqual([]);
    expect(await ids(b.key, `/v1/admin/learners?email=${encodeURIComponent(theirs.email)}`)).toEqual([]);
    expect(await ids(b.key, "/v1/admin/learners?created_from=2000-01-01T00:00:00Z")).toEqual([mine.id]);
    expect((await api("GET", "/v1/admin/learners/lookup?q=Zelda", { token: b.key })).body).toEqual([]);
    expectProblem(
      await api("GET", `/v1/admin/learners/by-email/${encodeURIComponent(theirs.email)}`, { token: b.key }),
      404,
    );
    expectProblem(await api("GET", `/v1/admin/learners/${theirs.id}`, { token: b.key }), 404);
    expectProblem(
      await api("PATCH", `/v1/admin/learners/${theirs.id}`, {
        token: b.key,
        body: { name: "Hijacked", status: "suspended", password: NEW_PASSWORD, email: learnerEmail() },
      }),
      404,
    );
    expectProblem(await api("DELETE", `/v1/admin/learners/${theirs.id}`, { token: b.key }), 404);

    const after = await api("GET", `/v1/admin/learners/${theirs.id}`, { token: a.key });
    expect({ ...after.body, last_login_at: null }).toEqual({ ...before.body, last_login_at: null });
    expectStatus(await api("GET", "/v1/learner/me", { token: session.access_token }), 200);
    await learnerLogin(a, theirs.email);

    // Signing in to B with A's learner fails: accounts belong to one academy.
    expectProblem(await loginAttempt("learner", b, theirs.email), 401);
    // A's learner token sees A's learner only, whatever academy header it carries.
    const me = await api("GET", "/v1/learner/me", { token: session.access_token, tenant: b.slug });
    expect(me.body.id).toBe(theirs.id);
  });
});

// ---- categories -------------------------------------------------------------------------------------------------

describe("categories", () => {
  it("creates typed categories and lists them by position, filtered by type", async () => {
    const t = await createTenant();
    const res = await api("POST", "/v1/admin/categories", {
      token: t.key,
      body: { name: "Data Science & AI", description: "Numbers", position: 2 },
    });
    expectStatus(res, 201);
    expect(res.headers.get("location")).toBe(`/v1/admin/categories/${res.body.id}`);
    expect(res.body).toMatchObject({
      type: "course",
      name: "Data Science & AI",
      slug: "data-science-ai",
      description: "Numbers",
      position: 2,
    });
    const got = await api("GET", `/v1/admin/categories/${res.body.id}`, { token: t.key });
    expectStatus(got, 200);
    expect(got.body).toEqual(res.body);

    const first = await createCategory(t, { name: "Basics", position: 1 });
    const moduleCat = await createCategory(t, { type: "module", name: "Labs", position: 0 });
    expect(moduleCat.type).toBe("module");

    expect(await ids(t.key, "/v1/admin/categories")).toEqual([moduleCat.id, first.id, res.body.id]);
    expect(await ids(t.key, "/v1/admin/categories?type=course")).toEqual([first.id, res.body.id]);
    expect(await ids(t.key, "/v1/admin/categories?type=module")).toEqual([moduleCat.id]);
    expect(await ids(t.key, "/v1/admin/categories?sort=-name")).toEqual([moduleCat.id, res.body.id, first.id]);
    expect(await ids(t.key, "/v1/admin/categories?q=scien")).toEqual([res.body.id]);
    const page = await api("GET", "/v1/admin/categories?per_page=1&page=3", { token: t.key });
    expect(page.body.meta).toEqual({ page: 3, per_page: 1, total: 3, last_page: 3 });
    expectProblem(await api("GET", "/v1/admin/categories?type=tag", { token: t.key }), 422);
  });

  it("answers invalid category bodies with 422 naming the field", async () => {
    const t = await createTenant();
    const cases: [Record<string, unknown>, string][] = [
      [{ name: "Cat", tenant_id: 1 }, "tenant_id"],
      [{ name: "Cat", type: "tag" }, "type"],
      [{ name: "Cat", slug: "Not A Slug" }, "slug"],
      [{ name: "Cat", position: -1 }, "position"],
      [{ name: "" }, "name"],
    ];
    for (const [body, path] of cases) {
      const problem = expectProblem(await api("POST", "/v1/admin/categories", { token: t.key, body }), 422);
      expect(problem.errors?.map((e) => e.path)).toContain(path);
    }
    expect((await api("GET", "/v1/admin/categories", { token: t.key })).body.meta.total).toBe(0);
  });

  it("keeps slugs unique per academy and type (409)", async () => {
    const t = await createTenant();
    await createCategory(t, { name: "Design" });
    const dup = expectProblem(
      await api("POST", "/v1/admin/categories", { token: t.key, body: { name: "Other", slug: "design" } }),
      409,
    );
    expect(dup.detail).toContain("design");
    expectProblem(await api("POST", "/v1/admin/categories", { token: t.key, body: { name: "DESIGN" } }), 409);
    // Same slug, another type: allowed. Same slug, another academy: allowed.
    await createCategory(t, { name: "Design", type: "question" });
    await createCategory(await createTenant(), { name: "Design" });
    expect((await api("GET", "/v1/admin/categories", { token: t.key })).body.meta.total).toBe(2);
  });

  it("answers another academy's category ids with 404", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const theirs = await createCategory(b, { name: "Private" });
    expectProblem(await api("GET", `/v1/admin/categories/${theirs.id}`, { token: a.key }), 404);
    expect(await ids(a.key, "/v1/admin/categories")).toEqual([]);
    expect(await ids(a.key, "/v1/admin/categories?q=Private")).toEqual([]);
    expectProblem(await api("GET", "/v1/admin/categories/0", { token: a.key }), 422);
  });
});

// ---- courses ----------------------------------------------------------------------------------------------------

describe("courses", () => {
  it("creates a draft course with a slug from its name and its categories", async () => {
    const t = await createTenant();
    const cat = await createCategory(t);
    const res = await api("POST", "/v1/admin/courses", {
      token: t.key,
      body: {
        name: "Introduction to Statistics",
        subtitle: "Mean, median, mode",
        description: "<p>Hello</p>",
        show_in_catalog: false,
        category_ids: [cat.id, cat.id],
      },
    });
    expectStatus(res, 201);
    expect(res.headers.get("location")).toBe(`/v1/admin/courses/${res.body.id}`);
    expect(res.body).toMatchObject({
      name: "Introduction to Statistics",
      slug: "introduction-to-statistics",
      subtitle: "Mean, median, mode",
      description: "<p>Hello</p>",
      status: "draft",
      show_in_catalog: false,
      category_ids: [cat.id],
    });
    const got = await api("GET", `/v1/admin/courses/${res.body.id}`, { token: t.key });
    expectStatus(got, 200);
    expect(got.body).toEqual(res.body);

    const minimal = await createCourse(t, { name: "Minimal" });
    expect(minimal).toMatchObject({ slug: "minimal", category_ids: [], show_in_catalog: true, status: "draft" });
    const chosen = await createCourse(t, { name: "Whatever", slug: "my-own-slug" });
    expect(chosen.slug).toBe("my-own-slug");
  });

  it("keeps course slugs unique per academy (409) and creates nothing on conflict", async () => {
    const t = await createTenant();
    await createCourse(t, { name: "Algebra" });
    const explicit = expectProblem(
      await api("POST", "/v1/admin/courses", { token: t.key, body: { name: "Other", slug: "algebra" } }),
      409,
    );
    expect(explicit.detail).toContain("algebra");
    expect((await api("GET", "/v1/admin/courses", { token: t.key })).body.meta.total).toBe(1);
    // A slug made from the name gets the first free suffix instead of a conflict.
    expect((await createCourse(t, { name: "ALGEBRA" })).slug).toBe("algebra-2");
    expect((await createCourse(t, { name: "Algebra" })).slug).toBe("algebra-3");
    // Another academy may use the slug.
    expect((await createCourse(await createTenant(), { name: "Algebra" })).slug).toBe("algebra");
  });

  it("answers invalid course bodies with 422 naming the field", async () => {
    const t = await createTenant();
    const cases: [Record<string, unknown>, string][] = [
      [{ name: "Course", status: "published" }, "status"],
      [{ name: "Course", tenant_id: 1 }, "tenant_id"],
      [{ name: "Course", slug: "Has Spaces" }, "slug"],
      [{ name: "Course", category_ids: ["one"] }, "category_ids.0"],
      [{ name: "Course", show_in_catalog: "yes" }, "show_in_catalog"],
      [{ name: "Course", subtitle: "x".repeat(301) }, "subtitle"],
      [{}, "name"],
    ];
    for (const [body, path] of cases) {
      const problem = expectProblem(await api("POST", "/v1/admin/courses", { token: t.key, body }), 422);
      expect(problem.errors?.map((e) => e.path)).toContain(path);
    }
    const unknown = expectProblem(
      await api("POST", "/v1/admin/courses", { token: t.key, body: { name: "Course", published_at: "now" } }),
      422,
    );
    expect(unknown.errors).toEqual([{ path: "published_at", message: "Unknown field." }]);
    expect((await api("GET", "/v1/admin/courses", { token: t.key })).body.meta.total).toBe(0);
  });

  it("refuses another academy's category (422) and creates nothing", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const mine = await createCategory(a);
    const theirs = await createCategory(b);
    const problem = expectProblem(
      await api("POST", "/v1/admin/courses", {
        token: a.key,
        body: { name: "Borrowing", category_ids: [mine.id, theirs.id] },
      }),
      422,
    );
    expect(problem.errors).toEqual([{ path: "category_ids", message: expect.stringContaining(String(theirs.id)) }]);
    // A category of another type is refused as well.
    const moduleCat = await createCategory(a, { type: "module" });
    expectProblem(
      await api("POST", "/v1/admin/courses", {
        token: a.key,
        body: { name: "Borrowing", category_ids: [moduleCat.id] },
      }),
      422,
    );
    expectProblem(
      await api("POST", "/v1/admin/courses", {
        token: a.key,
        body: { name: "Borrowing", category_ids: [999_999_999] },
      }),
      422,
    );
    expect((await api("GET", "/v1/admin/courses", { token: a.key })).body.meta.total).toBe(0);
    expect((await api("GET", `/v1/admin/courses?category_id=${theirs.id}`, { token: b.key })).body.meta.total).toBe(0);
    // The slug was not taken by the refused attempt.
    expect((await createCourse(a, { name: "Borrowing", category_ids: [mine.id] })).slug).toBe("borrowing");
  });

  it("lists courses with status, category and text filters, sort and pages", async () => {
    const t = await createTenant();
    const stats = await createCategory(t, { name: "Stats" });
    const art = await createCategory(t, { name: "Art" });
    const algebra = await createCourse(t, { name: "Algebra", category_ids: [stats.id] });
    const painting = await createCourse(t, { name: "Painting", category_ids: [art.id] });
    const both = await createCourse(t, { name: "Data Art", category_ids: [art.id, stats.id] });
    await env.DB.prepare("UPDATE courses SET status = 'published' WHERE id = ?").bind(painting.id).run();
    await setCreatedAt("courses", algebra.id, "2020-01-01T00:00:00.000Z");

    expect(await ids(t.key, "/v1/admin/courses?sort=name")).toEqual([algebra.id, both.id, painting.id]);
    expect(await ids(t.key, "/v1/admin/courses?sort=-name")).toEqual([painting.id, both.id, algebra.id]);
    expect((await ids(t.key, "/v1/admin/courses")).at(-1)).toBe(algebra.id); // newest first by default
    expect(await ids(t.key, "/v1/admin/courses?status=published")).toEqual([painting.id]);
    expect(await ids(t.key, "/v1/admin/courses?status=draft&sort=name")).toEqual([algebra.id, both.id]);
    expect(await ids(t.key, "/v1/admin/courses?status=archived")).toEqual([]);
    expect(await ids(t.key, `/v1/admin/courses?category_id=${stats.id}&sort=name`)).toEqual([algebra.id, both.id]);
    expect(await ids(t.key, `/v1/admin/courses?category_id=${art.id}&status=published`)).toEqual([painting.id]);
    expect(await ids(t.key, "/v1/admin/courses?q=art&sort=name")).toEqual([both.id]);

    const list = await api("GET", "/v1/admin/courses?sort=name&per_page=2", { token: t.key });
    expect(list.body.meta).toEqual({ page: 1, per_page: 2, total: 3, last_page: 2 });
    expect(list.body.data[1]).toMatchObject({ id: both.id, category_ids: expect.arrayContaining([art.id, stats.id]) });
    expect(list.body.data[1].category_ids).toHaveLength(2);

    // Deleted courses are not listed or readable.
    await env.DB.prepare("UPDATE courses SET deleted_at = ? WHERE id = ?")
      .bind(new Date().toISOString(), algebra.id)
      .run();
    expect(await ids(t.key, "/v1/admin/courses?sort=name")).toEqual([both.id, painting.id]);
    expectProblem(await api("GET", `/v1/admin/courses/${algebra.id}`, { token: t.key }), 404);

    for (const query of ["status=live", "category_id=abc", "sort=slug", "per_page=0"]) {
      expectProblem(await api("GET", `/v1/admin/courses?${query}`, { token: t.key }), 422);
    }
  });

  it("answers another academy's course ids with 404 and never lists them", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const cat = await createCategory(b);
    const theirs = await createCourse(b, { name: "Secret Course", category_ids: [cat.id] });
    expectProblem(await api("GET", `/v1/admin/courses/${theirs.id}`, { token: a.key }), 404);
    expect(await ids(a.key, "/v1/admin/courses")).toEqual([]);
    expect(await ids(a.key, "/v1/admin/courses?q=Secret")).toEqual([]);
    expect(await ids(a.key, `/v1/admin/courses?category_id=${cat.id}`)).toEqual([]);
    expectStatus(await api("GET", `/v1/admin/courses/${theirs.id}`, { token: b.key }), 200);
  });

  it("lets a key scoped to courses read and write courses but not categories", async () => {
    const t = await createTenant();
    const key = (await scopedKey(t, ["courses:read", "courses:write"])).key;
    const course = await api("POST", "/v1/admin/courses", { token: key, body: { name: "Scoped" } });
    expectStatus(course, 201);
    expectStatus(await api("GET", `/v1/admin/courses/${course.body.id}`, { token: key }), 200);
    expectProblem(await api("GET", "/v1/admin/categories", { token: key }), 403);
    expectProblem(await api("POST", "/v1/admin/categories", { token: key, body: { name: "No" } }), 403);
    // An Instructor builds courses and categories; an Assistant only reads courses.
    const instructor = await staffSession(t, "instructor");
    expectStatus(await api("POST", "/v1/admin/categories", { token: instructor.token, body: { name: "Inst" } }), 201);
    const assistant = await staffSession(t, "assistant");
    expectProblem(await api("POST", "/v1/admin/courses", { token: assistant.token, body: { name: "No" } }), 403);
    expect((await api("GET", "/v1/admin/courses", { token: assistant.token })).body.meta.total).toBe(1);
  });
});

describe("course slugs from long names", () => {
  it("finds a free slug for a 64-character base without a D1 pattern error", async () => {
    const t = await createTenant();
    const name = "A very long course name that keeps going well past fifty characters of text";
    const first = await api("POST", "/v1/admin/courses", { token: t.key, body: { name } });
    expectStatus(first, 201);
    const second = await api("POST", "/v1/admin/courses", { token: t.key, body: { name } });
    expectStatus(second, 201);
    // The suffix still fits the 64-character slug limit.
    expect(second.body.slug).toBe(`${first.body.slug.slice(0, 58).replace(/-+$/, "")}-2`);
    expect(second.body.slug.length).toBeLessThanOrEqual(64);
    const third = await api("POST", "/v1/admin/courses", { token: t.key, body: { name } });
    expect(third.body.slug).toBe(second.body.slug.replace(/-2$/, "-3"));
  });
});
