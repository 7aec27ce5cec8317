/** Nobody reaches past their own permissions: not through keys they made, roles, or validation errors. */
import { describe, expect, it } from "vitest";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, roleId, scopedKey, staffSession, unique } from "./helpers/factories";

describe("credentials made by a staff user", () => {
  it("stop working when their creator is suspended or removed", async () => {
    const tenant = await createTenant();
    const admin = await staffSession(tenant, "admin");
    const key = await api("POST", "/v1/admin/api-keys", { token: admin.token, body: { name: "Admin's key" } });
    expectStatus(key, 201);
    const client = await api("POST", "/v1/admin/api-clients", { token: admin.token, body: { name: "Admin's client" } });
    const oauth = await api("POST", "/v1/oauth/token", {
      body: { client_id: client.body.client_id, client_secret: client.body.client_secret },
    });
    expectStatus(oauth, 200);
    expectStatus(await api("GET", "/v1/admin/courses", { token: key.body.key }), 200);
    expectStatus(await api("GET", "/v1/admin/courses", { token: oauth.body.access_token }), 200);

    expectStatus(
      await api("PATCH", `/v1/admin/staff/${admin.id}`, { token: tenant.key, body: { status: "suspended" } }),
      200,
    );
    expectProblem(await api("GET", "/v1/admin/courses", { token: key.body.key }), 401);
    expectProblem(await api("GET", "/v1/admin/courses", { token: oauth.body.access_token }), 401);

    expectStatus(
      await api("PATCH", `/v1/admin/staff/${admin.id}`, { token: tenant.key, body: { status: "active" } }),
      200,
    );
    expectStatus(await api("GET", "/v1/admin/courses", { token: key.body.key }), 200);

    expectStatus(await api("DELETE", `/v1/admin/staff/${admin.id}`, { token: tenant.key }), 204);
    expectProblem(await api("GET", "/v1/admin/courses", { token: key.body.key }), 401);
  });

  it("lose the permissions their creator's role no longer grants", async () => {
    const tenant = await createTenant();
    const admin = await staffSession(tenant, "admin");
    const key = await api("POST", "/v1/admin/api-keys", {
      token: admin.token,
      body: { name: "Learner sync", scopes: ["learners:read", "courses:read"] },
    });
    expectStatus(await api("GET", "/v1/admin/learners", { token: key.body.key }), 200);
    // Demote the creator to Support Specialist, which still reads learners and courses.
    await api("PATCH", `/v1/admin/staff/${admin.id}`, {
      token: tenant.key,
      body: { role_id: await roleId(tenant, "support_specialist") },
    });
    const me = await api("GET", "/v1/admin/me", { token: key.body.key });
    expect(me.body.permissions.sort()).toEqual(["courses:read", "learners:read"]);
    // A custom role without learners:read takes that away from the key too.
    const role = await api("POST", "/v1/admin/roles", {
      token: tenant.key,
      body: { name: unique("Readers"), permissions: ["courses:read"] },
    });
    await api("PATCH", `/v1/admin/staff/${admin.id}`, { token: tenant.key, body: { role_id: role.body.id } });
    expectProblem(await api("GET", "/v1/admin/learners", { token: key.body.key }), 403);
    expectStatus(await api("GET", "/v1/admin/courses", { token: key.body.key }), 200);
  });
});

describe("things above the caller are out of reach", () => {
  it("an Admin cannot revoke the Owner key, and a limited key cannot revoke a broader one", async () => {
    const tenant = await createTenant();
    const admin = await staffSession(tenant, "admin");
    const keys = await api("GET", "/v1/admin/api-keys", { token: tenant.key });
    const ownerKey = keys.body.data.find((k: { scopes: string[] }) => k.scopes.includes("*"));
    expectProblem(await api("DELETE", `/v1/admin/api-keys/${ownerKey.id}`, { token: admin.token }), 403);
    const limited = await scopedKey(tenant, ["api_keys:write", "api_keys:read"]);
    const broader = await scopedKey(tenant, ["courses:write"]);
    expectProblem(await api("DELETE", `/v1/admin/api-keys/${broader.id}`, { token: limited.key }), 403);
    expectStatus(await api("GET", "/v1/admin/courses", { token: tenant.key }), 200);
    expectStatus(await api("DELETE", `/v1/admin/api-keys/${broader.id}`, { token: tenant.key }), 204);
  });

  it("a roles:write key cannot change or delete a custom role that holds more than it does", async () => {
    const tenant = await createTenant();
    const role = await api("POST", "/v1/admin/roles", {
      token: tenant.key,
      body: { name: unique("Managers"), permissions: ["courses:write", "learners:write"] },
    });
    const rolesOnly = await scopedKey(tenant, ["roles:read", "roles:write"]);
    expectProblem(
      await api("PATCH", `/v1/admin/roles/${role.body.id}`, { token: rolesOnly.key, body: { permissions: [] } }),
      403,
    );
    expectProblem(await api("DELETE", `/v1/admin/roles/${role.body.id}`, { token: rolesOnly.key }), 403);
    const after = await api("GET", `/v1/admin/roles/${role.body.id}`, { token: tenant.key });
    expect(after.body.permissions).toEqual(["courses:write", "learners:write"]);
  });

  it("a caller without the permission gets 403 before any validation detail", async () => {
    const tenant = await createTenant();
    const readOnly = await scopedKey(tenant, ["learners:read"]);
    const res = await api("POST", "/v1/admin/learners", { token: readOnly.key, body: { bogus: true } });
    const problem = expectProblem(res, 403);
    expect(problem.errors).toBeUndefined();
    expect(problem.required_permission).toBe("learners:write");
  });
});
