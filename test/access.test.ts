/**
 * Identity and access of an academy's admin API: roles, permissions, the caller, staff users, invitations,
 * API keys and OAuth API clients. Every test makes its own academies and credentials.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { sha256Hex } from "../src/platform/crypto";
import { ALL_PERMISSIONS, SYSTEM_ROLES } from "../src/platform/permissions";
import { api, expectProblem, expectStatus } from "./helpers/api";
import {
  createTenant,
  keyWithout,
  lastEvent,
  learnerSession,
  loginAttempt,
  PASSWORD,
  revokedKey,
  roleId,
  scopedKey,
  staffSession,
  type TestTenant,
  unique,
} from "./helpers/factories";

const NEW_PASSWORD = "another-long-passphrase-42";

const email = (prefix = "staff") => `${unique(prefix)}@example.com`;

async function createRole(tenant: TestTenant, permissions: string[], name = unique("Role"), token = tenant.key) {
  const res = await api("POST", "/v1/admin/roles", { token, body: { name, permissions } });
  expectStatus(res, 201);
  return res.body as { id: number; key: string; name: string; permissions: string[] };
}

async function createStaff(tenant: TestTenant, role: string | number, fields: Record<string, unknown> = {}) {
  const res = await api("POST", "/v1/admin/staff", {
    token: tenant.key,
    body: {
      name: "Sam Staff",
      email: email(),
      role_id: typeof role === "number" ? role : await roleId(tenant, role),
      password: PASSWORD,
      ...fields,
    },
  });
  expectStatus(res, 201);
  return res.body as { id: number; email: string; role: string; role_id: number; status: string };
}

async function staffLogin(tenant: TestTenant, userEmail: string, password = PASSWORD) {
  const res = await loginAttempt("admin", tenant, userEmail, password);
  expectStatus(res, 200);
  return res.body as { access_token: string; refresh_token: string; user: { id: number } };
}

async function createInvitation(tenant: TestTenant, role: string, fields: Record<string, unknown> = {}) {
  const res = await api("POST", "/v1/admin/invitations", {
    token: tenant.key,
    body: { email: email("invitee"), role_id: await roleId(tenant, role), ...fields },
  });
  expectStatus(res, 201);
  return res.body as { id: number; email: string; token: string; status: string; role_id: number; expires_at: string };
}

async function createClient(tenant: TestTenant, scopes?: string[], token = tenant.key) {
  const res = await api("POST", "/v1/admin/api-clients", {
    token,
    body: { name: unique("client"), ...(scopes ? { scopes } : {}) },
  });
  expectStatus(res, 201);
  return res.body as { id: number; client_id: string; client_secret: string; scopes: string[] };
}

function oauthToken(clientId: string, clientSecret: string) {
  return api("POST", "/v1/oauth/token", {
    body: { grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret },
    headers: { "cf-connecting-ip": `192.0.2.${Math.floor(Math.random() * 250) + 1}` },
  });
}

async function listAll(token: string, path: string) {
  const res = await api("GET", `${path}${path.includes("?") ? "&" : "?"}per_page=100`, { token });
  expectStatus(res, 200);
  return res.body.data as Record<string, unknown>[];
}

// ---- authentication and permissions on every endpoint ---------------------------------------------------------

describe("every access endpoint refuses missing, revoked and under-privileged credentials", () => {
  let t: TestTenant;
  let revoked: string;
  let instructorToken: string;
  let learnerToken: string;
  const ids: Record<string, number> = {};
  let clientSecret = "";
  let clientId = "";
  let before: Record<string, unknown>;

  async function snapshot() {
    const [role, staff, invitations, key, client, roles, staffList, clients] = await Promise.all([
      api("GET", `/v1/admin/roles/${ids.role}`, { token: t.key }),
      api("GET", `/v1/admin/staff/${ids.staff}`, { token: t.key }),
      listAll(t.key, "/v1/admin/invitations"),
      api("GET", `/v1/admin/api-keys/${ids.key}`, { token: t.key }),
      api("GET", `/v1/admin/api-clients/${ids.client}`, { token: t.key }),
      listAll(t.key, "/v1/admin/roles"),
      listAll(t.key, "/v1/admin/staff"),
      listAll(t.key, "/v1/admin/api-clients"),
    ]);
    return {
      role: role.body,
      staff: { ...staff.body, last_login_at: null },
      invitations,
      key: { ...key.body, last_used_at: null },
      client: { ...client.body, last_used_at: null },
      roles: roles.length,
      staffCount: staffList.length,
      clients: clients.length,
    };
  }

  beforeAll(async () => {
    t = await createTenant();
    revoked = await revokedKey(t);
    instructorToken = (await staffSession(t, "instructor")).token;
    learnerToken = (await learnerSession(t)).token;
    ids.instructor = await roleId(t, "instructor");
    ids.role = (await createRole(t, ["courses:read"])).id;
    ids.staff = (await createStaff(t, "assistant")).id;
    ids.invitation = (await createInvitation(t, "assistant")).id;
    ids.key = (await scopedKey(t, ["courses:read"])).id;
    const client = await createClient(t, ["courses:read"]);
    ids.client = client.id;
    clientId = client.client_id;
    clientSecret = client.client_secret;
    before = await snapshot();
  });

  const cases: { method: string; label: string; path: () => string; permission?: string; body?: () => unknown }[] = [
    { method: "GET", label: "/v1/admin/me", path: () => "/v1/admin/me" },
    { method: "GET", label: "/v1/admin/permissions", path: () => "/v1/admin/permissions" },
    { method: "GET", label: "/v1/admin/roles", path: () => "/v1/admin/roles", permission: "roles:read" },
    { method: "GET", label: "/v1/admin/roles/lookup", path: () => "/v1/admin/roles/lookup", permission: "roles:read" },
    {
      method: "POST",
      label: "/v1/admin/roles",
      path: () => "/v1/admin/roles",
      permission: "roles:write",
      body: () => ({ name: "Guarded", permissions: ["courses:read"] }),
    },
    {
      method: "GET",
      label: "/v1/admin/roles/{id}",
      path: () => `/v1/admin/roles/${ids.role}`,
      permission: "roles:read",
    },
    {
      method: "PATCH",
      label: "/v1/admin/roles/{id}",
      path: () => `/v1/admin/roles/${ids.role}`,
      permission: "roles:write",
      body: () => ({ name: "Renamed" }),
    },
    {
      method: "DELETE",
      label: "/v1/admin/roles/{id}",
      path: () => `/v1/admin/roles/${ids.role}`,
      permission: "roles:write",
    },
    { method: "GET", label: "/v1/admin/staff", path: () => "/v1/admin/staff", permission: "staff:read" },
    { method: "GET", label: "/v1/admin/staff/lookup", path: () => "/v1/admin/staff/lookup", permission: "staff:read" },
    {
      method: "POST",
      label: "/v1/admin/staff",
      path: () => "/v1/admin/staff",
      permission: "staff:write",
      body: () => ({ name: "Guarded", email: email(), role_id: ids.instructor }),
    },
    {
      method: "GET",
      label: "/v1/admin/staff/{id}",
      path: () => `/v1/admin/staff/${ids.staff}`,
      permission: "staff:read",
    },
    {
      method: "PATCH",
      label: "/v1/admin/staff/{id}",
      path: () => `/v1/admin/staff/${ids.staff}`,
      permission: "staff:write",
      body: () => ({ name: "Renamed", status: "suspended" }),
    },
    {
      method: "DELETE",
      label: "/v1/admin/staff/{id}",
      path: () => `/v1/admin/staff/${ids.staff}`,
      permission: "staff:write",
    },
    { method: "GET", label: "/v1/admin/invitations", path: () => "/v1/admin/invitations", permission: "staff:read" },
    {
      method: "POST",
      label: "/v1/admin/invitations",
      path: () => "/v1/admin/invitations",
      permission: "staff:write",
      body: () => ({ email: email(), role_id: ids.instructor }),
    },
    {
      method: "DELETE",
      label: "/v1/admin/invitations/{id}",
      path: () => `/v1/admin/invitations/${ids.invitation}`,
      permission: "staff:write",
    },
    { method: "GET", label: "/v1/admin/api-keys", path: () => "/v1/admin/api-keys", permission: "api_keys:read" },
    {
      method: "POST",
      label: "/v1/admin/api-keys",
      path: () => "/v1/admin/api-keys",
      permission: "api_keys:write",
      body: () => ({ name: "Guarded", scopes: ["courses:read"] }),
    },
    {
      method: "GET",
      label: "/v1/admin/api-keys/{id}",
      path: () => `/v1/admin/api-keys/${ids.key}`,
      permission: "api_keys:read",
    },
    {
      method: "DELETE",
      label: "/v1/admin/api-keys/{id}",
      path: () => `/v1/admin/api-keys/${ids.key}`,
      permission: "api_keys:write",
    },
    {
      method: "GET",
      label: "/v1/admin/api-clients",
      path: () => "/v1/admin/api-clients",
      permission: "api_clients:read",
    },
    {
      method: "POST",
      label: "/v1/admin/api-clients",
      path: () => "/v1/admin/api-clients",
      permission: "api_clients:write",
      body: () => ({ name: "Guarded", scopes: ["courses:read"] }),
    },
    {
      method: "GET",
      label: "/v1/admin/api-clients/{id}",
      path: () => `/v1/admin/api-clients/${ids.client}`,
      permission: "api_clients:read",
    },
    {
      method: "POST",
      label: "/v1/admin/api-clients/{id}/rotate-secret",
      path: () => `/v1/admin/api-clients/${ids.client}/rotate-secret`,
      permission: "api_clients:write",
    },
    {
      method: "DELETE",
      label: "/v1/admin/api-clients/{id}",
      path: () => `/v1/admin/api-clients/${ids.client}`,
      permission: "api_clients:write",
    },
  ];

  it.each(cases)("$method $label", async ({ method, path, permission, body }) => {
    const call = (token?: string) => api(method, path(), { token, body: body?.() });

    const none = expectProblem(await call(), 401);
    expect(none.detail).toMatch(/credential/i);
    expect((await call()).headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(expectProblem(await call(revoked), 401).detail).toMatch(/revoked/);
    expectProblem(await call("lk_notakey_0000000000000000000000000000000000000000000"), 401);
    expectProblem(await call("not-a-jwt"), 401);
    // A learner's token belongs to the learner API.
    expectProblem(await call(learnerToken), 403);

    if (permission) {
      // A key holding every permission but the one this operation needs.
      const problem = expectProblem(await call(await keyWithout(t, permission)), 403);
      expect(problem.required_permission).toBe(permission);
      expect(problem.detail).toContain(permission);
      // A signed-in Instructor holds none of the access-management permissions.
      expect(expectProblem(await call(instructorToken), 403).required_permission).toBe(permission);
    } else {
      // Any valid admin credential may ask who it is and what it may do.
      expectStatus(await call(revoked.replace(/.$/, "x")), 401);
      expectStatus(await call(await keyWithout(t, "courses:read")), 200);
      expectStatus(await call(instructorToken), 200);
    }
  });

  it("changed nothing through the refused calls", async () => {
    expect(await snapshot()).toEqual(before);
    // The client's secret was not rotated: it still gets tokens.
    expectStatus(await oauthToken(clientId, clientSecret), 200);
  });
});

// ---- roles ------------------------------------------------------------------------------------------------------

describe("roles", () => {
  it("lists the built-in roles of a new academy, sorted and paginated", async () => {
    const t = await createTenant();
    const res = await api("GET", "/v1/admin/roles", { token: t.key });
    expectStatus(res, 200);
    expect(res.body.meta).toEqual({ page: 1, per_page: 15, total: 5, last_page: 1 });
    expect(res.body.data.map((r: { name: string }) => r.name)).toEqual([
      "Admin",
      "Assistant",
      "Instructor",
      "Owner",
      "Support Specialist",
    ]);
    for (const seed of SYSTEM_ROLES) {
      const role = res.body.data.find((r: { key: string }) => r.key === seed.key);
      expect(role).toMatchObject({ name: seed.name, is_system: true, permissions: seed.permissions });
    }
    const owner = res.body.data.find((r: { key: string }) => r.key === "owner");
    expect(owner.permissions).toEqual(["*"]);

    const desc = await api("GET", "/v1/admin/roles?sort=-name&per_page=2&page=2", { token: t.key });
    expectStatus(desc, 200);
    expect(desc.body.data.map((r: { name: string }) => r.name)).toEqual(["Instructor", "Assistant"]);
    expect(desc.body.meta).toEqual({ page: 2, per_page: 2, total: 5, last_page: 3 });

    const search = await api("GET", "/v1/admin/roles?q=SPEC", { token: t.key });
    expect(search.body.data.map((r: { key: string }) => r.key)).toEqual(["support_specialist"]);
  });

  it("rejects list parameters it does not know with 422", async () => {
    const t = await createTenant();
    const problem = expectProblem(await api("GET", "/v1/admin/roles?sort=permissions", { token: t.key }), 422);
    expect(problem.errors?.[0].path).toBe("query.sort");
    expectProblem(await api("GET", "/v1/admin/roles/lookup?limit=0", { token: t.key }), 422);
    expectProblem(await api("GET", "/v1/admin/roles/abc", { token: t.key }), 422);
  });

  it("offers a role picker of {value, label} pairs", async () => {
    const t = await createTenant();
    const custom = await createRole(t, ["courses:read"], "Course Reviewer");
    const all = await api("GET", "/v1/admin/roles/lookup", { token: t.key });
    expectStatus(all, 200);
    expect(all.body).toHaveLength(6);
    expect(all.body[0]).toEqual({ value: expect.any(Number), label: "Admin" });
    const found = await api("GET", "/v1/admin/roles/lookup?q=review", { token: t.key });
    expect(found.body).toEqual([{ value: custom.id, label: "Course Reviewer" }]);
    const limited = await api("GET", "/v1/admin/roles/lookup?limit=2", { token: t.key });
    expect(limited.body.map((r: { label: string }) => r.label)).toEqual(["Admin", "Assistant"]);
  });

  it("creates a custom role whose holders get exactly its permissions", async () => {
    const t = await createTenant();
    const res = await api("POST", "/v1/admin/roles", {
      token: t.key,
      body: { name: "Course Reviewer", description: "Reads courses", permissions: ["courses:read", "courses:read"] },
    });
    expectStatus(res, 201);
    expect(res.headers.get("location")).toBe(`/v1/admin/roles/${res.body.id}`);
    expect(res.body).toMatchObject({
      key: "custom_course_reviewer",
      name: "Course Reviewer",
      description: "Reads courses",
      permissions: ["courses:read"],
      is_system: false,
    });
    const got = await api("GET", `/v1/admin/roles/${res.body.id}`, { token: t.key });
    expect(got.body).toEqual(res.body);

    const holder = await createStaff(t, res.body.id);
    expect(holder.role).toBe("custom_course_reviewer");
    const session = await staffLogin(t, holder.email);
    expectStatus(await api("GET", "/v1/admin/courses", { token: session.access_token }), 200);
    expectProblem(await api("GET", "/v1/admin/learners", { token: session.access_token }), 403);
    expectProblem(await api("POST", "/v1/admin/courses", { token: session.access_token, body: { name: "Nope" } }), 403);
  });

  it("answers invalid role bodies with 422 naming each field, and creates nothing", async () => {
    const t = await createTenant();
    const unknownField = expectProblem(
      await api("POST", "/v1/admin/roles", {
        token: t.key,
        body: { name: "Sneaky", permissions: ["courses:read"], is_system: true },
      }),
      422,
    );
    expect(unknownField.errors).toEqual([{ path: "is_system", message: "Unknown field." }]);

    const unknownPermission = expectProblem(
      await api("POST", "/v1/admin/roles", {
        token: t.key,
        body: { name: "Typo", permissions: ["courses:read", "courses:destroy"] },
      }),
      422,
    );
    expect(unknownPermission.errors?.map((e) => e.path)).toEqual(["permissions.1"]);

    const wildcard = expectProblem(
      await api("POST", "/v1/admin/roles", { token: t.key, body: { name: "Almighty", permissions: ["*"] } }),
      422,
    );
    expect(wildcard.errors?.[0].path).toBe("permissions");

    const missing = expectProblem(await api("POST", "/v1/admin/roles", { token: t.key, body: { name: " " } }), 422);
    expect(missing.errors?.map((e) => e.path).sort()).toEqual(["name", "permissions"]);

    const roles = await api("GET", "/v1/admin/roles", { token: t.key });
    expect(roles.body.meta.total).toBe(5);
  });

  it("refuses a second role with the same name (409)", async () => {
    const t = await createTenant();
    await createRole(t, ["courses:read"], "Graders");
    const dup = expectProblem(
      await api("POST", "/v1/admin/roles", { token: t.key, body: { name: "graders", permissions: [] } }),
      409,
    );
    expect(dup.detail).toContain("graders");
    // Another academy may use the same name.
    const other = await createTenant();
    await createRole(other, ["courses:read"], "Graders");
  });

  it("updates a custom role and its holders' permissions change at once", async () => {
    const t = await createTenant();
    const role = await createRole(t, ["courses:read"], "Helpers");
    const holder = await createStaff(t, role.id);
    const session = await staffLogin(t, holder.email);
    expectProblem(await api("GET", "/v1/admin/learners", { token: session.access_token }), 403);

    const res = await api("PATCH", `/v1/admin/roles/${role.id}`, {
      token: t.key,
      body: { name: "Learner Helpers", permissions: ["learners:read"], description: null },
    });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({
      id: role.id,
      key: "custom_learner_helpers",
      name: "Learner Helpers",
      permissions: ["learners:read"],
      description: null,
    });
    expectStatus(await api("GET", "/v1/admin/learners", { token: session.access_token }), 200);
    expectProblem(await api("GET", "/v1/admin/courses", { token: session.access_token }), 403);

    const staff = await api("GET", `/v1/admin/staff/${holder.id}`, { token: t.key });
    expect(staff.body.role).toBe("custom_learner_helpers");
  });

  it("answers invalid role updates with 422 and changes nothing", async () => {
    const t = await createTenant();
    const role = await createRole(t, ["courses:read"], "Readers");
    const problem = expectProblem(
      await api("PATCH", `/v1/admin/roles/${role.id}`, { token: t.key, body: { key: "owner", name: "Hijack" } }),
      422,
    );
    expect(problem.errors).toEqual([{ path: "key", message: "Unknown field." }]);
    expectProblem(
      await api("PATCH", `/v1/admin/roles/${role.id}`, { token: t.key, body: { permissions: ["nope"] } }),
      422,
    );
    const after = await api("GET", `/v1/admin/roles/${role.id}`, { token: t.key });
    expect(after.body).toMatchObject({ name: "Readers", key: role.key, permissions: ["courses:read"] });
  });

  it("refuses to rename a role onto another role's name (409)", async () => {
    const t = await createTenant();
    await createRole(t, ["courses:read"], "Alpha");
    const beta = await createRole(t, ["courses:read"], "Beta");
    expectProblem(await api("PATCH", `/v1/admin/roles/${beta.id}`, { token: t.key, body: { name: "ALPHA" } }), 409);
    expect((await api("GET", `/v1/admin/roles/${beta.id}`, { token: t.key })).body.name).toBe("Beta");
  });

  it("refuses to change or delete built-in roles (409)", async () => {
    const t = await createTenant();
    for (const seed of SYSTEM_ROLES) {
      const id = await roleId(t, seed.key);
      const patch = expectProblem(
        await api("PATCH", `/v1/admin/roles/${id}`, { token: t.key, body: { permissions: ["courses:read"] } }),
        409,
      );
      expect(patch.detail).toMatch(/built-in/i);
      expectProblem(await api("PATCH", `/v1/admin/roles/${id}`, { token: t.key, body: { name: "Renamed" } }), 409);
      expectProblem(await api("DELETE", `/v1/admin/roles/${id}`, { token: t.key }), 409);
      const after = await api("GET", `/v1/admin/roles/${id}`, { token: t.key });
      expect(after.body).toMatchObject({ name: seed.name, permissions: seed.permissions, is_system: true });
    }
  });

  it("refuses to delete a role held by staff or a pending invitation (409), then deletes it", async () => {
    const t = await createTenant();
    const role = await createRole(t, ["courses:read"]);
    const holder = await createStaff(t, role.id);
    const held = expectProblem(await api("DELETE", `/v1/admin/roles/${role.id}`, { token: t.key }), 409);
    expect(held.used_by).toEqual({ staff: 1, invitations: 0 });

    // Move the holder away; a pending invitation still holds the role.
    expectStatus(
      await api("PATCH", `/v1/admin/staff/${holder.id}`, {
        token: t.key,
        body: { role_id: await roleId(t, "assistant") },
      }),
      200,
    );
    const invitation = await api("POST", "/v1/admin/invitations", {
      token: t.key,
      body: { email: email("invitee"), role_id: role.id },
    });
    expectStatus(invitation, 201);
    const pending = expectProblem(await api("DELETE", `/v1/admin/roles/${role.id}`, { token: t.key }), 409);
    expect(pending.used_by).toEqual({ staff: 0, invitations: 1 });
    expectStatus(await api("GET", `/v1/admin/roles/${role.id}`, { token: t.key }), 200);

    expectStatus(await api("DELETE", `/v1/admin/invitations/${invitation.body.id}`, { token: t.key }), 204);
    expectStatus(await api("DELETE", `/v1/admin/roles/${role.id}`, { token: t.key }), 204);
    expectProblem(await api("GET", `/v1/admin/roles/${role.id}`, { token: t.key }), 404);
    expectProblem(await api("DELETE", `/v1/admin/roles/${role.id}`, { token: t.key }), 404);
  });

  it("never lets a credential grant permissions it lacks through a role (403)", async () => {
    const t = await createTenant();
    const key = (await scopedKey(t, ["roles:read", "roles:write", "courses:read"])).key;
    const escalate = expectProblem(
      await api("POST", "/v1/admin/roles", {
        token: key,
        body: { name: "Escalation", permissions: ["courses:read", "courses:write", "staff:write"] },
      }),
      403,
    );
    expect(escalate.missing_permissions).toEqual(["courses:write", "staff:write"]);
    expect((await api("GET", "/v1/admin/roles", { token: t.key })).body.meta.total).toBe(5);

    const allowed = await createRole(t, ["courses:read"], "Allowed", key);
    const patch = expectProblem(
      await api("PATCH", `/v1/admin/roles/${allowed.id}`, {
        token: key,
        body: { permissions: ["courses:read", "settings:write"] },
      }),
      403,
    );
    expect(patch.missing_permissions).toEqual(["settings:write"]);
    expect((await api("GET", `/v1/admin/roles/${allowed.id}`, { token: t.key })).body.permissions).toEqual([
      "courses:read",
    ]);

    // A signed-in Admin holds every listed permission, so it may build any custom role.
    const admin = await staffSession(t, "admin");
    await createRole(t, [...ALL_PERMISSIONS], "Everything", admin.token);
  });

  it("answers another academy's role ids with 404 and changes nothing", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const custom = await createRole(b, ["courses:read"], "Theirs");
    const builtIn = await roleId(b, "admin");
    for (const id of [custom.id, builtIn]) {
      expectProblem(await api("GET", `/v1/admin/roles/${id}`, { token: a.key }), 404);
      // 404, not 409: a built-in role of another academy is not revealed to exist.
      expectProblem(await api("PATCH", `/v1/admin/roles/${id}`, { token: a.key, body: { name: "Mine" } }), 404);
      expectProblem(await api("DELETE", `/v1/admin/roles/${id}`, { token: a.key }), 404);
    }
    const after = await api("GET", `/v1/admin/roles/${custom.id}`, { token: b.key });
    expect(after.body).toEqual(custom);
    const aRoles = await listAll(a.key, "/v1/admin/roles");
    expect(aRoles.map((r) => r.id)).not.toContain(custom.id);
    expect((await api("GET", "/v1/admin/roles/lookup?q=Theirs", { token: a.key })).body).toEqual([]);
  });
});

// ---- permissions and the caller -----------------------------------------------------------------------------------

describe("GET /v1/admin/permissions", () => {
  it("lists every permission with whether the caller holds it", async () => {
    const t = await createTenant();
    const owner = await api("GET", "/v1/admin/permissions", { token: t.key });
    expectStatus(owner, 200);
    expect(owner.body.data.map((p: { permission: string }) => p.permission)).toEqual(ALL_PERMISSIONS);
    for (const p of owner.body.data) {
      expect(p.granted).toBe(true);
      expect(p.description.length).toBeGreaterThan(5);
    }

    const scoped = await scopedKey(t, ["courses:read", "learners:write"]);
    const limited = await api("GET", "/v1/admin/permissions", { token: scoped.key });
    const granted = limited.body.data.filter((p: { granted: boolean }) => p.granted);
    expect(granted.map((p: { permission: string }) => p.permission)).toEqual(["learners:write", "courses:read"]);

    const instructor = await staffSession(t, "instructor");
    const staffView = await api("GET", "/v1/admin/permissions", { token: instructor.token });
    const instructorSeed = SYSTEM_ROLES.find((r) => r.key === "instructor")!;
    expect(
      staffView.body.data
        .filter((p: { granted: boolean }) => p.granted)
        .map((p: { permission: string }) => p.permission)
        .sort(),
    ).toEqual([...instructorSeed.permissions].sort());
  });
});

describe("GET /v1/admin/me", () => {
  it("describes an API key: the academy, the key and its permissions, no user", async () => {
    const t = await createTenant();
    const keys = await api("GET", "/v1/admin/api-keys", { token: t.key });
    const ownerKeyId = keys.body.data.find((k: { name: string }) => k.name === "Owner key").id;
    const res = await api("GET", "/v1/admin/me", { token: t.key });
    expectStatus(res, 200);
    expect(res.body).toEqual({
      tenant_id: t.id,
      credential: { type: "api_key", id: ownerKeyId },
      permissions: ALL_PERMISSIONS,
      user: null,
    });

    const scoped = await scopedKey(t, ["courses:read"]);
    const me = await api("GET", "/v1/admin/me", { token: scoped.key });
    expect(me.body).toMatchObject({ credential: { type: "api_key", id: scoped.id }, permissions: ["courses:read"] });
  });

  it("describes a staff session with its user and role, and a key made by that user", async () => {
    const t = await createTenant();
    const instructor = await staffSession(t, "instructor");
    const res = await api("GET", "/v1/admin/me", { token: instructor.token });
    expectStatus(res, 200);
    expect(res.body.tenant_id).toBe(t.id);
    expect(res.body.credential.type).toBe("staff");
    expect(res.body.user).toMatchObject({ id: instructor.id, email: instructor.email, role: "instructor" });
    expect(res.body.user).not.toHaveProperty("password_hash");
    expect([...res.body.permissions].sort()).toEqual(
      [...SYSTEM_ROLES.find((r) => r.key === "instructor")!.permissions].sort(),
    );

    const admin = await staffSession(t, "admin");
    const made = await api("POST", "/v1/admin/api-keys", {
      token: admin.token,
      body: { name: "Admin's key", scopes: ["courses:read"] },
    });
    expectStatus(made, 201);
    const viaKey = await api("GET", "/v1/admin/me", { token: made.body.key });
    expect(viaKey.body).toMatchObject({
      credential: { type: "api_key", id: made.body.id },
      permissions: ["courses:read"],
      user: { id: admin.id, role: "admin" },
    });

    // After sign-out the session's token is refused.
    expectStatus(await api("POST", "/v1/admin/auth/logout", { token: instructor.token }), 204);
    expectProblem(await api("GET", "/v1/admin/me", { token: instructor.token }), 401);
  });

  it("describes an OAuth client token", async () => {
    const t = await createTenant();
    const client = await createClient(t, ["courses:read", "learners:read"]);
    const token = await oauthToken(client.client_id, client.client_secret);
    expectStatus(token, 200);
    const me = await api("GET", "/v1/admin/me", { token: token.body.access_token });
    expectStatus(me, 200);
    expect(me.body).toEqual({
      tenant_id: t.id,
      credential: { type: "api_client", id: client.id },
      permissions: ["courses:read", "learners:read"],
      user: null,
    });
  });
});

// ---- staff ------------------------------------------------------------------------------------------------------

describe("staff", () => {
  it("adds a staff user who can sign in with the password given", async () => {
    const t = await createTenant();
    const instructorRole = await roleId(t, "instructor");
    const res = await api("POST", "/v1/admin/staff", {
      token: t.key,
      body: {
        name: "Ines Instructor",
        email: "  Ines.Instructor@Example.COM ",
        role_id: instructorRole,
        password: PASSWORD,
        locale: "pt-BR",
        timezone: "Europe/Lisbon",
      },
    });
    expectStatus(res, 201);
    expect(res.headers.get("location")).toBe(`/v1/admin/staff/${res.body.id}`);
    expect(res.body).toMatchObject({
      name: "Ines Instructor",
      email: "ines.instructor@example.com",
      role_id: instructorRole,
      role: "instructor",
      status: "active",
      locale: "pt-BR",
      timezone: "Europe/Lisbon",
      last_login_at: null,
    });
    expect(res.text).not.toMatch(/password|pbkdf2/i);
    const got = await api("GET", `/v1/admin/staff/${res.body.id}`, { token: t.key });
    expect(got.body).toEqual(res.body);

    const login = await staffLogin(t, "ines.instructor@example.com");
    expect(login.user.id).toBe(res.body.id);
    expectStatus(await api("GET", "/v1/admin/courses", { token: login.access_token }), 200);
    const after = await api("GET", `/v1/admin/staff/${res.body.id}`, { token: t.key });
    expect(after.body.last_login_at).not.toBeNull();

    // Without a password the user cannot sign in until a reset.
    const noPassword = await createStaff(t, "assistant", { password: undefined });
    expectProblem(await loginAttempt("admin", t, noPassword.email), 401);
  });

  it("lists staff with filters, search, sort and pages", async () => {
    const t = await createTenant();
    const zed = await createStaff(t, "instructor", { name: "Zed Instructor" });
    const amy = await createStaff(t, "assistant", { name: "Amy Assistant", email: `${unique("amy")}@school.test` });
    const bob = await createStaff(t, "instructor", { name: "Bob Instructor", status: "suspended" });

    const all = await api("GET", "/v1/admin/staff?sort=name", { token: t.key });
    expectStatus(all, 200);
    expect(all.body.data.map((s: { name: string }) => s.name)).toEqual([
      "Amy Assistant",
      "Bob Instructor",
      "Owner",
      "Zed Instructor",
    ]);
    expect(all.body.data.find((s: { id: number }) => s.id === t.ownerUserId).role).toBe("owner");

    const instructors = await api("GET", `/v1/admin/staff?role_id=${await roleId(t, "instructor")}&sort=-name`, {
      token: t.key,
    });
    expect(instructors.body.data.map((s: { id: number }) => s.id)).toEqual([zed.id, bob.id]);

    const suspended = await api("GET", "/v1/admin/staff?status=suspended", { token: t.key });
    expect(suspended.body.data.map((s: { id: number }) => s.id)).toEqual([bob.id]);
    const active = await api("GET", "/v1/admin/staff?status=active", { token: t.key });
    expect(active.body.meta.total).toBe(3);

    const byEmail = await api("GET", "/v1/admin/staff?q=SCHOOL.test", { token: t.key });
    expect(byEmail.body.data.map((s: { id: number }) => s.id)).toEqual([amy.id]);
    const byName = await api("GET", "/v1/admin/staff?q=instructor", { token: t.key });
    expect(byName.body.meta.total).toBe(2);

    const page = await api("GET", "/v1/admin/staff?sort=name&per_page=3&page=2", { token: t.key });
    expect(page.body.data.map((s: { id: number }) => s.id)).toEqual([zed.id]);
    expect(page.body.meta).toEqual({ page: 2, per_page: 3, total: 4, last_page: 2 });

    for (const query of ["status=gone", "role_id=abc", "sort=password_hash", "per_page=101"]) {
      expectProblem(await api("GET", `/v1/admin/staff?${query}`, { token: t.key }), 422);
    }
  });

  it("offers a staff picker", async () => {
    const t = await createTenant();
    const ines = await createStaff(t, "instructor", { name: "Ines Picker" });
    const res = await api("GET", "/v1/admin/staff/lookup?q=picker", { token: t.key });
    expectStatus(res, 200);
    expect(res.body).toEqual([{ value: ines.id, label: `Ines Picker <${ines.email}>` }]);
    const all = await api("GET", "/v1/admin/staff/lookup?limit=1", { token: t.key });
    expect(all.body).toHaveLength(1);
    expectProblem(await api("GET", "/v1/admin/staff/lookup?limit=500", { token: t.key }), 422);
  });

  it("answers invalid staff bodies with 422 naming the field, and adds no one", async () => {
    const t = await createTenant();
    const role = await roleId(t, "instructor");
    const base = { name: "Val", email: email(), role_id: role, password: PASSWORD };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, password_hash: "pbkdf2-sha256$1$x$y" }, "password_hash"],
      [{ ...base, kind: "learner" }, "kind"],
      [{ ...base, email: "not-an-email" }, "email"],
      [{ ...base, password: "short" }, "password"],
      [{ ...base, role_id: "admin" }, "role_id"],
      [{ ...base, timezone: "Mars/Olympus" }, "timezone"],
      [{ ...base, status: "deleted" }, "status"],
    ];
    for (const [body, path] of cases) {
      const problem = expectProblem(await api("POST", "/v1/admin/staff", { token: t.key, body }), 422);
      expect(problem.errors?.map((e) => e.path)).toContain(path);
    }
    const unknown = expectProblem(
      await api("POST", "/v1/admin/staff", { token: t.key, body: { ...base, is_owner: true } }),
      422,
    );
    expect(unknown.errors).toEqual([{ path: "is_owner", message: "Unknown field." }]);

    // A role of another academy does not exist here.
    const other = await createTenant();
    const foreign = expectProblem(
      await api("POST", "/v1/admin/staff", { token: t.key, body: { ...base, role_id: await roleId(other, "admin") } }),
      422,
    );
    expect(foreign.errors?.[0].path).toBe("role_id");

    const list = await api("GET", "/v1/admin/staff", { token: t.key });
    expect(list.body.meta.total).toBe(1);
  });

  it("refuses a duplicate staff email (409), whatever its case", async () => {
    const t = await createTenant();
    const first = await createStaff(t, "instructor");
    const dup = expectProblem(
      await api("POST", "/v1/admin/staff", {
        token: t.key,
        body: { name: "Copy", email: first.email.toUpperCase(), role_id: await roleId(t, "assistant") },
      }),
      409,
    );
    expect(dup.detail).toContain(first.email);
    const second = await createStaff(t, "instructor");
    expectProblem(
      await api("PATCH", `/v1/admin/staff/${second.id}`, { token: t.key, body: { email: first.email } }),
      409,
    );
    expect((await api("GET", `/v1/admin/staff/${second.id}`, { token: t.key })).body.email).toBe(second.email);
    expect((await api("GET", "/v1/admin/staff", { token: t.key })).body.meta.total).toBe(3);
    // A learner may share a staff user's email: they are different accounts.
    expectStatus(
      await api("POST", "/v1/admin/learners", { token: t.key, body: { name: "Also learns", email: first.email } }),
      201,
    );
  });

  it("updates a staff user's profile and role", async () => {
    const t = await createTenant();
    const staff = await createStaff(t, "assistant");
    const session = await staffLogin(t, staff.email);
    const res = await api("PATCH", `/v1/admin/staff/${staff.id}`, {
      token: t.key,
      body: { name: "New Name", company_name: "ACME", role_id: await roleId(t, "instructor"), locale: null },
    });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({ id: staff.id, name: "New Name", company_name: "ACME", role: "instructor" });
    // A role change applies to the open session at once, without signing out.
    expectStatus(await api("POST", "/v1/admin/courses", { token: session.access_token, body: { name: "Mine" } }), 201);

    const unknown = expectProblem(
      await api("PATCH", `/v1/admin/staff/${staff.id}`, { token: t.key, body: { name: "X", score: 5, kind: "x" } }),
      422,
    );
    expect(unknown.errors?.map((e) => e.path).sort()).toEqual(["kind", "score"]);
    expect((await api("GET", `/v1/admin/staff/${staff.id}`, { token: t.key })).body.name).toBe("New Name");
  });

  it("ends every session of a staff user given a new password", async () => {
    const t = await createTenant();
    const staff = await createStaff(t, "instructor");
    const one = await staffLogin(t, staff.email);
    const two = await staffLogin(t, staff.email);
    const res = await api("PATCH", `/v1/admin/staff/${staff.id}`, { token: t.key, body: { password: NEW_PASSWORD } });
    expectStatus(res, 200);
    for (const session of [one, two]) {
      expectProblem(await api("GET", "/v1/admin/me", { token: session.access_token }), 401);
      expectProblem(
        await api("POST", "/v1/admin/auth/refresh", { body: { refresh_token: session.refresh_token } }),
        401,
      );
    }
    expectProblem(await loginAttempt("admin", t, staff.email, PASSWORD), 401);
    const fresh = await staffLogin(t, staff.email, NEW_PASSWORD);
    expectStatus(await api("GET", "/v1/admin/me", { token: fresh.access_token }), 200);
  });

  it("suspending a staff user ends their sessions and sign-in until reactivated", async () => {
    const t = await createTenant();
    const staff = await createStaff(t, "instructor");
    const session = await staffLogin(t, staff.email);
    const res = await api("PATCH", `/v1/admin/staff/${staff.id}`, { token: t.key, body: { status: "suspended" } });
    expectStatus(res, 200);
    expect(res.body.status).toBe("suspended");
    expectProblem(await api("GET", "/v1/admin/courses", { token: session.access_token }), 401);
    expectProblem(await api("POST", "/v1/admin/auth/refresh", { body: { refresh_token: session.refresh_token } }), 401);
    const login = expectProblem(await loginAttempt("admin", t, staff.email), 403);
    expect(login.detail).toMatch(/suspended/);

    expectStatus(await api("PATCH", `/v1/admin/staff/${staff.id}`, { token: t.key, body: { status: "active" } }), 200);
    const again = await staffLogin(t, staff.email);
    expectStatus(await api("GET", "/v1/admin/courses", { token: again.access_token }), 200);
  });

  it("a suspended account's still-open session is refused with 403", async () => {
    // Suspension through the API ends sessions; this proves the per-request status check behind it.
    const t = await createTenant();
    const staff = await createStaff(t, "instructor");
    const session = await staffLogin(t, staff.email);
    await env.DB.prepare("UPDATE users SET status = 'suspended' WHERE id = ?").bind(staff.id).run();
    const problem = expectProblem(await api("GET", "/v1/admin/courses", { token: session.access_token }), 403);
    expect(problem.detail).toMatch(/suspended/);
  });

  it("removes a staff user: gone from the list, their session and sign-in end", async () => {
    const t = await createTenant();
    const staff = await createStaff(t, "instructor");
    const session = await staffLogin(t, staff.email);
    expectStatus(await api("DELETE", `/v1/admin/staff/${staff.id}`, { token: t.key }), 204);
    expectProblem(await api("GET", `/v1/admin/staff/${staff.id}`, { token: t.key }), 404);
    expectProblem(await api("DELETE", `/v1/admin/staff/${staff.id}`, { token: t.key }), 404);
    expectProblem(await api("GET", "/v1/admin/me", { token: session.access_token }), 401);
    expectProblem(await loginAttempt("admin", t, staff.email), 401);
    expect((await api("GET", "/v1/admin/staff", { token: t.key })).body.meta.total).toBe(1);
  });

  it("keeps Owners out of an Admin's reach (403)", async () => {
    const t = await createTenant();
    const admin = await staffSession(t, "admin");
    const ownerRole = await roleId(t, "owner");
    const ownerId = t.ownerUserId!;
    const ownerBefore = await api("GET", `/v1/admin/staff/${ownerId}`, { token: t.key });

    const make = expectProblem(
      await api("POST", "/v1/admin/staff", {
        token: admin.token,
        body: { name: "Wannabe", email: email(), role_id: ownerRole },
      }),
      403,
    );
    expect(make.missing_permissions).toEqual(["*"]);
    for (const body of [{ name: "Renamed" }, { status: "suspended" }, { password: NEW_PASSWORD }]) {
      expectProblem(await api("PATCH", `/v1/admin/staff/${ownerId}`, { token: admin.token, body }), 403);
    }
    expectProblem(await api("DELETE", `/v1/admin/staff/${ownerId}`, { token: admin.token }), 403);
    // Nor promote anyone, themselves included, to Owner.
    const other = await createStaff(t, "instructor");
    for (const id of [other.id, admin.id]) {
      expectProblem(
        await api("PATCH", `/v1/admin/staff/${id}`, { token: admin.token, body: { role_id: ownerRole } }),
        403,
      );
    }
    expectProblem(
      await api("POST", "/v1/admin/invitations", { token: admin.token, body: { email: email(), role_id: ownerRole } }),
      403,
    );

    expect((await api("GET", `/v1/admin/staff/${ownerId}`, { token: t.key })).body).toEqual(ownerBefore.body);
    expect((await api("GET", `/v1/admin/staff/${other.id}`, { token: t.key })).body.role).toBe("instructor");
    expect((await api("GET", `/v1/admin/staff?role_id=${ownerRole}`, { token: t.key })).body.meta.total).toBe(1);
    // The Admin still manages everyone else.
    expectStatus(
      await api("PATCH", `/v1/admin/staff/${other.id}`, { token: admin.token, body: { name: "Managed" } }),
      200,
    );
    await staffLogin(t, t.ownerEmail);
  });

  it("lets a limited manager hand out only roles within its own permissions (403)", async () => {
    const t = await createTenant();
    const managerRole = await createRole(t, ["staff:read", "staff:write", "courses:read", "learners:read"], "Manager");
    const manager = await createStaff(t, managerRole.id);
    const token = (await staffLogin(t, manager.email)).access_token;
    const assistant = await createStaff(t, "assistant");
    const instructorRole = await roleId(t, "instructor");

    expectProblem(
      await api("POST", "/v1/admin/staff", {
        token,
        body: { name: "Too much", email: email(), role_id: instructorRole },
      }),
      403,
    );
    // The Assistant's role holds permissions the manager lacks, so the Assistant is out of reach too.
    expectProblem(await api("PATCH", `/v1/admin/staff/${assistant.id}`, { token, body: { name: "X" } }), 403);
    const readerRole = await createRole(t, ["courses:read"], "Reader");
    const made = await api("POST", "/v1/admin/staff", {
      token,
      body: { name: "Reader", email: email(), role_id: readerRole.id },
    });
    expectStatus(made, 201);
    expectProblem(
      await api("PATCH", `/v1/admin/staff/${made.body.id}`, { token, body: { role_id: instructorRole } }),
      403,
    );
    expect((await api("GET", `/v1/admin/staff/${made.body.id}`, { token: t.key })).body.role).toBe(readerRole.key);
  });

  it("never lets the last Owner be demoted, suspended or removed (409)", async () => {
    const t = await createTenant();
    const ownerId = t.ownerUserId!;
    const adminRole = await roleId(t, "admin");
    const demote = expectProblem(
      await api("PATCH", `/v1/admin/staff/${ownerId}`, { token: t.key, body: { role_id: adminRole } }),
      409,
    );
    expect(demote.detail).toMatch(/Owner/);
    expectProblem(
      await api("PATCH", `/v1/admin/staff/${ownerId}`, { token: t.key, body: { status: "suspended" } }),
      409,
    );
    expectProblem(await api("DELETE", `/v1/admin/staff/${ownerId}`, { token: t.key }), 409);
    const owner = await api("GET", `/v1/admin/staff/${ownerId}`, { token: t.key });
    expect(owner.body).toMatchObject({ role: "owner", status: "active" });
    await staffLogin(t, t.ownerEmail);

    // With a second Owner, the first may step down.
    const second = await createStaff(t, "owner");
    expectStatus(await api("PATCH", `/v1/admin/staff/${ownerId}`, { token: t.key, body: { role_id: adminRole } }), 200);
    // Now the second is the last one.
    expectProblem(await api("DELETE", `/v1/admin/staff/${second.id}`, { token: t.key }), 409);
  });

  it("counts only active Owners when protecting the last one (409)", async () => {
    const t = await createTenant();
    const ownerId = t.ownerUserId!;
    const dormant = await createStaff(t, "owner");
    expectStatus(
      await api("PATCH", `/v1/admin/staff/${dormant.id}`, { token: t.key, body: { status: "suspended" } }),
      200,
    );
    // The only Owner who can still sign in must stay.
    expectProblem(
      await api("PATCH", `/v1/admin/staff/${ownerId}`, { token: t.key, body: { status: "suspended" } }),
      409,
    );
    expectProblem(
      await api("PATCH", `/v1/admin/staff/${ownerId}`, { token: t.key, body: { role_id: await roleId(t, "admin") } }),
      409,
    );
    expectProblem(await api("DELETE", `/v1/admin/staff/${ownerId}`, { token: t.key }), 409);
    expect((await api("GET", `/v1/admin/staff/${ownerId}`, { token: t.key })).body).toMatchObject({
      role: "owner",
      status: "active",
    });
    // The suspended Owner may be removed: the active one remains.
    expectStatus(await api("DELETE", `/v1/admin/staff/${dormant.id}`, { token: t.key }), 204);
  });

  it("answers another academy's staff ids with 404 and changes nothing", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const theirs = await createStaff(b, "instructor");
    const before = await api("GET", `/v1/admin/staff/${theirs.id}`, { token: b.key });
    expectProblem(await api("GET", `/v1/admin/staff/${theirs.id}`, { token: a.key }), 404);
    expectProblem(
      await api("PATCH", `/v1/admin/staff/${theirs.id}`, {
        token: a.key,
        body: { name: "Taken over", status: "suspended", password: NEW_PASSWORD },
      }),
      404,
    );
    expectProblem(await api("DELETE", `/v1/admin/staff/${theirs.id}`, { token: a.key }), 404);
    expectProblem(await api("DELETE", `/v1/admin/staff/${b.ownerUserId}`, { token: a.key }), 404);
    expect((await api("GET", `/v1/admin/staff/${theirs.id}`, { token: b.key })).body).toEqual(before.body);
    await staffLogin(b, theirs.email);

    const aList = await listAll(a.key, "/v1/admin/staff");
    expect(aList.map((s) => s.id)).toEqual([a.ownerUserId]);
    expect(
      (await api("GET", `/v1/admin/staff?q=${encodeURIComponent(theirs.email)}`, { token: a.key })).body.data,
    ).toEqual([]);
    expect((await api("GET", "/v1/admin/staff/lookup?q=Sam", { token: a.key })).body).toEqual([]);
    // Nor can a staff user of B sign in to A.
    expectProblem(await loginAttempt("admin", a, theirs.email), 401);
  });
});

// ---- invitations -------------------------------------------------------------------------------------------------

describe("invitations", () => {
  it("invites a staff user who accepts once, gets the role and can sign in", async () => {
    const t = await createTenant();
    const res = await api("POST", "/v1/admin/invitations", {
      token: t.key,
      body: { email: "New.Hire@Example.com", name: "New Hire", role_id: await roleId(t, "instructor") },
    });
    expectStatus(res, 201);
    expect(res.body).toMatchObject({
      email: "new.hire@example.com",
      name: "New Hire",
      status: "pending",
      accepted_at: null,
      token: expect.stringMatching(/^inv_/),
    });
    const days = (Date.parse(res.body.expires_at) - Date.parse(res.body.created_at)) / 86_400_000;
    expect(days).toBeCloseTo(7, 5);
    // The token reaches the academy's mailer through the outbox event.
    const event = await lastEvent(t.id, "invitation.created");
    expect(event).toMatchObject({ email: "new.hire@example.com", role: "instructor", token: res.body.token });

    const list = await api("GET", "/v1/admin/invitations", { token: t.key });
    expectStatus(list, 200);
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0]).not.toHaveProperty("token");
    expect(list.text).not.toContain(res.body.token);
    expect(list.text).not.toContain(await sha256Hex(res.body.token));

    const accepted = await api("POST", "/v1/admin/auth/accept-invitation", {
      body: { token: res.body.token, password: PASSWORD },
    });
    expectStatus(accepted, 201);
    expect(accepted.body.user).toMatchObject({
      email: "new.hire@example.com",
      name: "New Hire",
      role: "instructor",
      status: "active",
    });
    expect(accepted.body.user.email_verified_at).not.toBeNull();
    const me = await api("GET", "/v1/admin/me", { token: accepted.body.access_token });
    expect(me.body).toMatchObject({ tenant_id: t.id, credential: { type: "staff" } });
    expectStatus(await api("GET", "/v1/admin/courses", { token: accepted.body.access_token }), 200);
    expectProblem(await api("GET", "/v1/admin/staff", { token: accepted.body.access_token }), 403);

    const login = await staffLogin(t, "new.hire@example.com");
    expect(login.user.id).toBe(accepted.body.user.id);

    const again = expectProblem(
      await api("POST", "/v1/admin/auth/accept-invitation", {
        body: { token: res.body.token, password: NEW_PASSWORD },
      }),
      422,
    );
    expect(again.errors?.[0].path).toBe("token");
    await staffLogin(t, "new.hire@example.com"); // the password did not change

    const after = await api("GET", "/v1/admin/invitations", { token: t.key });
    expect(after.body.data[0]).toMatchObject({ status: "accepted", accepted_at: expect.any(String) });
    // An accepted invitation cannot be revoked; the staff user is removed instead.
    expectProblem(await api("DELETE", `/v1/admin/invitations/${res.body.id}`, { token: t.key }), 409);
  });

  it("lets the invitee choose their name, and names them by email otherwise", async () => {
    const t = await createTenant();
    const named = await createInvitation(t, "assistant", { name: "Invited Name" });
    const chosen = await api("POST", "/v1/admin/auth/accept-invitation", {
      body: { token: named.token, name: "Chosen Name", password: PASSWORD },
    });
    expectStatus(chosen, 201);
    expect(chosen.body.user.name).toBe("Chosen Name");
    const anonymous = await createInvitation(t, "assistant");
    const plain = await api("POST", "/v1/admin/auth/accept-invitation", {
      body: { token: anonymous.token, password: PASSWORD },
    });
    expect(plain.body.user.name).toBe(anonymous.email);
  });

  it("refuses a revoked invitation", async () => {
    const t = await createTenant();
    const invitation = await createInvitation(t, "assistant");
    expectStatus(await api("DELETE", `/v1/admin/invitations/${invitation.id}`, { token: t.key }), 204);
    expectStatus(await api("DELETE", `/v1/admin/invitations/${invitation.id}`, { token: t.key }), 204);
    expectProblem(
      await api("POST", "/v1/admin/auth/accept-invitation", { body: { token: invitation.token, password: PASSWORD } }),
      422,
    );
    const list = await api("GET", "/v1/admin/invitations", { token: t.key });
    expect(list.body.data[0].status).toBe("revoked");
    expectProblem(await loginAttempt("admin", t, invitation.email), 401);
    expect((await api("GET", "/v1/admin/staff", { token: t.key })).body.meta.total).toBe(1);
  });

  it("refuses an expired invitation", async () => {
    const t = await createTenant();
    const invitation = await createInvitation(t, "assistant", { expires_in_days: 1 });
    await env.DB.prepare("UPDATE invitations SET expires_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), invitation.id)
      .run();
    expectProblem(
      await api("POST", "/v1/admin/auth/accept-invitation", { body: { token: invitation.token, password: PASSWORD } }),
      422,
    );
    const list = await api("GET", "/v1/admin/invitations", { token: t.key });
    expect(list.body.data[0].status).toBe("expired");
    expect((await api("GET", "/v1/admin/staff", { token: t.key })).body.meta.total).toBe(1);
  });

  it("refuses to accept when the email became a staff user meanwhile (409)", async () => {
    const t = await createTenant();
    const invitation = await createInvitation(t, "assistant");
    await createStaff(t, "instructor", { email: invitation.email });
    expectProblem(
      await api("POST", "/v1/admin/auth/accept-invitation", { body: { token: invitation.token, password: PASSWORD } }),
      409,
    );
    const list = await api("GET", "/v1/admin/invitations", { token: t.key });
    expect(list.body.data[0].status).toBe("pending");
  });

  it("answers invalid invitations and acceptances with 422 naming the field", async () => {
    const t = await createTenant();
    const role = await roleId(t, "assistant");
    const cases: [Record<string, unknown>, string][] = [
      [{ email: email(), role_id: role, role: "owner" }, "role"],
      [{ email: "nope", role_id: role }, "email"],
      [{ email: email(), role_id: role, expires_in_days: 31 }, "expires_in_days"],
      [{ email: email() }, "role_id"],
      [{ email: email(), role_id: await roleId(await createTenant(), "assistant") }, "role_id"],
    ];
    for (const [body, path] of cases) {
      const problem = expectProblem(await api("POST", "/v1/admin/invitations", { token: t.key, body }), 422);
      expect(problem.errors?.map((e) => e.path)).toContain(path);
    }
    expect((await api("GET", "/v1/admin/invitations", { token: t.key })).body.meta.total).toBe(0);

    const invitation = await createInvitation(t, "assistant");
    const extra = expectProblem(
      await api("POST", "/v1/admin/auth/accept-invitation", {
        body: { token: invitation.token, password: PASSWORD, role_id: await roleId(t, "owner") },
      }),
      422,
    );
    expect(extra.errors).toEqual([{ path: "role_id", message: "Unknown field." }]);
    const short = expectProblem(
      await api("POST", "/v1/admin/auth/accept-invitation", { body: { token: invitation.token, password: "short" } }),
      422,
    );
    expect(short.errors?.[0].path).toBe("password");
    expectProblem(
      await api("POST", "/v1/admin/auth/accept-invitation", {
        body: { token: "inv_doesnotexist000000000000", password: PASSWORD },
      }),
      422,
    );
    // Nothing above used the invitation up.
    expect((await api("GET", "/v1/admin/invitations", { token: t.key })).body.data[0].status).toBe("pending");
    expectStatus(
      await api("POST", "/v1/admin/auth/accept-invitation", { body: { token: invitation.token, password: PASSWORD } }),
      201,
    );
  });

  it("refuses to invite an existing staff email (409)", async () => {
    const t = await createTenant();
    const staff = await createStaff(t, "assistant");
    expectProblem(
      await api("POST", "/v1/admin/invitations", {
        token: t.key,
        body: { email: staff.email.toUpperCase(), role_id: await roleId(t, "instructor") },
      }),
      409,
    );
    expect((await api("GET", "/v1/admin/invitations", { token: t.key })).body.meta.total).toBe(0);
  });

  it("lists invitations with search, sort and statuses", async () => {
    const t = await createTenant();
    const first = await createInvitation(t, "assistant", { email: `${unique("aaa")}@example.com` });
    const second = await createInvitation(t, "instructor", { email: `${unique("zzz")}@other.test` });
    const byEmail = await api("GET", "/v1/admin/invitations?sort=email", { token: t.key });
    expect(byEmail.body.data.map((i: { id: number }) => i.id)).toEqual([first.id, second.id]);
    const search = await api("GET", "/v1/admin/invitations?q=other.test", { token: t.key });
    expect(search.body.data.map((i: { id: number }) => i.id)).toEqual([second.id]);
    expectProblem(await api("GET", "/v1/admin/invitations?sort=token_hash", { token: t.key }), 422);
  });

  it("answers another academy's invitation ids with 404, leaving them acceptable", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const theirs = await createInvitation(b, "assistant");
    expectProblem(await api("DELETE", `/v1/admin/invitations/${theirs.id}`, { token: a.key }), 404);
    expect((await api("GET", "/v1/admin/invitations", { token: a.key })).body.meta.total).toBe(0);
    const accepted = await api("POST", "/v1/admin/auth/accept-invitation", {
      body: { token: theirs.token, password: PASSWORD },
    });
    expectStatus(accepted, 201);
    // The invitation's token names its academy: the new user belongs to B, not A.
    expect((await api("GET", "/v1/admin/me", { token: accepted.body.access_token })).body.tenant_id).toBe(b.id);
    expectProblem(await loginAttempt("admin", a, theirs.email), 401);
  });
});

// ---- API keys ---------------------------------------------------------------------------------------------------

describe("API keys", () => {
  it("shows the secret once, keeps a visible prefix, and never lists the secret or its hash", async () => {
    const t = await createTenant();
    const res = await api("POST", "/v1/admin/api-keys", {
      token: t.key,
      body: { name: "Zapier", scopes: ["courses:read", "learners:read"] },
    });
    expectStatus(res, 201);
    expect(res.headers.get("location")).toBe(`/v1/admin/api-keys/${res.body.id}`);
    expect(res.body).toMatchObject({
      name: "Zapier",
      scopes: ["courses:read", "learners:read"],
      status: "active",
      expires_at: null,
      revoked_at: null,
      created_by_user_id: null,
    });
    expect(res.body.prefix).toMatch(/^lk_[a-z0-9]{8}$/);
    expect(res.body.key.startsWith(`${res.body.prefix}_`)).toBe(true);
    expect(res.body.key.length).toBeGreaterThan(40);

    const hash = await sha256Hex(res.body.key);
    const row = await env.DB.prepare("SELECT key_hash FROM api_keys WHERE id = ?")
      .bind(res.body.id)
      .first<{ key_hash: string }>();
    expect(row?.key_hash).toBe(hash);

    const got = await api("GET", `/v1/admin/api-keys/${res.body.id}`, { token: t.key });
    const list = await api("GET", "/v1/admin/api-keys", { token: t.key });
    for (const read of [got, list]) {
      expectStatus(read, 200);
      expect(read.text).not.toContain(res.body.key);
      expect(read.text).not.toContain(hash);
      expect(read.text).not.toMatch(/key_hash|"key"/);
    }
    const { key: _secret, ...withoutSecret } = res.body;
    expect(got.body).toEqual(withoutSecret);
    expect(list.body.data.find((k: { id: number }) => k.id === res.body.id).prefix).toBe(res.body.prefix);

    // The key works, and its use is recorded.
    expectStatus(await api("GET", "/v1/admin/courses", { token: res.body.key }), 200);
    // The last-used stamp is written after the response, so wait for it.
    await vi.waitFor(async () => {
      const used = await api("GET", `/v1/admin/api-keys/${res.body.id}`, { token: t.key });
      expect(used.body.last_used_at).not.toBeNull();
    });
  });

  it("limits a key to its scopes", async () => {
    const t = await createTenant();
    const { key } = await scopedKey(t, ["courses:read"]);
    expectStatus(await api("GET", "/v1/admin/courses", { token: key }), 200);
    const write = expectProblem(await api("POST", "/v1/admin/courses", { token: key, body: { name: "No" } }), 403);
    expect(write.required_permission).toBe("courses:write");
    expectProblem(await api("GET", "/v1/admin/learners", { token: key }), 403);
    expectProblem(await api("GET", "/v1/admin/api-keys", { token: key }), 403);
    expect((await api("GET", "/v1/admin/courses", { token: t.key })).body.meta.total).toBe(0);
  });

  it("never creates a key with scopes beyond its creator's (403)", async () => {
    const t = await createTenant();
    const creator = await scopedKey(t, ["api_keys:read", "api_keys:write", "courses:read"]);
    const beyond = expectProblem(
      await api("POST", "/v1/admin/api-keys", {
        token: creator.key,
        body: { name: "Beyond", scopes: ["courses:read", "courses:write"] },
      }),
      403,
    );
    expect(beyond.missing_permissions).toEqual(["courses:write"]);
    expectProblem(
      await api("POST", "/v1/admin/api-keys", { token: creator.key, body: { name: "All", scopes: ["*"] } }),
      403,
    );
    const before = (await api("GET", "/v1/admin/api-keys", { token: t.key })).body.meta.total;

    // Without scopes a key gets its creator's.
    const inherited = await api("POST", "/v1/admin/api-keys", { token: creator.key, body: { name: "Same" } });
    expectStatus(inherited, 201);
    expect(inherited.body.scopes).toEqual(["api_keys:read", "api_keys:write", "courses:read"]);
    expect((await api("GET", "/v1/admin/api-keys", { token: t.key })).body.meta.total).toBe(before + 1);

    // A staff user's key carries their id and at most their role's permissions.
    const instructor = await staffSession(t, "instructor");
    const admin = await staffSession(t, "admin");
    const byAdmin = await api("POST", "/v1/admin/api-keys", { token: admin.token, body: { name: "Mine" } });
    expectStatus(byAdmin, 201);
    expect(byAdmin.body.created_by_user_id).toBe(admin.id);
    expect(byAdmin.body.scopes).toEqual(ALL_PERMISSIONS);
    expectProblem(
      await api("POST", "/v1/admin/api-keys", { token: admin.token, body: { name: "Owner-like", scopes: ["*"] } }),
      403,
    );
    expectProblem(await api("POST", "/v1/admin/api-keys", { token: instructor.token, body: { name: "No" } }), 403);
  });

  it("revoking a key stops it at once (401) and keeps it listed as revoked", async () => {
    const t = await createTenant();
    const key = await scopedKey(t, ["courses:read"]);
    expectStatus(await api("GET", "/v1/admin/courses", { token: key.key }), 200);
    expectStatus(await api("DELETE", `/v1/admin/api-keys/${key.id}`, { token: t.key }), 204);
    const problem = expectProblem(await api("GET", "/v1/admin/courses", { token: key.key }), 401);
    expect(problem.detail).toMatch(/revoked/);
    const got = await api("GET", `/v1/admin/api-keys/${key.id}`, { token: t.key });
    expect(got.body).toMatchObject({ status: "revoked", revoked_at: expect.any(String) });
    // Revoking again is harmless and keeps the first revocation time.
    expectStatus(await api("DELETE", `/v1/admin/api-keys/${key.id}`, { token: t.key }), 204);
    expect((await api("GET", `/v1/admin/api-keys/${key.id}`, { token: t.key })).body.revoked_at).toBe(
      got.body.revoked_at,
    );
    // A key may revoke itself.
    const self = await scopedKey(t, ["api_keys:write"]);
    expectStatus(await api("DELETE", `/v1/admin/api-keys/${self.id}`, { token: self.key }), 204);
    expectProblem(await api("DELETE", `/v1/admin/api-keys/${self.id}`, { token: self.key }), 401);
  });

  it("takes an expiry, refuses one in the past (422), and an expired key answers 401", async () => {
    const t = await createTenant();
    const past = expectProblem(
      await api("POST", "/v1/admin/api-keys", {
        token: t.key,
        body: { name: "Old", expires_at: new Date(Date.now() - 60_000).toISOString() },
      }),
      422,
    );
    expect(past.errors).toEqual([{ path: "expires_at", message: "Must be in the future." }]);
    const bad = expectProblem(
      await api("POST", "/v1/admin/api-keys", { token: t.key, body: { name: "Bad", expires_at: "next tuesday" } }),
      422,
    );
    expect(bad.errors?.[0].path).toBe("expires_at");
    expect((await api("GET", "/v1/admin/api-keys", { token: t.key })).body.meta.total).toBe(1);

    const res = await api("POST", "/v1/admin/api-keys", {
      token: t.key,
      body: { name: "Soon", scopes: ["courses:read"], expires_at: "2099-01-01T02:00:00+02:00" },
    });
    expectStatus(res, 201);
    expect(res.body).toMatchObject({ expires_at: "2099-01-01T00:00:00.000Z", status: "active" });
    expectStatus(await api("GET", "/v1/admin/courses", { token: res.body.key }), 200);

    await env.DB.prepare("UPDATE api_keys SET expires_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), res.body.id)
      .run();
    const expired = expectProblem(await api("GET", "/v1/admin/courses", { token: res.body.key }), 401);
    expect(expired.detail).toMatch(/expired/);
    expect((await api("GET", `/v1/admin/api-keys/${res.body.id}`, { token: t.key })).body.status).toBe("expired");
  });

  it("answers invalid key bodies with 422 naming the field", async () => {
    const t = await createTenant();
    const cases: [Record<string, unknown>, string][] = [
      [{ name: "K", key_hash: "abc" }, "key_hash"],
      [{ name: "K", prefix: "lk_mine" }, "prefix"],
      [{ name: "K", scopes: ["courses:fly"] }, "scopes.0"],
      [{ name: "K", scopes: [] }, "scopes"],
      [{ name: "" }, "name"],
      [{ scopes: ["courses:read"] }, "name"],
    ];
    for (const [body, path] of cases) {
      const problem = expectProblem(await api("POST", "/v1/admin/api-keys", { token: t.key, body }), 422);
      expect(problem.errors?.map((e) => e.path)).toContain(path);
    }
    expect((await api("GET", "/v1/admin/api-keys", { token: t.key })).body.meta.total).toBe(1);
  });

  it("filters keys by status and searches by name or prefix", async () => {
    const t = await createTenant();
    const active = await api("POST", "/v1/admin/api-keys", {
      token: t.key,
      body: { name: "Reporting", scopes: ["courses:read"] },
    });
    const revoked = await scopedKey(t, ["courses:read"]);
    await api("DELETE", `/v1/admin/api-keys/${revoked.id}`, { token: t.key });
    const expired = await scopedKey(t, ["courses:read"]);
    await env.DB.prepare("UPDATE api_keys SET expires_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), expired.id)
      .run();

    const ids = async (query: string) =>
      (await listAll(t.key, `/v1/admin/api-keys?${query}`)).map((k) => k.id as number).sort((x, y) => x - y);
    const all = await ids("");
    expect(all).toHaveLength(4);
    expect(await ids("status=revoked")).toEqual([revoked.id]);
    expect(await ids("status=expired")).toEqual([expired.id]);
    const activeIds = await ids("status=active");
    expect(activeIds).toHaveLength(2);
    expect(activeIds).toContain(active.body.id);
    expect(activeIds).not.toContain(revoked.id);
    expect(await ids("q=report")).toEqual([active.body.id]);
    expect(await ids(`q=${active.body.prefix}`)).toEqual([active.body.id]);
    expectProblem(await api("GET", "/v1/admin/api-keys?status=deleted", { token: t.key }), 422);
    const sorted = await listAll(t.key, "/v1/admin/api-keys?sort=name");
    expect(sorted.map((k) => k.name)).toEqual([...sorted.map((k) => k.name as string)].sort());
  });

  it("answers another academy's key ids with 404 and leaves the key working", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const theirs = await scopedKey(b, ["courses:read"]);
    expectProblem(await api("GET", `/v1/admin/api-keys/${theirs.id}`, { token: a.key }), 404);
    expectProblem(await api("DELETE", `/v1/admin/api-keys/${theirs.id}`, { token: a.key }), 404);
    expectStatus(await api("GET", "/v1/admin/courses", { token: theirs.key }), 200);
    expect((await api("GET", `/v1/admin/api-keys/${theirs.id}`, { token: b.key })).body.status).toBe("active");
    const aKeys = await listAll(a.key, "/v1/admin/api-keys");
    expect(aKeys.map((k) => k.id)).not.toContain(theirs.id);
    // B's key reads B's data only.
    expect((await api("GET", "/v1/admin/me", { token: theirs.key })).body.tenant_id).toBe(b.id);
  });
});

// ---- API clients ------------------------------------------------------------------------------------------------

describe("API clients", () => {
  it("creates a client whose secret is shown once and exchanges for a scoped token", async () => {
    const t = await createTenant();
    const res = await api("POST", "/v1/admin/api-clients", {
      token: t.key,
      body: { name: "Warehouse", scopes: ["courses:read"] },
    });
    expectStatus(res, 201);
    expect(res.headers.get("location")).toBe(`/v1/admin/api-clients/${res.body.id}`);
    expect(res.body).toMatchObject({
      name: "Warehouse",
      scopes: ["courses:read"],
      status: "active",
      client_id: expect.stringMatching(/^lc_[a-z0-9]{20}$/),
      client_secret: expect.stringMatching(/^lcs_/),
      revoked_at: null,
    });

    const token = await oauthToken(res.body.client_id, res.body.client_secret);
    expectStatus(token, 200);
    expect(token.body).toMatchObject({ status: "success", token_type: "Bearer", scope: "courses:read" });
    expectStatus(await api("GET", "/v1/admin/courses", { token: token.body.access_token }), 200);
    expectProblem(await api("GET", "/v1/admin/learners", { token: token.body.access_token }), 403);

    const hash = await sha256Hex(res.body.client_secret);
    const got = await api("GET", `/v1/admin/api-clients/${res.body.id}`, { token: t.key });
    const list = await api("GET", "/v1/admin/api-clients", { token: t.key });
    for (const read of [got, list]) {
      expectStatus(read, 200);
      expect(read.text).not.toContain(res.body.client_secret);
      expect(read.text).not.toContain(hash);
      expect(read.text).not.toMatch(/secret/);
    }
    expect(got.body).toMatchObject({
      id: res.body.id,
      client_id: res.body.client_id,
      last_used_at: expect.any(String),
    });
    expect(list.body.data.map((c: { id: number }) => c.id)).toEqual([res.body.id]);
  });

  it("rotates a secret: the old one stops working, the new one works", async () => {
    const t = await createTenant();
    const client = await createClient(t, ["courses:read"]);
    const rotated = await api("POST", `/v1/admin/api-clients/${client.id}/rotate-secret`, { token: t.key });
    expectStatus(rotated, 200);
    expect(rotated.body.client_id).toBe(client.client_id);
    expect(rotated.body.client_secret).not.toBe(client.client_secret);
    expectProblem(await oauthToken(client.client_id, client.client_secret), 401);
    expectStatus(await oauthToken(client.client_id, rotated.body.client_secret), 200);
    expect((await api("GET", "/v1/admin/api-clients", { token: t.key })).text).not.toContain(
      rotated.body.client_secret,
    );
  });

  it("revoking a client ends its tokens at once and refuses new ones", async () => {
    const t = await createTenant();
    const client = await createClient(t, ["courses:read"]);
    const other = await createClient(t, ["courses:read"]);
    const token = (await oauthToken(client.client_id, client.client_secret)).body.access_token;
    expectStatus(await api("GET", "/v1/admin/courses", { token }), 200);
    expectStatus(await api("DELETE", `/v1/admin/api-clients/${client.id}`, { token: t.key }), 204);
    expectProblem(await api("GET", "/v1/admin/courses", { token }), 401);
    expectProblem(await oauthToken(client.client_id, client.client_secret), 401);
    const got = await api("GET", `/v1/admin/api-clients/${client.id}`, { token: t.key });
    expect(got.body).toMatchObject({ status: "revoked", revoked_at: expect.any(String) });
    expectStatus(await api("DELETE", `/v1/admin/api-clients/${client.id}`, { token: t.key }), 204);
    expectProblem(await api("POST", `/v1/admin/api-clients/${client.id}/rotate-secret`, { token: t.key }), 409);

    const revokedIds = (await listAll(t.key, "/v1/admin/api-clients?status=revoked")).map((c) => c.id);
    const activeIds = (await listAll(t.key, "/v1/admin/api-clients?status=active")).map((c) => c.id);
    expect(revokedIds).toEqual([client.id]);
    expect(activeIds).toEqual([other.id]);
    expectProblem(await api("GET", "/v1/admin/api-clients?status=expired", { token: t.key }), 422);
  });

  it("never creates a client with scopes beyond its creator's (403) and validates bodies (422)", async () => {
    const t = await createTenant();
    const creator = await scopedKey(t, ["api_clients:write", "courses:read"]);
    const beyond = expectProblem(
      await api("POST", "/v1/admin/api-clients", {
        token: creator.key,
        body: { name: "Beyond", scopes: ["learners:write"] },
      }),
      403,
    );
    expect(beyond.missing_permissions).toEqual(["learners:write"]);
    const inherited = await createClient(t, undefined, creator.key);
    expect(inherited.scopes).toEqual(["api_clients:write", "courses:read"]);

    const unknown = expectProblem(
      await api("POST", "/v1/admin/api-clients", { token: t.key, body: { name: "C", client_secret: "mine" } }),
      422,
    );
    expect(unknown.errors).toEqual([{ path: "client_secret", message: "Unknown field." }]);
    const scope = expectProblem(
      await api("POST", "/v1/admin/api-clients", { token: t.key, body: { name: "C", scopes: ["root"] } }),
      422,
    );
    expect(scope.errors?.[0].path).toBe("scopes.0");
    expect((await api("GET", "/v1/admin/api-clients", { token: t.key })).body.meta.total).toBe(1);
  });

  it("answers another academy's client ids with 404 and leaves the client working", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const theirs = await createClient(b, ["courses:read"]);
    expectProblem(await api("GET", `/v1/admin/api-clients/${theirs.id}`, { token: a.key }), 404);
    expectProblem(await api("POST", `/v1/admin/api-clients/${theirs.id}/rotate-secret`, { token: a.key }), 404);
    expectProblem(await api("DELETE", `/v1/admin/api-clients/${theirs.id}`, { token: a.key }), 404);
    const token = await oauthToken(theirs.client_id, theirs.client_secret);
    expectStatus(token, 200);
    expect((await api("GET", "/v1/admin/me", { token: token.body.access_token })).body.tenant_id).toBe(b.id);
    expect((await api("GET", "/v1/admin/api-clients", { token: a.key })).body.meta.total).toBe(0);
  });
});
