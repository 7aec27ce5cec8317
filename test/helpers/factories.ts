import { env } from "cloudflare:test";
import { expect } from "vitest";
import { ALL_PERMISSIONS } from "../../src/platform/permissions";
import { api, expectStatus, platformToken } from "./api";

let counter = 0;
export const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

let ipCounter = 0;
/** A client IP of its own for each sign-in, so the per-IP sign-in limit never spills from one test to another. */
export function freshIp() {
  ipCounter++;
  return `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
}

export const PASSWORD = "correct-horse-battery-staple";

export interface TestTenant {
  id: number;
  slug: string;
  /** the first owner API key (every permission) */
  key: string;
  ownerUserId: number | null;
  ownerEmail: string;
}

/** A fresh academy through the platform API, with an Owner user and its owner key. */
export async function createTenant(overrides: Record<string, unknown> = {}): Promise<TestTenant> {
  const slug = unique("t");
  const ownerEmail = `${slug}-owner@example.com`;
  const res = await api("POST", "/v1/platform/tenants", {
    token: platformToken(),
    body: {
      name: `Academy ${slug}`,
      slug,
      owner: { name: "Owner", email: ownerEmail, password: PASSWORD },
      ...overrides,
    },
  });
  expectStatus(res, 201);
  return {
    id: res.body.id,
    slug: res.body.slug,
    key: res.body.owner_api_key.key,
    ownerUserId: res.body.owner_user_id,
    ownerEmail,
  };
}

export async function createLearner(tenant: TestTenant, fields: Record<string, unknown> = {}) {
  const email = `${unique("learner")}@example.com`;
  const res = await api("POST", "/v1/admin/learners", {
    token: tenant.key,
    body: { name: "Lea Learner", email, password: PASSWORD, ...fields },
  });
  expectStatus(res, 201);
  return res.body as { id: number; email: string; [key: string]: unknown };
}

export async function learnerLogin(tenant: TestTenant, email: string, password = PASSWORD) {
  const res = await api("POST", "/v1/learner/auth/login", {
    tenant: tenant.slug,
    headers: { "cf-connecting-ip": freshIp() },
    body: { email, password },
  });
  expectStatus(res, 200);
  return res.body as { access_token: string; refresh_token: string; user: { id: number } };
}

/** A signed-in learner: their id and access token. */
export async function learnerSession(tenant: TestTenant) {
  const learner = await createLearner(tenant);
  const session = await learnerLogin(tenant, learner.email);
  return { ...learner, token: session.access_token, refreshToken: session.refresh_token };
}

export async function roleId(tenant: TestTenant, key: string): Promise<number> {
  const res = await api("GET", "/v1/admin/roles?per_page=100", { token: tenant.key });
  const role = res.body.data.find((r: { key: string }) => r.key === key);
  expect(role, `role ${key}`).toBeTruthy();
  return role.id;
}

/** A signed-in staff user with a built-in role ("admin", "instructor", ...). */
export async function staffSession(tenant: TestTenant, role: string) {
  const email = `${unique(role)}@example.com`;
  const created = await api("POST", "/v1/admin/staff", {
    token: tenant.key,
    body: { name: `A ${role}`, email, role_id: await roleId(tenant, role), password: PASSWORD },
  });
  expectStatus(created, 201);
  const login = await api("POST", "/v1/admin/auth/login", {
    tenant: tenant.slug,
    headers: { "cf-connecting-ip": freshIp() },
    body: { email, password: PASSWORD },
  });
  expectStatus(login, 200);
  return {
    id: created.body.id as number,
    email,
    token: login.body.access_token as string,
    refreshToken: login.body.refresh_token as string,
  };
}

/** An API key of the tenant limited to the given scopes. */
export async function scopedKey(tenant: TestTenant, scopes: string[]) {
  const res = await api("POST", "/v1/admin/api-keys", { token: tenant.key, body: { name: unique("key"), scopes } });
  expectStatus(res, 201);
  return res.body as { id: number; key: string };
}

/** The newest outbox event of a type for a tenant (tokens mailed to users travel in these). */
export async function lastEvent(tenantId: number, type: string) {
  const row = await env.DB.prepare("SELECT data FROM outbox WHERE tenant_id = ? AND type = ? ORDER BY id DESC LIMIT 1")
    .bind(tenantId, type)
    .first<{ data: string }>();
  return row ? (JSON.parse(row.data) as Record<string, any>) : undefined;
}

/** A key of the tenant that has been revoked (it must answer 401 everywhere). */
export async function revokedKey(tenant: TestTenant): Promise<string> {
  const key = await scopedKey(tenant, ["*"]);
  expectStatus(await api("DELETE", `/v1/admin/api-keys/${key.id}`, { token: tenant.key }), 204);
  return key.key;
}

/** A key holding every permission except one (so a 403 can only come from that one). */
export async function keyWithout(tenant: TestTenant, permission: string): Promise<string> {
  return (
    await scopedKey(
      tenant,
      ALL_PERMISSIONS.filter((p) => p !== permission),
    )
  ).key;
}

/**
 * A sign-in attempt that may fail, from its own client IP, so failures counted per IP by the brute-force
 * throttle never leak from one test into another.
 */
export function loginAttempt(surface: "admin" | "learner", tenant: TestTenant, email: string, password = PASSWORD) {
  return api("POST", `/v1/${surface}/auth/login`, {
    tenant: tenant.slug,
    body: { email, password },
    headers: { "cf-connecting-ip": `10.${counter % 250}.${Math.floor(Math.random() * 250)}.${(counter++ % 250) + 1}` },
  });
}
