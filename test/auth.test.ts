import { env } from "cloudflare:test";
import { decodeJwt, SignJWT } from "jose";
import { describe, expect, it, vi } from "vitest";
import { api, type CallOptions, expectProblem, expectStatus } from "./helpers/api";
import {
  createLearner,
  createTenant,
  freshIp,
  lastEvent,
  learnerLogin,
  learnerSession,
  PASSWORD,
  staffSession,
  type TestTenant,
  unique,
} from "./helpers/factories";

const NEW_PASSWORD = "a-brand-new-passphrase-42";

/** A POST to an auth endpoint from a fresh client IP (unless the caller names one). */
const authPost = (path: string, options: CallOptions = {}) =>
  api("POST", path, { ...options, headers: { "cf-connecting-ip": freshIp(), ...options.headers } });

const learnerMe = (token: string) => api("GET", "/v1/learner/me", { token });
const adminMe = (token: string) => api("GET", "/v1/admin/me", { token });

function learnerLoginRaw(tenant: TestTenant, email: string, password: string, ip?: string) {
  return authPost("/v1/learner/auth/login", {
    tenant: tenant.slug,
    body: { email, password },
    headers: { "cf-connecting-ip": ip ?? freshIp() },
  });
}

function staffLoginRaw(tenant: TestTenant, email: string, password: string, ip?: string) {
  return authPost("/v1/admin/auth/login", {
    tenant: tenant.slug,
    body: { email, password },
    headers: { "cf-connecting-ip": ip ?? freshIp() },
  });
}

const b64url = (value: unknown) =>
  btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** Signs a token as the Worker would (same secret and issuer), with the given claims and expiry. */
async function forge(
  claims: { sub: string; aud: string; tid: number; sid?: number },
  expiresAt: number,
  secret = env.JWT_SECRET,
) {
  const { sub, aud, ...rest } = claims;
  return new SignJWT(rest)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("lectern")
    .setSubject(sub)
    .setAudience(aud)
    .setIssuedAt(expiresAt - 900)
    .setExpirationTime(expiresAt)
    .sign(new TextEncoder().encode(secret));
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** An OAuth client of the tenant, with its secret. */
async function apiClient(tenant: TestTenant, scopes?: string[]) {
  const res = await api("POST", "/v1/admin/api-clients", {
    token: tenant.key,
    body: { name: unique("client"), ...(scopes ? { scopes } : {}) },
  });
  expectStatus(res, 201);
  return res.body as { id: number; client_id: string; client_secret: string; scopes: string[] };
}

function expectTokenPair(body: Record<string, unknown>) {
  expect(body).toMatchObject({
    token_type: "Bearer",
    access_token: expect.any(String),
    expires_in: 900,
    refresh_token: expect.stringMatching(/^rt_/),
    refresh_expires_in: expect.any(Number),
  });
}

// ---- staff -------------------------------------------------------------------------------------------------

describe("staff sign-in (/v1/admin/auth/*)", () => {
  it("signs a staff user in; the access token works on the admin API with the role's permissions", async () => {
    const tenant = await createTenant();
    const staff = await staffSession(tenant, "instructor");
    const login = await staffLoginRaw(tenant, staff.email, PASSWORD);
    expectStatus(login, 200);
    expectTokenPair(login.body);
    expect(login.body.user).toMatchObject({ id: staff.id, email: staff.email, role: "instructor" });
    expect(login.body.user).not.toHaveProperty("password_hash");
    expect(login.text).not.toContain("pbkdf2");
    expect(decodeJwt(login.body.access_token)).toMatchObject({ iss: "lectern", aud: "admin", tid: tenant.id });

    const me = await adminMe(login.body.access_token);
    expectStatus(me, 200);
    expect(me.body).toMatchObject({ tenant_id: tenant.id, credential: { type: "staff" }, user: { id: staff.id } });
    expect(me.body.permissions).not.toContain("staff:write");
    // The role's limits apply to the session.
    expectProblem(await api("GET", "/v1/admin/api-keys", { token: login.body.access_token }), 403);
  });

  it("answers 401 with the same problem for a wrong password and an unknown email", async () => {
    const tenant = await createTenant();
    const wrong = await staffLoginRaw(tenant, tenant.ownerEmail, "not-the-password");
    const unknown = await staffLoginRaw(tenant, `${unique("ghost")}@example.com`, "not-the-password");
    const a = expectProblem(wrong, 401);
    const b = expectProblem(unknown, 401);
    expect(a.type).toBe(b.type);
    expect(a.title).toBe(b.title);
    expect(a.detail).toBe(b.detail);
    expect(a.detail).not.toMatch(/exist|unknown|not found/i);
    // A learner's credentials do not open the admin API.
    const learner = await createLearner(tenant);
    const asStaff = expectProblem(await staffLoginRaw(tenant, learner.email, PASSWORD), 401);
    expect(asStaff.detail).toBe(a.detail);
    // Nor does the right password at another academy.
    const other = await createTenant();
    expectProblem(await staffLoginRaw(other, tenant.ownerEmail, PASSWORD), 401);
  });

  it("answers 422 for a malformed body", async () => {
    const tenant = await createTenant();
    for (const body of [{ email: "nope", password: "x" }, { email: tenant.ownerEmail }, { extra: 1 }]) {
      const res = await authPost("/v1/admin/auth/login", { tenant: tenant.slug, body });
      expectProblem(res, 422);
    }
  });

  it("rotates the refresh token: the new pair works, the old refresh token answers 401", async () => {
    const tenant = await createTenant();
    const staff = await staffSession(tenant, "admin");
    const first = await authPost("/v1/admin/auth/refresh", { body: { refresh_token: staff.refreshToken } });
    expectStatus(first, 200);
    expectTokenPair(first.body);
    expect(first.body.refresh_token).not.toBe(staff.refreshToken);
    expect(first.body.access_token).not.toBe(staff.token);
    expectStatus(await adminMe(first.body.access_token), 200);

    expectProblem(await authPost("/v1/admin/auth/refresh", { body: { refresh_token: staff.refreshToken } }), 401);
    const second = await authPost("/v1/admin/auth/refresh", { body: { refresh_token: first.body.refresh_token } });
    expectStatus(second, 200);
    expectProblem(await authPost("/v1/admin/auth/refresh", { body: { refresh_token: "rt_made-up" } }), 401);
  });

  it("does not refresh a learner session on the staff endpoint, nor the reverse", async () => {
    const tenant = await createTenant();
    const learner = await learnerSession(tenant);
    const staff = await staffSession(tenant, "admin");
    expectProblem(await authPost("/v1/admin/auth/refresh", { body: { refresh_token: learner.refreshToken } }), 401);
    expectProblem(await authPost("/v1/learner/auth/refresh", { body: { refresh_token: staff.refreshToken } }), 401);
    // Both still work where they belong.
    expectStatus(await authPost("/v1/learner/auth/refresh", { body: { refresh_token: learner.refreshToken } }), 200);
    expectStatus(await authPost("/v1/admin/auth/refresh", { body: { refresh_token: staff.refreshToken } }), 200);
  });

  it("logs out: the access token answers 401 at once and the refresh token is dead", async () => {
    const tenant = await createTenant();
    const staff = await staffSession(tenant, "admin");
    const other = await staffLoginRaw(tenant, staff.email, PASSWORD);
    expectStatus(await adminMe(staff.token), 200);
    const out = await authPost("/v1/admin/auth/logout", { token: staff.token });
    expectStatus(out, 204);
    expectProblem(await adminMe(staff.token), 401);
    expectProblem(await authPost("/v1/admin/auth/refresh", { body: { refresh_token: staff.refreshToken } }), 401);
    expectProblem(await authPost("/v1/admin/auth/logout", { token: staff.token }), 401);
    // Only that session ends.
    expectStatus(await adminMe(other.body.access_token), 200);
  });

  it("refuses logout without a session credential", async () => {
    const tenant = await createTenant();
    expectProblem(await authPost("/v1/admin/auth/logout"), 401);
    expectProblem(await authPost("/v1/admin/auth/logout", { token: tenant.key }), 403);
    expectStatus(await adminMe(tenant.key), 200);
  });

  it("resets a staff password with the mailed token", async () => {
    const tenant = await createTenant();
    const staff = await staffSession(tenant, "admin");
    const requested = await authPost("/v1/admin/auth/password-reset", {
      tenant: tenant.slug,
      body: { email: staff.email },
    });
    expectStatus(requested, 202);
    const event = await lastEvent(tenant.id, "staff.password_reset_requested");
    expect(event).toMatchObject({ user_id: staff.id, email: staff.email, token: expect.any(String) });
    const confirm = await authPost("/v1/admin/auth/password-reset/confirm", {
      tenant: tenant.slug,
      body: { token: event!.token, password: NEW_PASSWORD },
    });
    expectStatus(confirm, 204);
    expectProblem(await adminMe(staff.token), 401);
    expectProblem(await staffLoginRaw(tenant, staff.email, PASSWORD), 401);
    expectStatus(await staffLoginRaw(tenant, staff.email, NEW_PASSWORD), 200);
  });
});

// ---- brute force -------------------------------------------------------------------------------------------

describe("brute-force protection", () => {
  it("locks a learner account after 5 failures: 429 with Retry-After even with the right password", async () => {
    const tenant = await createTenant();
    const learner = await createLearner(tenant);
    const ip = freshIp();
    for (let i = 0; i < 5; i++) {
      expectProblem(await learnerLoginRaw(tenant, learner.email, `wrong-password-${i}`, ip), 401);
    }
    for (const password of ["wrong-again-123", PASSWORD]) {
      const locked = await learnerLoginRaw(tenant, learner.email, password, freshIp());
      expectProblem(locked, 429);
      const retryAfter = Number(locked.headers.get("retry-after"));
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    }
    // The lock is per account: another learner of the academy, and the same email at another academy, sign in.
    const neighbour = await createLearner(tenant);
    expectStatus(await learnerLoginRaw(tenant, neighbour.email, PASSWORD, ip), 200);
    const other = await createTenant();
    await createLearner(other, { email: learner.email });
    expectStatus(await learnerLoginRaw(other, learner.email, PASSWORD, ip), 200);
  });

  it("does not lock an account that signs in successfully before the limit", async () => {
    const tenant = await createTenant();
    const learner = await createLearner(tenant);
    const ip = freshIp();
    for (let i = 0; i < 4; i++) expectProblem(await learnerLoginRaw(tenant, learner.email, "wrong-password", ip), 401);
    expectStatus(await learnerLoginRaw(tenant, learner.email, PASSWORD, ip), 200);
    // The success cleared the count: four more failures still do not lock.
    for (let i = 0; i < 4; i++) expectProblem(await learnerLoginRaw(tenant, learner.email, "wrong-password", ip), 401);
    expectStatus(await learnerLoginRaw(tenant, learner.email, PASSWORD, ip), 200);
  });

  it("counts concurrent failures: 8 parallel wrong passwords lock the account", async () => {
    const tenant = await createTenant();
    const learner = await createLearner(tenant);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => learnerLoginRaw(tenant, learner.email, `wrong-password-${i}`, freshIp())),
    );
    for (const res of results) expect([401, 429]).toContain(res.status);
    expectProblem(await learnerLoginRaw(tenant, learner.email, PASSWORD, freshIp()), 429);
  });

  it("locks an unknown email just like a real one (no enumeration by lockout)", async () => {
    const tenant = await createTenant();
    const ghost = `${unique("ghost")}@example.com`;
    for (let i = 0; i < 5; i++) expectProblem(await learnerLoginRaw(tenant, ghost, "wrong-password", freshIp()), 401);
    expectProblem(await learnerLoginRaw(tenant, ghost, "wrong-password", freshIp()), 429);
  });

  it("locks a staff account after 5 failures", async () => {
    const tenant = await createTenant();
    for (let i = 0; i < 5; i++) {
      expectProblem(await staffLoginRaw(tenant, tenant.ownerEmail, "wrong-password", freshIp()), 401);
    }
    const locked = await staffLoginRaw(tenant, tenant.ownerEmail, PASSWORD, freshIp());
    expectProblem(locked, 429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("locks a client IP after 50 failures across accounts", async () => {
    const tenant = await createTenant();
    const learner = await createLearner(tenant);
    const ip = freshIp();
    for (let i = 0; i < 50; i++) {
      expectProblem(await learnerLoginRaw(tenant, `${unique("spray")}@example.com`, "wrong-password", ip), 401);
    }
    const blocked = await learnerLoginRaw(tenant, learner.email, PASSWORD, ip);
    expectProblem(blocked, 429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expectStatus(await learnerLoginRaw(tenant, learner.email, PASSWORD, freshIp()), 200);
  });
});

// ---- learners ----------------------------------------------------------------------------------------------

describe("learner registration", () => {
  it("registers and signs a learner in, and mails a verification token", async () => {
    const tenant = await createTenant();
    const email = `${unique("self")}@example.com`;
    const res = await authPost("/v1/learner/auth/register", {
      tenant: tenant.slug,
      body: { name: "Sam Self", email: email.toUpperCase(), password: PASSWORD },
    });
    expectStatus(res, 201);
    expectTokenPair(res.body);
    expect(res.body.user).toMatchObject({ name: "Sam Self", email, status: "active", email_verified_at: null });
    expect(res.text).not.toContain("pbkdf2");

    const me = await learnerMe(res.body.access_token);
    expectStatus(me, 200);
    expect(me.body).toMatchObject({ id: res.body.user.id, email });

    const event = await lastEvent(tenant.id, "learner.email_verification_requested");
    expect(event).toMatchObject({ user_id: res.body.user.id, email, token: expect.stringMatching(/^evt_/) });

    // The academy sees the new learner, and the learner can sign in again.
    const listed = await api("GET", `/v1/admin/learners/${res.body.user.id}`, { token: tenant.key });
    expectStatus(listed, 200);
    expectStatus(await learnerLoginRaw(tenant, email, PASSWORD), 200);
  });

  it("answers 409 for an email already registered at the academy, whatever its case", async () => {
    const tenant = await createTenant();
    const learner = await createLearner(tenant);
    const res = await authPost("/v1/learner/auth/register", {
      tenant: tenant.slug,
      body: { name: "Dup", email: learner.email.toUpperCase(), password: NEW_PASSWORD },
    });
    expectProblem(res, 409);
    // The existing account keeps its password.
    expectStatus(await learnerLoginRaw(tenant, learner.email, PASSWORD), 200);
    expectProblem(await learnerLoginRaw(tenant, learner.email, NEW_PASSWORD), 401);
    // The same email is free at another academy.
    const other = await createTenant();
    const elsewhere = await authPost("/v1/learner/auth/register", {
      tenant: other.slug,
      body: { name: "Dup", email: learner.email, password: NEW_PASSWORD },
    });
    expectStatus(elsewhere, 201);
  });

  it("answers 403 and creates nothing when the academy does not allow self-registration", async () => {
    const tenant = await createTenant({ settings: { allow_registration: false } });
    const email = `${unique("closed")}@example.com`;
    const res = await authPost("/v1/learner/auth/register", {
      tenant: tenant.slug,
      body: { name: "Nope", email, password: PASSWORD },
    });
    expectProblem(res, 403);
    const list = await api("GET", `/v1/admin/learners?email=${encodeURIComponent(email)}`, { token: tenant.key });
    expectStatus(list, 200);
    expect(list.body.meta.total).toBe(0);
    // Learners the academy creates still sign in.
    const learner = await createLearner(tenant);
    expectStatus(await learnerLoginRaw(tenant, learner.email, PASSWORD), 200);
  });

  it("answers 422 for invalid fields and 404 for an unknown academy", async () => {
    const tenant = await createTenant();
    for (const [body, path] of [
      [{ name: "A", email: "a@example.com", password: "short" }, "password"],
      [{ name: "A", email: "not-an-email", password: PASSWORD }, "email"],
      [{ name: "", email: "a@example.com", password: PASSWORD }, "name"],
      [{ name: "A", email: "a@example.com", password: PASSWORD, status: "active" }, "status"],
    ] as const) {
      const res = await authPost("/v1/learner/auth/register", { tenant: tenant.slug, body });
      expect(expectProblem(res, 422).errors?.map((e) => e.path)).toContain(path);
    }
    const unknown = await authPost("/v1/learner/auth/register", {
      tenant: unique("nowhere"),
      body: { name: "A", email: "a@example.com", password: PASSWORD },
    });
    expectProblem(unknown, 404);
  });
});

describe("learner sign-in, sessions and /v1/learner/me", () => {
  it("signs in and reads the signed-in learner", async () => {
    const tenant = await createTenant();
    const learner = await createLearner(tenant, { name: "Lena Learner" });
    const login = await learnerLoginRaw(tenant, learner.email, PASSWORD);
    expectStatus(login, 200);
    expectTokenPair(login.body);
    expect(login.body.user).toMatchObject({ id: learner.id, email: learner.email });
    expect(decodeJwt(login.body.access_token)).toMatchObject({
      iss: "lectern",
      aud: "learner",
      sub: `user:${learner.id}`,
      tid: tenant.id,
      sid: expect.any(Number),
    });
    const me = await learnerMe(login.body.access_token);
    expectStatus(me, 200);
    expect(me.body).toMatchObject({ id: learner.id, name: "Lena Learner", email: learner.email });
    expect(me.body.last_login_at).toEqual(expect.any(String));
    expect(me.body).not.toHaveProperty("password_hash");
  });

  it("answers 401 for /v1/learner/me without a token or with garbage", async () => {
    expectProblem(await api("GET", "/v1/learner/me"), 401);
    const res = await learnerMe("not-a-jwt");
    expectProblem(res, 401);
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
  });

  it("answers 401 with the same problem for a wrong password and an unknown email", async () => {
    const tenant = await createTenant();
    const learner = await createLearner(tenant);
    const a = expectProblem(await learnerLoginRaw(tenant, learner.email, "wrong-password-1"), 401);
    const b = expectProblem(await learnerLoginRaw(tenant, `${unique("nobody")}@example.com`, "wrong-password-1"), 401);
    expect([a.type, a.title, a.detail]).toEqual([b.type, b.title, b.detail]);
    // A staff user's credentials do not open the learner API.
    expectProblem(await learnerLoginRaw(tenant, tenant.ownerEmail, PASSWORD), 401);
  });

  it("answers 403 for a suspended learner's sign-in and ends their sessions", async () => {
    const tenant = await createTenant();
    const learner = await learnerSession(tenant);
    // A request first, so the session sits in this instance's memo: the suspension must still apply at once.
    expectStatus(await learnerMe(learner.token), 200);
    const suspend = await api("PATCH", `/v1/admin/learners/${learner.id}`, {
      token: tenant.key,
      body: { status: "suspended" },
    });
    expectStatus(suspend, 200);
    expectProblem(await learnerLoginRaw(tenant, learner.email, PASSWORD), 403);
    // Suspending ends the learner's sessions.
    expectProblem(await learnerMe(learner.token), 401);
    expectProblem(await authPost("/v1/learner/auth/refresh", { body: { refresh_token: learner.refreshToken } }), 401);
  });

  it("rotates the refresh token: the new pair works, the old refresh token answers 401", async () => {
    const tenant = await createTenant();
    const learner = await learnerSession(tenant);
    const next = await authPost("/v1/learner/auth/refresh", { body: { refresh_token: learner.refreshToken } });
    expectStatus(next, 200);
    expectTokenPair(next.body);
    expect(next.body.refresh_token).not.toBe(learner.refreshToken);
    const me = await learnerMe(next.body.access_token);
    expectStatus(me, 200);
    expect(me.body.id).toBe(learner.id);
    expectProblem(await authPost("/v1/learner/auth/refresh", { body: { refresh_token: learner.refreshToken } }), 401);
    expectStatus(await authPost("/v1/learner/auth/refresh", { body: { refresh_token: next.body.refresh_token } }), 200);
    expectProblem(await authPost("/v1/learner/auth/refresh", { body: {} }), 422);
  });

  it("lets only one of several concurrent refreshes with the same token win", async () => {
    const tenant = await createTenant();
    const learner = await learnerSession(tenant);
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        authPost("/v1/learner/auth/refresh", { body: { refresh_token: learner.refreshToken } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401, 401, 401, 401]);
    const winner = results.find((r) => r.status === 200)!;
    expectStatus(await learnerMe(winner.body.access_token), 200);
    expectStatus(
      await authPost("/v1/learner/auth/refresh", { body: { refresh_token: winner.body.refresh_token } }),
      200,
    );
  });

  it("logs out: the access token answers 401 at once, refresh is dead, other sessions live on", async () => {
    const tenant = await createTenant();
    const learner = await learnerSession(tenant);
    const phone = await learnerLogin(tenant, learner.email);
    expectStatus(await learnerMe(learner.token), 200);
    expectStatus(await authPost("/v1/learner/auth/logout", { token: learner.token }), 204);
    expectProblem(await learnerMe(learner.token), 401);
    expectProblem(await authPost("/v1/learner/auth/refresh", { body: { refresh_token: learner.refreshToken } }), 401);
    expectStatus(await learnerMe(phone.access_token), 200);
    expectProblem(await authPost("/v1/learner/auth/logout"), 401);
  });
});

describe("learner sessions remembered per instance (platform/session-memo.ts)", () => {
  it("apply a revocation made elsewhere within 5 s, and a suspension of the academy at once", async () => {
    const tenant = await createTenant();
    const learner = await learnerSession(tenant);
    expectStatus(await learnerMe(learner.token), 200);
    // Revoked by another instance (straight in D1, so this instance's memo is not told).
    await env.DB.prepare("UPDATE sessions SET revoked_at = ? WHERE tenant_id = ? AND user_id = ?")
      .bind(new Date().toISOString(), tenant.id, learner.id)
      .run();
    expectStatus(await learnerMe(learner.token), 200); // still remembered: at most 5 s
    vi.useFakeTimers({ now: Date.now() + 5_100, toFake: ["Date"] });
    try {
      expectProblem(await learnerMe(learner.token), 401);
    } finally {
      vi.useRealTimers();
    }
    // A suspension of the academy through the platform API forgets its sessions here at once.
    const other = await learnerSession(tenant);
    expectStatus(await learnerMe(other.token), 200);
    expectStatus(
      await api("PATCH", `/v1/platform/tenants/${tenant.id}`, {
        token: env.PLATFORM_ADMIN_TOKEN,
        body: { status: "suspended" },
      }),
      200,
    );
    expectProblem(await learnerMe(other.token), 403);
  });
});

describe("learner password reset", () => {
  it("is single-use, changes the password and ends every old session", async () => {
    const tenant = await createTenant();
    const learner = await learnerSession(tenant);
    const second = await learnerLogin(tenant, learner.email);
    const requested = await authPost("/v1/learner/auth/password-reset", {
      tenant: tenant.slug,
      body: { email: learner.email },
    });
    expectStatus(requested, 202);
    const event = await lastEvent(tenant.id, "learner.password_reset_requested");
    expect(event).toMatchObject({ user_id: learner.id, email: learner.email, token: expect.stringMatching(/^prt_/) });
    // The token is not in any response.
    expect(requested.text).not.toContain(event!.token);

    // Requesting does not change anything yet.
    expectStatus(await learnerMe(learner.token), 200);

    const confirm = await authPost("/v1/learner/auth/password-reset/confirm", {
      tenant: tenant.slug,
      body: { token: event!.token, password: NEW_PASSWORD },
    });
    expectStatus(confirm, 204);

    for (const token of [learner.token, second.access_token]) expectProblem(await learnerMe(token), 401);
    for (const refresh_token of [learner.refreshToken, second.refresh_token]) {
      expectProblem(await authPost("/v1/learner/auth/refresh", { body: { refresh_token } }), 401);
    }
    expectProblem(await learnerLoginRaw(tenant, learner.email, PASSWORD), 401);
    expectStatus(await learnerLoginRaw(tenant, learner.email, NEW_PASSWORD), 200);

    const again = await authPost("/v1/learner/auth/password-reset/confirm", {
      tenant: tenant.slug,
      body: { token: event!.token, password: "yet-another-password-7" },
    });
    expect(expectProblem(again, 422).errors?.[0]?.path).toBe("token");
    expectProblem(await learnerLoginRaw(tenant, learner.email, "yet-another-password-7"), 401);
    expectStatus(await learnerLoginRaw(tenant, learner.email, NEW_PASSWORD), 200);
  });

  it("lets only one of two concurrent confirmations with the same token win", async () => {
    const tenant = await createTenant();
    const learner = await createLearner(tenant);
    await authPost("/v1/learner/auth/password-reset", { tenant: tenant.slug, body: { email: learner.email } });
    const event = await lastEvent(tenant.id, "learner.password_reset_requested");
    const passwords = ["first-new-password-1", "second-new-password-2"];
    const results = await Promise.all(
      passwords.map((password) =>
        authPost("/v1/learner/auth/password-reset/confirm", {
          tenant: tenant.slug,
          body: { token: event!.token, password },
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([204, 422]);
    const winner = passwords[results.findIndex((r) => r.status === 204)];
    const loser = passwords.find((p) => p !== winner)!;
    expectStatus(await learnerLoginRaw(tenant, learner.email, winner), 200);
    expectProblem(await learnerLoginRaw(tenant, learner.email, loser), 401);
  });

  it("answers 202 the same for an unknown email and mails nothing", async () => {
    const tenant = await createTenant();
    const learner = await createLearner(tenant);
    const unknown = await authPost("/v1/learner/auth/password-reset", {
      tenant: tenant.slug,
      body: { email: `${unique("ghost")}@example.com` },
    });
    expectStatus(unknown, 202);
    expect(await lastEvent(tenant.id, "learner.password_reset_requested")).toBeUndefined();
    const known = await authPost("/v1/learner/auth/password-reset", {
      tenant: tenant.slug,
      body: { email: learner.email },
    });
    expectStatus(known, 202);
    expect(known.body).toEqual(unknown.body);
    expect(await lastEvent(tenant.id, "learner.password_reset_requested")).toMatchObject({ user_id: learner.id });
  });

  it("rejects a made-up token and a weak new password with 422", async () => {
    const tenant = await createTenant();
    const learner = await createLearner(tenant);
    const made = await authPost("/v1/learner/auth/password-reset/confirm", {
      tenant: tenant.slug,
      body: { token: "prt_made_up_token_value", password: NEW_PASSWORD },
    });
    expect(expectProblem(made, 422).errors?.[0]?.path).toBe("token");

    await authPost("/v1/learner/auth/password-reset", { tenant: tenant.slug, body: { email: learner.email } });
    const event = await lastEvent(tenant.id, "learner.password_reset_requested");
    const weak = await authPost("/v1/learner/auth/password-reset/confirm", {
      tenant: tenant.slug,
      body: { token: event!.token, password: "short" },
    });
    expect(expectProblem(weak, 422).errors?.map((e) => e.path)).toContain("password");
    // The token was not spent by the refused request.
    const ok = await authPost("/v1/learner/auth/password-reset/confirm", {
      tenant: tenant.slug,
      body: { token: event!.token, password: NEW_PASSWORD },
    });
    expectStatus(ok, 204);
  });

  it("throttles reset requests for one email with 429", async () => {
    const tenant = await createTenant();
    const learner = await createLearner(tenant);
    for (let i = 0; i < 5; i++) {
      const res = await authPost("/v1/learner/auth/password-reset", {
        tenant: tenant.slug,
        body: { email: learner.email },
      });
      expectStatus(res, 202);
    }
    const limited = await authPost("/v1/learner/auth/password-reset", {
      tenant: tenant.slug,
      body: { email: learner.email },
    });
    expectProblem(limited, 429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe("learner email verification", () => {
  it("sets email_verified_at with the mailed token, once", async () => {
    const tenant = await createTenant();
    const learner = await learnerSession(tenant);
    const before = await learnerMe(learner.token);
    expect(before.body.email_verified_at).toBeNull();

    const requested = await authPost("/v1/learner/auth/verify-email/request", { token: learner.token });
    expectStatus(requested, 202);
    const event = await lastEvent(tenant.id, "learner.email_verification_requested");
    expect(event).toMatchObject({ user_id: learner.id, email: learner.email, token: expect.stringMatching(/^evt_/) });

    const verified = await authPost("/v1/learner/auth/verify-email", {
      tenant: tenant.slug,
      body: { token: event!.token },
    });
    expectStatus(verified, 204);
    const after = await learnerMe(learner.token);
    expect(after.body.email_verified_at).toEqual(expect.any(String));
    expect(Date.parse(after.body.email_verified_at)).not.toBeNaN();
    const admin = await api("GET", `/v1/admin/learners/${learner.id}`, { token: tenant.key });
    expect(admin.body.email_verified_at).toBe(after.body.email_verified_at);

    const reused = await authPost("/v1/learner/auth/verify-email", {
      tenant: tenant.slug,
      body: { token: event!.token },
    });
    expect(expectProblem(reused, 422).errors?.[0]?.path).toBe("token");
    // Already verified: no new token.
    expectProblem(await authPost("/v1/learner/auth/verify-email/request", { token: learner.token }), 409);
  });

  it("does not accept a password reset token as a verification token, nor the reverse", async () => {
    const tenant = await createTenant();
    const learner = await learnerSession(tenant);
    await authPost("/v1/learner/auth/password-reset", { tenant: tenant.slug, body: { email: learner.email } });
    const reset = await lastEvent(tenant.id, "learner.password_reset_requested");
    const wrongKind = await authPost("/v1/learner/auth/verify-email", {
      tenant: tenant.slug,
      body: { token: reset!.token },
    });
    expectProblem(wrongKind, 422);
    expect((await learnerMe(learner.token)).body.email_verified_at).toBeNull();

    await authPost("/v1/learner/auth/verify-email/request", { token: learner.token });
    const verify = await lastEvent(tenant.id, "learner.email_verification_requested");
    const asReset = await authPost("/v1/learner/auth/password-reset/confirm", {
      tenant: tenant.slug,
      body: { token: verify!.token, password: NEW_PASSWORD },
    });
    expectProblem(asReset, 422);
    expectStatus(await learnerMe(learner.token), 200);
  });

  it("needs a learner token to request a verification email", async () => {
    const tenant = await createTenant();
    expectProblem(await authPost("/v1/learner/auth/verify-email/request"), 401);
    expectProblem(await authPost("/v1/learner/auth/verify-email/request", { token: tenant.key }), 403);
  });
});

// ---- tokens across tenants and surfaces ----------------------------------------------------------------------

describe("credentials stay in their academy and surface", () => {
  it("does not accept academy A's reset and verification tokens with X-Tenant of academy B", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const learner = await learnerSession(a);
    // The same email exists at B, so only the tenant boundary can stop the token.
    await createLearner(b, { email: learner.email });

    await authPost("/v1/learner/auth/password-reset", { tenant: a.slug, body: { email: learner.email } });
    const reset = await lastEvent(a.id, "learner.password_reset_requested");
    const crossReset = await authPost("/v1/learner/auth/password-reset/confirm", {
      tenant: b.slug,
      body: { token: reset!.token, password: NEW_PASSWORD },
    });
    expectProblem(crossReset, 422);
    expectProblem(await learnerLoginRaw(b, learner.email, NEW_PASSWORD), 401);
    expectProblem(await learnerLoginRaw(a, learner.email, NEW_PASSWORD), 401);
    expectStatus(await learnerMe(learner.token), 200);

    await authPost("/v1/learner/auth/verify-email/request", { token: learner.token });
    const verify = await lastEvent(a.id, "learner.email_verification_requested");
    const crossVerify = await authPost("/v1/learner/auth/verify-email", {
      tenant: b.slug,
      body: { token: verify!.token },
    });
    expectProblem(crossVerify, 422);
    expect((await learnerMe(learner.token)).body.email_verified_at).toBeNull();

    // At their own academy, both tokens still work (they were valid; only the tenant was wrong).
    expectStatus(
      await authPost("/v1/learner/auth/verify-email", { tenant: a.slug, body: { token: verify!.token } }),
      204,
    );
    expectStatus(
      await authPost("/v1/learner/auth/password-reset/confirm", {
        tenant: a.slug,
        body: { token: reset!.token, password: NEW_PASSWORD },
      }),
      204,
    );
    expectStatus(await learnerLoginRaw(a, learner.email, NEW_PASSWORD), 200);
    expectStatus(await learnerLoginRaw(b, learner.email, PASSWORD), 200);
  });

  it("takes the academy from the token, never from X-Tenant", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const learner = await learnerSession(a);
    const me = await api("GET", "/v1/learner/me", { token: learner.token, tenant: b.slug });
    expectStatus(me, 200);
    expect(me.body.id).toBe(learner.id);
    const staff = await staffSession(a, "admin");
    const adminSelf = await api("GET", "/v1/admin/me", { token: staff.token, tenant: b.slug });
    expect(adminSelf.body.tenant_id).toBe(a.id);
    // A's learner list is what A's staff sees, even when naming B.
    const bLearner = await createLearner(b);
    const read = await api("GET", `/v1/admin/learners/${bLearner.id}`, { token: staff.token, tenant: b.slug });
    expectProblem(read, 404);
  });

  it("answers 401 to a token re-signed with another academy's id (session belongs to A)", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const learner = await learnerSession(a);
    const claims = decodeJwt(learner.token) as { sub: string; tid: number; sid: number };
    const exp = nowSeconds() + 600;
    // Control: the same claims signed the same way are accepted.
    expectStatus(
      await learnerMe(await forge({ sub: claims.sub, aud: "learner", tid: a.id, sid: claims.sid }, exp)),
      200,
    );
    const moved = await forge({ sub: claims.sub, aud: "learner", tid: b.id, sid: claims.sid }, exp);
    expectProblem(await learnerMe(moved), 401);
  });

  it("answers 403 for a learner token on the admin API and a staff token on the learner API", async () => {
    const tenant = await createTenant();
    const learner = await learnerSession(tenant);
    const staff = await staffSession(tenant, "admin");
    for (const path of ["/v1/admin/me", "/v1/admin/learners", "/v1/admin/courses"]) {
      expectProblem(await api("GET", path, { token: learner.token }), 403);
    }
    expectProblem(await authPost("/v1/admin/auth/logout", { token: learner.token }), 403);
    expectProblem(await learnerMe(staff.token), 403);
    expectProblem(await authPost("/v1/learner/auth/logout", { token: staff.token }), 403);
    expectProblem(await learnerMe(tenant.key), 403);
    // Both stay valid where they belong.
    expectStatus(await learnerMe(learner.token), 200);
    expectStatus(await adminMe(staff.token), 200);
  });

  it("answers 401 to a tampered JWT, an alg:none JWT, a wrongly signed JWT and an expired JWT", async () => {
    const tenant = await createTenant();
    const learner = await learnerSession(tenant);
    const other = await learnerSession(tenant);
    const [header, payload, signature] = learner.token.split(".");
    const claims = decodeJwt(learner.token) as Record<string, unknown> & { sub: string; sid: number };

    // Control: a token forged with the real secret and a live session works, so only the defect below fails.
    const live = await forge({ sub: claims.sub, aud: "learner", tid: tenant.id, sid: claims.sid }, nowSeconds() + 600);
    expectStatus(await learnerMe(live), 200);

    const tampered = `${header}.${b64url({ ...claims, sub: `user:${other.id}`, sid: decodeJwt(other.token).sid })}.${signature}`;
    const res = await learnerMe(tampered);
    expectProblem(res, 401);

    const none = `${b64url({ alg: "none", typ: "JWT" })}.${payload}.`;
    expectProblem(await learnerMe(none), 401);
    const noneSigned = `${b64url({ alg: "none", typ: "JWT" })}.${payload}.${signature}`;
    expectProblem(await learnerMe(noneSigned), 401);

    const wrongSecret = await forge(
      { sub: claims.sub, aud: "learner", tid: tenant.id, sid: claims.sid },
      nowSeconds() + 600,
      "some-other-secret-0123456789abcdef0123456789",
    );
    expectProblem(await learnerMe(wrongSecret), 401);

    const expired = await forge(
      { sub: claims.sub, aud: "learner", tid: tenant.id, sid: claims.sid },
      nowSeconds() - 60,
    );
    const expiredRes = await learnerMe(expired);
    expect(expectProblem(expiredRes, 401).detail).toMatch(/expired/i);

    // The admin API refuses the same defects.
    const staff = await staffSession(tenant, "admin");
    const staffClaims = decodeJwt(staff.token) as { sub: string; sid: number };
    const expiredStaff = await forge(
      { sub: staffClaims.sub, aud: "admin", tid: tenant.id, sid: staffClaims.sid },
      nowSeconds() - 60,
    );
    expectProblem(await adminMe(expiredStaff), 401);
    const [sh, , ss] = staff.token.split(".");
    expectProblem(await adminMe(`${sh}.${b64url({ ...decodeJwt(staff.token), sub: `user:${other.id}` })}.${ss}`), 401);
    expectProblem(await adminMe(`${b64url({ alg: "none" })}.${staff.token.split(".")[1]}.`), 401);

    // The genuine tokens still work.
    expectStatus(await learnerMe(learner.token), 200);
    expectStatus(await adminMe(staff.token), 200);
  });
});

// ---- OAuth client credentials --------------------------------------------------------------------------------

describe("POST /v1/oauth/token", () => {
  it("issues a token for a JSON body in the MSAAQ envelope; it works on the admin API", async () => {
    const tenant = await createTenant();
    const client = await apiClient(tenant, ["courses:read", "learners:read"]);
    const res = await authPost("/v1/oauth/token", {
      body: { grant_type: "client_credentials", client_id: client.client_id, client_secret: client.client_secret },
    });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({
      status: "success",
      code: "200",
      data: { token_type: "Bearer", expires_in: expect.any(Number), access_token: expect.any(String) },
    });
    expect(res.body.data.expires_in).toBeGreaterThan(0);
    expect(res.body.access_token).toBe(res.body.data.access_token);
    expect(res.headers.get("cache-control")).toContain("no-store");

    const me = await adminMe(res.body.data.access_token);
    expectStatus(me, 200);
    expect(me.body).toMatchObject({ tenant_id: tenant.id, credential: { type: "api_client", id: client.id } });
    expect([...me.body.permissions].sort()).toEqual(["courses:read", "learners:read"]);
    expectStatus(await api("GET", "/v1/admin/courses", { token: res.body.data.access_token }), 200);
    expectProblem(
      await api("POST", "/v1/admin/courses", { token: res.body.data.access_token, body: { name: "x" } }),
      403,
    );

    // The client shows it was used.
    const got = await api("GET", `/v1/admin/api-clients/${client.id}`, { token: tenant.key });
    expect(got.body.last_used_at).toEqual(expect.any(String));
  });

  it("accepts form-encoded credentials", async () => {
    const tenant = await createTenant();
    const client = await apiClient(tenant);
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: client.client_id,
      client_secret: client.client_secret,
    });
    const res = await authPost("/v1/oauth/token", {
      rawBody: form.toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({ status: "success", code: "200", data: { token_type: "Bearer" } });
    expectStatus(await adminMe(res.body.data.access_token), 200);
  });

  it("accepts HTTP Basic credentials", async () => {
    const tenant = await createTenant();
    const client = await apiClient(tenant);
    const basic = `Basic ${btoa(`${client.client_id}:${client.client_secret}`)}`;
    const withForm = await authPost("/v1/oauth/token", {
      rawBody: "grant_type=client_credentials",
      headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
    });
    expectStatus(withForm, 200);
    expectStatus(await adminMe(withForm.body.data.access_token), 200);
    const bare = await authPost("/v1/oauth/token", { headers: { authorization: basic } });
    expectStatus(bare, 200);
    expect(bare.body.data.token_type).toBe("Bearer");
    const wrong = await authPost("/v1/oauth/token", {
      headers: { authorization: `Basic ${btoa(`${client.client_id}:not-the-secret`)}` },
    });
    expectProblem(wrong, 401);
  });

  it("narrows the token to a requested scope and refuses scopes beyond the client's", async () => {
    const tenant = await createTenant();
    const client = await apiClient(tenant, ["courses:read", "learners:read"]);
    const creds = { client_id: client.client_id, client_secret: client.client_secret };
    const narrow = await authPost("/v1/oauth/token", { body: { ...creds, scope: "courses:read" } });
    expectStatus(narrow, 200);
    expect(narrow.body.data.scope).toBe("courses:read");
    const token = narrow.body.data.access_token;
    expect((await adminMe(token)).body.permissions).toEqual(["courses:read"]);
    expectStatus(await api("GET", "/v1/admin/courses", { token }), 200);
    expectProblem(await api("GET", "/v1/admin/learners", { token }), 403);

    const beyond = await authPost("/v1/oauth/token", { body: { ...creds, scope: "courses:read courses:write" } });
    expect(beyond.status).toBe(400);
    expect(beyond.body.error).toBe("invalid_scope");
  });

  it("answers 401 for a wrong secret or an unknown client, 422 without credentials", async () => {
    const tenant = await createTenant();
    const client = await apiClient(tenant);
    const headers = { "cf-connecting-ip": freshIp() };
    const wrong = await authPost("/v1/oauth/token", {
      body: { client_id: client.client_id, client_secret: `${client.client_secret}x` },
      headers,
    });
    expectProblem(wrong, 401);
    expect(wrong.body.error).toBe("invalid_client");
    const unknown = await authPost("/v1/oauth/token", {
      body: { client_id: "lc_unknownclient0000", client_secret: client.client_secret },
      headers,
    });
    expectProblem(unknown, 401);
    expect(unknown.body.detail).toBe(wrong.body.detail);
    const missing = await authPost("/v1/oauth/token", { body: { client_id: client.client_id }, headers });
    expect(expectProblem(missing, 422).errors?.map((e) => e.path)).toContain("client_secret");
    const grant = await authPost("/v1/oauth/token", {
      body: { grant_type: "password", client_id: client.client_id, client_secret: client.client_secret },
      headers,
    });
    expect(expectProblem(grant, 422).errors?.map((e) => e.path)).toContain("grant_type");
  });

  it("locks a client after 5 wrong secrets, even for the right one", async () => {
    const tenant = await createTenant();
    const client = await apiClient(tenant);
    for (let i = 0; i < 5; i++) {
      const res = await authPost("/v1/oauth/token", {
        body: { client_id: client.client_id, client_secret: `wrong-${i}` },
        headers: { "cf-connecting-ip": freshIp() },
      });
      expectProblem(res, 401);
    }
    const locked = await authPost("/v1/oauth/token", {
      body: { client_id: client.client_id, client_secret: client.client_secret },
      headers: { "cf-connecting-ip": freshIp() },
    });
    expectProblem(locked, 429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("revoking a client makes its existing tokens answer 401 and refuses new ones", async () => {
    const tenant = await createTenant();
    const client = await apiClient(tenant);
    const creds = { client_id: client.client_id, client_secret: client.client_secret };
    const issued = await authPost("/v1/oauth/token", { body: creds });
    expectStatus(issued, 200);
    const token = issued.body.data.access_token;
    expectStatus(await adminMe(token), 200);
    expectStatus(await api("DELETE", `/v1/admin/api-clients/${client.id}`, { token: tenant.key }), 204);
    expectProblem(await adminMe(token), 401);
    expectProblem(await authPost("/v1/oauth/token", { body: creds }), 401);
  });

  it("rotating the secret makes the old secret fail and the new one work", async () => {
    const tenant = await createTenant();
    const client = await apiClient(tenant);
    const before = await authPost("/v1/oauth/token", {
      body: { client_id: client.client_id, client_secret: client.client_secret },
    });
    expectStatus(before, 200);
    const rotated = await api("POST", `/v1/admin/api-clients/${client.id}/rotate-secret`, { token: tenant.key });
    expectStatus(rotated, 200);
    expect(rotated.body.client_secret).not.toBe(client.client_secret);
    expect(rotated.body.client_id).toBe(client.client_id);

    const old = await authPost("/v1/oauth/token", {
      body: { client_id: client.client_id, client_secret: client.client_secret },
    });
    expectProblem(old, 401);
    const fresh = await authPost("/v1/oauth/token", {
      body: { client_id: client.client_id, client_secret: rotated.body.client_secret },
    });
    expectStatus(fresh, 200);
    expectStatus(await adminMe(fresh.body.data.access_token), 200);
  });

  it("keeps a client's token in its own academy", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const client = await apiClient(a);
    const issued = await authPost("/v1/oauth/token", {
      body: { client_id: client.client_id, client_secret: client.client_secret },
    });
    const token = issued.body.data.access_token;
    const bLearner = await createLearner(b);
    expectProblem(await api("GET", `/v1/admin/learners/${bLearner.id}`, { token }), 404);
    expect((await api("GET", "/v1/admin/me", { token, tenant: b.slug })).body.tenant_id).toBe(a.id);
    // A client token is not a learner token.
    expectProblem(await learnerMe(token), 403);
  });
});
