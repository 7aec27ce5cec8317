import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type ApiResponse, api, type CallOptions, expectProblem, expectStatus, platformToken } from "./helpers/api";
import {
  createLearner,
  createTenant,
  freshIp,
  learnerSession,
  PASSWORD,
  staffSession,
  type TestTenant,
  unique,
} from "./helpers/factories";

const platform = { token: platformToken() };

/** A POST to an auth endpoint (sign-in, refresh, OAuth token) from a fresh client IP. */
const authPost = (path: string, options: CallOptions = {}) =>
  api("POST", path, { ...options, headers: { "cf-connecting-ip": freshIp(), ...options.headers } });

/** A request body for POST /v1/platform/tenants with a fresh slug and Owner. */
function tenantBody(overrides: Record<string, unknown> = {}) {
  const slug = unique("ten");
  return {
    name: `Academy ${slug}`,
    slug,
    owner: { name: "Olivia Owner", email: `${slug}-owner@example.com`, password: PASSWORD },
    ...overrides,
  };
}

/** Calls the Worker at another host (a tenant's custom domain), with no X-Tenant unless given. */
async function atHost(
  host: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await SELF.fetch(`https://${host}${path}`, {
    method,
    headers: {
      "cf-connecting-ip": freshIp(),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null, text } as ApiResponse;
}

const patchTenant = (id: number, body: Record<string, unknown>) =>
  api("PATCH", `/v1/platform/tenants/${id}`, { ...platform, body });

const adminMe = (token: string) => api("GET", "/v1/admin/me", { token });
const learnerMe = (token: string) => api("GET", "/v1/learner/me", { token });

describe("POST /v1/platform/tenants", () => {
  it("creates an academy with Location, its owner key shown once, and an Owner who can sign in", async () => {
    const domain = `${unique("learn")}.example.com`;
    const body = tenantBody({ custom_domains: [domain], locale: "pt-BR", timezone: "Europe/Lisbon" });
    const res = await api("POST", "/v1/platform/tenants", { ...platform, body });
    expectStatus(res, 201);
    expect(res.headers.get("location")).toBe(`/v1/platform/tenants/${res.body.id}`);
    expect(res.body).toMatchObject({
      name: body.name,
      slug: body.slug,
      status: "active",
      custom_domains: [domain],
      locale: "pt-BR",
      timezone: "Europe/Lisbon",
      settings: {},
      owner_user_id: expect.any(Number),
    });
    const key: string = res.body.owner_api_key.key;
    expect(key).toMatch(/^lk_/);
    expect(key.startsWith(res.body.owner_api_key.prefix)).toBe(true);
    expect(res.body.owner_api_key.scopes).toEqual(["*"]);

    // The key works on the admin API of this tenant, with every permission.
    const me = await adminMe(key);
    expectStatus(me, 200);
    expect(me.body.tenant_id).toBe(res.body.id);
    expect(me.body.credential.type).toBe("api_key");
    expect(me.body.permissions).toEqual(expect.arrayContaining(["courses:write", "staff:write", "settings:write"]));

    // Shown once: reading the tenant back never returns the secret.
    const got = await api("GET", res.headers.get("location")!, platform);
    expectStatus(got, 200);
    expect(got.text).not.toContain(key);
    expect(got.body).not.toHaveProperty("owner_api_key");
    const list = await api("GET", `/v1/platform/tenants?slug=${body.slug}`, platform);
    expect(list.text).not.toContain(key);

    // The Owner user signs in to the admin API of this academy.
    const login = await authPost("/v1/admin/auth/login", {
      tenant: body.slug,
      body: { email: body.owner.email, password: PASSWORD },
    });
    expectStatus(login, 200);
    expect(login.body.user).toMatchObject({ id: res.body.owner_user_id, email: body.owner.email, role: "owner" });
    const staffMe = await adminMe(login.body.access_token);
    expectStatus(staffMe, 200);
    expect(staffMe.body).toMatchObject({ tenant_id: res.body.id, credential: { type: "staff" } });
    expect(staffMe.body.user.id).toBe(res.body.owner_user_id);
  });

  it("creates an academy without an Owner user, with defaults", async () => {
    const slug = unique("bare");
    const res = await api("POST", "/v1/platform/tenants", { ...platform, body: { name: "Bare", slug } });
    expectStatus(res, 201);
    expect(res.body).toMatchObject({
      slug,
      status: "active",
      custom_domains: [],
      locale: "en",
      timezone: "UTC",
      owner_user_id: null,
    });
    expectStatus(await adminMe(res.body.owner_api_key.key), 200);
    // The built-in roles exist from the start.
    const roles = await api("GET", "/v1/admin/roles?per_page=100", { token: res.body.owner_api_key.key });
    expect(roles.body.data.map((r: { key: string }) => r.key)).toEqual(
      expect.arrayContaining(["owner", "admin", "instructor"]),
    );
  });

  it.each([
    ["an upper-case slug", { slug: "Bad-Slug" }, "slug"],
    ["a slug with spaces", { slug: "bad slug" }, "slug"],
    ["a slug ending in a hyphen", { slug: "bad-" }, "slug"],
    ["an unknown field", { plan: "gold" }, "plan"],
    ["an unknown owner field", { owner: { name: "O", email: "o@example.com", role: "god" } }, "owner.role"],
    ["a bad timezone", { timezone: "Mars/Olympus_Mons" }, "timezone"],
    ["a bad locale", { locale: "english!" }, "locale"],
    ["a bad domain", { custom_domains: ["not a domain"] }, "custom_domains.0"],
    ["a URL as domain", { custom_domains: ["https://learn.example.com"] }, "custom_domains.0"],
    ["a repeated domain", { custom_domains: ["a.example.com", "a.example.com"] }, "custom_domains"],
    ["a bad owner email", { owner: { name: "O", email: "nope" } }, "owner.email"],
    ["a short owner password", { owner: { name: "O", email: "o@example.com", password: "short" } }, "owner.password"],
    ["a bad status", { status: "deleted" }, "status"],
  ])("answers 422 for %s and creates nothing", async (_label, overrides, path) => {
    const body = tenantBody(overrides);
    const res = await api("POST", "/v1/platform/tenants", { ...platform, body });
    const problem = expectProblem(res, 422);
    expect(problem.errors?.map((e) => e.path)).toContain(path);
    const list = await api("GET", `/v1/platform/tenants?slug=${body.slug}`, platform);
    expect(list.body.meta.total).toBe(0);
  });

  it("answers 422 when name or slug is missing", async () => {
    const res = await api("POST", "/v1/platform/tenants", { ...platform, body: {} });
    const problem = expectProblem(res, 422);
    expect(problem.errors?.map((e) => e.path)).toEqual(expect.arrayContaining(["name", "slug"]));
  });

  it("answers 409 for a slug that is taken, and creates nothing", async () => {
    const first = await createTenant();
    const body = tenantBody({ slug: first.slug });
    const res = await api("POST", "/v1/platform/tenants", { ...platform, body });
    const problem = expectProblem(res, 409);
    expect(problem.errors).toEqual([{ path: "slug", message: expect.any(String) }]);
    const list = await api("GET", `/v1/platform/tenants?slug=${first.slug}`, platform);
    expect(list.body.meta.total).toBe(1);
    expect(list.body.data[0].id).toBe(first.id);
  });

  it("answers 409 for a custom domain of another academy, whatever its case", async () => {
    const domain = `${unique("dup")}.example.com`;
    await createTenant({ custom_domains: [domain] });
    const body = tenantBody({ custom_domains: [domain.toUpperCase()] });
    const res = await api("POST", "/v1/platform/tenants", { ...platform, body });
    const problem = expectProblem(res, 409);
    expect(problem.detail).toContain(domain);
    expect(problem.errors?.[0]?.path).toBe("custom_domains");
    const list = await api("GET", `/v1/platform/tenants?slug=${body.slug}`, platform);
    expect(list.body.meta.total).toBe(0);
  });
});

describe("platform authentication", () => {
  it("answers 401 without a token, with a wrong token and with a tenant's API key", async () => {
    const tenant = await createTenant();
    const cases: [string, string | undefined][] = [
      ["no token", undefined],
      ["wrong token", "not-the-platform-token"],
      ["almost the token", `${platformToken()}x`],
      ["an admin API key", tenant.key],
    ];
    for (const [label, token] of cases) {
      for (const [method, path, body] of [
        ["GET", "/v1/platform/tenants", undefined],
        ["GET", `/v1/platform/tenants/${tenant.id}`, undefined],
        ["POST", "/v1/platform/tenants", tenantBody()],
        ["PATCH", `/v1/platform/tenants/${tenant.id}`, { status: "suspended" }],
        ["DELETE", `/v1/platform/tenants/${tenant.id}`, undefined],
        ["POST", `/v1/platform/tenants/${tenant.id}/api-keys`, {}],
      ] as const) {
        const res = await api(method, path, { token, body });
        expect(res.status, `${label}: ${method} ${path}`).toBe(401);
        expectProblem(res, 401);
      }
    }
    // Nothing changed: the tenant is still there and active.
    const got = await api("GET", `/v1/platform/tenants/${tenant.id}`, platform);
    expect(got.body.status).toBe("active");
  });

  it("answers 401 to a staff session token", async () => {
    const tenant = await createTenant();
    const staff = await staffSession(tenant, "admin");
    expectProblem(await api("GET", "/v1/platform/tenants", { token: staff.token }), 401);
  });
});

describe("GET /v1/platform/tenants", () => {
  it("lists academies with status, slug and name filters, sorting and pagination", async () => {
    const tag = unique("zq").replace(/-/g, "");
    const a = await createTenant({ name: `${tag} Alpha` });
    const b = await createTenant({ name: `${tag} Bravo`, custom_domains: [`${tag}.example.org`] });
    const c = await createTenant({ name: `${tag} Charlie` });
    expectStatus(await patchTenant(b.id, { status: "suspended" }), 200);

    const all = await api("GET", `/v1/platform/tenants?q=${tag}&sort=name`, platform);
    expectStatus(all, 200);
    expect(all.body.data.map((t: { id: number }) => t.id)).toEqual([a.id, b.id, c.id]);
    expect(all.body.meta).toEqual({ page: 1, per_page: 15, total: 3, last_page: 1 });
    expect(all.body.data[1].custom_domains).toEqual([`${tag}.example.org`]);

    const desc = await api("GET", `/v1/platform/tenants?q=${tag}&sort=-name`, platform);
    expect(desc.body.data.map((t: { id: number }) => t.id)).toEqual([c.id, b.id, a.id]);

    const suspended = await api("GET", `/v1/platform/tenants?q=${tag}&status=suspended`, platform);
    expect(suspended.body.data.map((t: { id: number }) => t.id)).toEqual([b.id]);
    const active = await api("GET", `/v1/platform/tenants?q=${tag}&status=active&sort=name`, platform);
    expect(active.body.data.map((t: { id: number }) => t.id)).toEqual([a.id, c.id]);

    const bySlug = await api("GET", `/v1/platform/tenants?slug=${c.slug}`, platform);
    expect(bySlug.body.data.map((t: { id: number }) => t.id)).toEqual([c.id]);

    const page2 = await api("GET", `/v1/platform/tenants?q=${tag}&sort=name&per_page=2&page=2`, platform);
    expect(page2.body.data.map((t: { id: number }) => t.id)).toEqual([c.id]);
    expect(page2.body.meta).toEqual({ page: 2, per_page: 2, total: 3, last_page: 2 });
  });

  it("answers 422 for bad list parameters", async () => {
    for (const query of ["status=deleted", "per_page=101", "page=0", "sort=settings"]) {
      expectProblem(await api("GET", `/v1/platform/tenants?${query}`, platform), 422);
    }
  });
});

describe("GET /v1/platform/tenants/{id}", () => {
  it("returns one academy and 404 for an unknown id", async () => {
    const tenant = await createTenant({ settings: { brand_color: "#123456" } });
    const res = await api("GET", `/v1/platform/tenants/${tenant.id}`, platform);
    expectStatus(res, 200);
    expect(res.body).toMatchObject({ id: tenant.id, slug: tenant.slug, settings: { brand_color: "#123456" } });
    expectProblem(await api("GET", "/v1/platform/tenants/99999999", platform), 404);
    expectProblem(await api("GET", "/v1/platform/tenants/abc", platform), 422);
  });
});

describe("PATCH /v1/platform/tenants/{id}", () => {
  it("updates fields, replaces custom domains and follows a slug change", async () => {
    const tenant = await createTenant({ custom_domains: [`${unique("old")}.example.com`] });
    const newSlug = unique("renamed");
    const domain = `${unique("new")}.example.com`;
    const res = await patchTenant(tenant.id, {
      name: "Renamed Academy",
      slug: newSlug,
      custom_domains: [domain],
      timezone: "America/Sao_Paulo",
      settings: { allow_registration: false },
    });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({
      id: tenant.id,
      name: "Renamed Academy",
      slug: newSlug,
      custom_domains: [domain],
      timezone: "America/Sao_Paulo",
      settings: { allow_registration: false },
    });
    expect(res.body.updated_at >= res.body.created_at).toBe(true);
    const got = await api("GET", `/v1/platform/tenants/${tenant.id}`, platform);
    expect(got.body).toEqual(res.body);

    // Sign-in follows the new slug; the old one names no academy.
    const old = await authPost("/v1/admin/auth/login", {
      tenant: tenant.slug,
      body: { email: tenant.ownerEmail, password: PASSWORD },
    });
    expectProblem(old, 404);
    const renamed = await authPost("/v1/admin/auth/login", {
      tenant: newSlug,
      body: { email: tenant.ownerEmail, password: PASSWORD },
    });
    expectStatus(renamed, 200);

    // An empty list removes every domain.
    const cleared = await patchTenant(tenant.id, { custom_domains: [] });
    expect(cleared.body.custom_domains).toEqual([]);
  });

  it("keeps its own slug and domains without a conflict", async () => {
    const domain = `${unique("mine")}.example.com`;
    const tenant = await createTenant({ custom_domains: [domain] });
    const res = await patchTenant(tenant.id, { slug: tenant.slug, custom_domains: [domain, `www.${domain}`] });
    expectStatus(res, 200);
    expect([...res.body.custom_domains].sort()).toEqual([domain, `www.${domain}`].sort());
  });

  it("answers 409 for another academy's slug or domain and changes nothing", async () => {
    const domain = `${unique("taken")}.example.com`;
    const other = await createTenant({ custom_domains: [domain] });
    const tenant = await createTenant();
    const slugClash = await patchTenant(tenant.id, { slug: other.slug, name: "Should not stick" });
    expect(expectProblem(slugClash, 409).errors?.[0]?.path).toBe("slug");
    const domainClash = await patchTenant(tenant.id, { custom_domains: [domain], name: "Should not stick" });
    expect(expectProblem(domainClash, 409).errors?.[0]?.path).toBe("custom_domains");
    const got = await api("GET", `/v1/platform/tenants/${tenant.id}`, platform);
    expect(got.body).toMatchObject({ slug: tenant.slug, name: `Academy ${tenant.slug}`, custom_domains: [] });
    const owner = await api("GET", `/v1/platform/tenants/${other.id}`, platform);
    expect(owner.body.custom_domains).toEqual([domain]);
  });

  it("answers 422 for bad fields and 404 for an unknown id", async () => {
    const tenant = await createTenant();
    for (const [body, path] of [
      [{ slug: "Not Valid" }, "slug"],
      [{ timezone: "Nowhere/Land" }, "timezone"],
      [{ custom_domains: ["bad_domain"] }, "custom_domains.0"],
      [{ status: "archived" }, "status"],
      [{ owner_api_key: "lk_x" }, "owner_api_key"],
      [{ name: "" }, "name"],
    ] as const) {
      const problem = expectProblem(await patchTenant(tenant.id, body), 422);
      expect(problem.errors?.map((e) => e.path)).toContain(path);
    }
    expectProblem(await patchTenant(99999999, { name: "Ghost" }), 404);
  });
});

describe("suspension", () => {
  it("makes every credential of the academy answer 403 until it is active again", async () => {
    const tenant = await createTenant();
    const staff = await staffSession(tenant, "admin");
    const learner = await learnerSession(tenant);
    const bystander = await createTenant();

    const suspended = await patchTenant(tenant.id, { status: "suspended" });
    expectStatus(suspended, 200);
    expect(suspended.body.status).toBe("suspended");

    expectProblem(await adminMe(tenant.key), 403);
    expectProblem(await api("GET", "/v1/admin/courses", { token: tenant.key }), 403);
    expectProblem(await adminMe(staff.token), 403);
    expectProblem(await learnerMe(learner.token), 403);
    expectProblem(
      await authPost("/v1/learner/auth/login", {
        tenant: tenant.slug,
        body: { email: learner.email, password: PASSWORD },
      }),
      403,
    );
    expectProblem(
      await authPost("/v1/admin/auth/login", {
        tenant: tenant.slug,
        body: { email: staff.email, password: PASSWORD },
      }),
      403,
    );
    expectProblem(await authPost("/v1/learner/auth/refresh", { body: { refresh_token: learner.refreshToken } }), 403);
    // Other academies are untouched.
    expectStatus(await adminMe(bystander.key), 200);

    const reactivated = await patchTenant(tenant.id, { status: "active" });
    expectStatus(reactivated, 200);
    expect(reactivated.body.status).toBe("active");
    expectStatus(await adminMe(tenant.key), 200);
    expectStatus(await adminMe(staff.token), 200);
    expectStatus(await learnerMe(learner.token), 200);
    expectStatus(
      await authPost("/v1/learner/auth/login", {
        tenant: tenant.slug,
        body: { email: learner.email, password: PASSWORD },
      }),
      200,
    );
  });

  it("refuses OAuth client tokens of a suspended academy", async () => {
    const tenant = await createTenant();
    const client = await api("POST", "/v1/admin/api-clients", { token: tenant.key, body: { name: "Warehouse" } });
    expectStatus(client, 201);
    const credentials = { client_id: client.body.client_id, client_secret: client.body.client_secret };
    const token = await authPost("/v1/oauth/token", { body: credentials });
    expectStatus(token, 200);
    expectStatus(await patchTenant(tenant.id, { status: "suspended" }), 200);
    expectProblem(await adminMe(token.body.access_token), 403);
    expectProblem(await authPost("/v1/oauth/token", { body: credentials }), 403);
    expectStatus(await patchTenant(tenant.id, { status: "active" }), 200);
    expectStatus(await adminMe(token.body.access_token), 200);
  });

  it("can create an academy suspended from the start", async () => {
    const res = await api("POST", "/v1/platform/tenants", { ...platform, body: tenantBody({ status: "suspended" }) });
    expectStatus(res, 201);
    expectProblem(await adminMe(res.body.owner_api_key.key), 403);
  });
});

describe("DELETE /v1/platform/tenants/{id}", () => {
  it("removes the academy; its keys and sessions stop working and its domain is free again", async () => {
    const domain = `${unique("gone")}.example.com`;
    const tenant = await createTenant({ custom_domains: [domain] });
    const staff = await staffSession(tenant, "admin");
    const learner = await learnerSession(tenant);
    const extraKey = await api("POST", `/v1/platform/tenants/${tenant.id}/api-keys`, { ...platform, body: {} });
    expectStatus(extraKey, 201);
    expectStatus(await api("POST", "/v1/admin/courses", { token: tenant.key, body: { name: "Doomed course" } }), 201);
    expectStatus(
      await api("POST", "/v1/admin/api-clients", { token: tenant.key, body: { name: "Doomed client" } }),
      201,
    );
    const bystander = await createTenant();

    const res = await api("DELETE", `/v1/platform/tenants/${tenant.id}`, platform);
    expectStatus(res, 204);
    expect(res.text).toBe("");

    expectProblem(await api("GET", `/v1/platform/tenants/${tenant.id}`, platform), 404);
    expectProblem(await adminMe(tenant.key), 401);
    expectProblem(await adminMe(extraKey.body.key), 401);
    expectProblem(await adminMe(staff.token), 401);
    expectProblem(await learnerMe(learner.token), 401);
    expectProblem(
      await authPost("/v1/learner/auth/login", {
        tenant: tenant.slug,
        body: { email: learner.email, password: PASSWORD },
      }),
      404,
    );
    expectProblem(await api("DELETE", `/v1/platform/tenants/${tenant.id}`, platform), 404);

    // Everything the academy owned is gone from D1; another academy keeps its rows.
    for (const table of ["users", "roles", "api_keys", "api_clients", "sessions", "courses", "tenant_domains"]) {
      const count = async (id: number) =>
        (await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = ?`).bind(id).first<{ n: number }>())
          ?.n;
      expect(await count(tenant.id), table).toBe(0);
    }
    const kept = await env.DB.prepare("SELECT count(*) AS n FROM roles WHERE tenant_id = ?")
      .bind(bystander.id)
      .first<{ n: number }>();
    expect(kept?.n).toBeGreaterThan(0);
    expectStatus(await adminMe(bystander.key), 200);

    // The slug and the domain can be used by a new academy.
    const again = await api("POST", "/v1/platform/tenants", {
      ...platform,
      body: tenantBody({ slug: tenant.slug, custom_domains: [domain] }),
    });
    expectStatus(again, 201);
    expect(again.body.id).not.toBe(tenant.id);
    expectProblem(await adminMe(tenant.key), 401);
  });

  it("answers 404 for an unknown id and leaves others alone", async () => {
    const tenant = await createTenant();
    expectProblem(await api("DELETE", "/v1/platform/tenants/99999999", platform), 404);
    expectStatus(await adminMe(tenant.key), 200);
  });
});

describe("POST /v1/platform/tenants/{id}/api-keys", () => {
  it("issues a new owner key for recovery, shown once", async () => {
    const tenant = await createTenant();
    const res = await api("POST", `/v1/platform/tenants/${tenant.id}/api-keys`, {
      ...platform,
      body: { name: "Hand-over key" },
    });
    expectStatus(res, 201);
    expect(res.body).toMatchObject({ name: "Hand-over key", scopes: ["*"], status: "active" });
    expect(res.body.key).toMatch(/^lk_/);
    expect(res.body.key).not.toBe(tenant.key);
    const me = await adminMe(res.body.key);
    expectStatus(me, 200);
    expect(me.body).toMatchObject({ tenant_id: tenant.id, credential: { type: "api_key", id: res.body.id } });

    // The tenant sees the key in its list, without the secret.
    const keys = await api("GET", "/v1/admin/api-keys?per_page=100", { token: tenant.key });
    expectStatus(keys, 200);
    expect(keys.body.data.map((k: { id: number }) => k.id)).toContain(res.body.id);
    expect(keys.text).not.toContain(res.body.key);

    const defaulted = await api("POST", `/v1/platform/tenants/${tenant.id}/api-keys`, { ...platform, body: {} });
    expectStatus(defaulted, 201);
    expect(defaulted.body.name).toBe("Owner key (issued by the platform)");
  });

  it("answers 422 for unknown fields and 404 for an unknown tenant", async () => {
    const tenant = await createTenant();
    const bad = await api("POST", `/v1/platform/tenants/${tenant.id}/api-keys`, {
      ...platform,
      body: { name: "x", scopes: ["courses:read"] },
    });
    expect(expectProblem(bad, 422).errors?.map((e) => e.path)).toContain("scopes");
    expectProblem(await api("POST", "/v1/platform/tenants/99999999/api-keys", { ...platform, body: {} }), 404);
  });
});

describe("tenant resolution by custom domain", () => {
  async function tenantWithDomain(): Promise<TestTenant & { domain: string }> {
    const domain = `${unique("academy")}.example.com`;
    return { ...(await createTenant({ custom_domains: [domain] })), domain };
  }

  it("signs a learner in at the academy's custom domain without X-Tenant", async () => {
    const tenant = await tenantWithDomain();
    const learner = await createLearner(tenant);
    const login = await atHost(tenant.domain, "POST", "/v1/learner/auth/login", {
      email: learner.email,
      password: PASSWORD,
    });
    expectStatus(login, 200);
    expect(login.body.user.id).toBe(learner.id);
    const me = await learnerMe(login.body.access_token);
    expectStatus(me, 200);
    expect(me.body.id).toBe(learner.id);

    // The Host is matched whatever its case.
    const upper = await atHost(tenant.domain.toUpperCase(), "POST", "/v1/learner/auth/login", {
      email: learner.email,
      password: PASSWORD,
    });
    expectStatus(upper, 200);
  });

  it("does not find a learner of another academy through a domain", async () => {
    const tenant = await tenantWithDomain();
    const other = await createTenant();
    const stranger = await createLearner(other);
    const res = await atHost(tenant.domain, "POST", "/v1/learner/auth/login", {
      email: stranger.email,
      password: PASSWORD,
    });
    expectProblem(res, 401);
  });

  it("prefers X-Tenant over the Host", async () => {
    const tenant = await tenantWithDomain();
    const other = await createTenant();
    const learner = await createLearner(other);
    const res = await atHost(
      tenant.domain,
      "POST",
      "/v1/learner/auth/login",
      { email: learner.email, password: PASSWORD },
      { "x-tenant": other.slug },
    );
    expectStatus(res, 200);
    expect(res.body.user.id).toBe(learner.id);
  });

  it("answers 400 when neither X-Tenant nor a known domain names the academy, 404 for an unknown slug", async () => {
    const noTenant = await atHost(`${unique("nobody")}.example.com`, "POST", "/v1/learner/auth/login", {
      email: "a@example.com",
      password: PASSWORD,
    });
    expectProblem(noTenant, 400);
    const unknown = await authPost("/v1/learner/auth/login", {
      tenant: unique("missing"),
      body: { email: "a@example.com", password: PASSWORD },
    });
    expectProblem(unknown, 404);
  });

  it("stops resolving a domain once it is removed, and answers 403 while the academy is suspended", async () => {
    const tenant = await tenantWithDomain();
    const learner = await createLearner(tenant);
    const creds = { email: learner.email, password: PASSWORD };
    expectStatus(await patchTenant(tenant.id, { status: "suspended" }), 200);
    expectProblem(await atHost(tenant.domain, "POST", "/v1/learner/auth/login", creds), 403);
    expectStatus(await patchTenant(tenant.id, { status: "active", custom_domains: [] }), 200);
    expectProblem(await atHost(tenant.domain, "POST", "/v1/learner/auth/login", creds), 400);
  });
});
