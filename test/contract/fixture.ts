/**
 * The academy the fuzzer works in, its credentials per security scheme, and hints that steer generated values
 * towards real data (role ids, permissions, a real API client) so valid requests reach the success paths too.
 */
import fc from "fast-check";
import { api, expectStatus, platformToken } from "../helpers/api";
import { createLearner, createTenant, learnerSession, PASSWORD, type TestTenant, unique } from "../helpers/factories";
import type { Hints } from "./arbitraries";
import { clientIp } from "./harness";
import type { Operation } from "./openapi";

export interface Fixture {
  tenant: TestTenant;
  roleIds: number[];
  permissions: string[];
  hints: Hints;
  headerHints: Record<string, fc.Arbitrary<string>>;
  /** The credential an operation's security asks for (undefined: none). */
  credential(operation: Operation): Promise<string | undefined>;
}

/** Writes per minute high enough that the fuzzer never meets the per-credential write limit. */
const UNLIMITED = { rate_limits: { writes_per_minute: 1_000_000 } };

async function login(surface: "admin" | "learner", tenant: TestTenant, email: string) {
  const res = await api("POST", `/v1/${surface}/auth/login`, {
    tenant: tenant.slug,
    body: { email, password: PASSWORD },
    headers: { "cf-connecting-ip": clientIp() },
  });
  expectStatus(res, 200);
  return res.body as { access_token: string; refresh_token: string };
}

/** Operations that end the session they are called with get a new session each time (up to a cap). */
const endsSession = (operation: Operation) => /\/logout$/.test(operation.path);

/**
 * Fresh sessions per session-ending operation. Each staff session is a rate-limiter Durable Object of its own
 * (see harness.ts on why their number is bounded); past the cap, the last session is reused, so later cases
 * meet an ended session (401, documented) instead of a new one.
 */
const MAX_FRESH_SESSIONS = 40;

export async function createFixture(): Promise<Fixture> {
  const tenant = await createTenant({ settings: UNLIMITED });
  const learner = await learnerSession(tenant);
  // Separate learners: one signs in for session-ending calls, one is the target of sign-in hints (and may be
  // locked out by generated wrong passwords without disturbing the others).
  const sessionLearner = await createLearner(tenant);
  const hintLearner = await createLearner(tenant);

  const roles = await api("GET", "/v1/admin/roles?per_page=100", { token: tenant.key });
  expectStatus(roles, 200);
  const roleIds = (roles.body.data as { id: number }[]).map((r) => r.id);
  const permissionList = await api("GET", "/v1/admin/permissions", { token: tenant.key });
  expectStatus(permissionList, 200);
  const permissions = (permissionList.body.data as { permission: string }[]).map((p) => p.permission);

  const client = await api("POST", "/v1/admin/api-clients", { token: tenant.key, body: { name: unique("fuzz") } });
  expectStatus(client, 201);
  const category = await api("POST", "/v1/admin/categories", { token: tenant.key, body: { name: unique("Fuzz") } });
  expectStatus(category, 201);
  // Refresh tokens of sessions nobody else uses (refreshing rotates them).
  const learnerRefresh = (await login("learner", tenant, hintLearner.email)).refresh_token;
  const staffRefresh = (await login("admin", tenant, tenant.ownerEmail)).refresh_token;

  const hints: Hints = {
    role_id: fc.constantFrom(...roleIds),
    scopes: fc.subarray(permissions, { minLength: 1, maxLength: 6 }),
    permissions: fc.subarray(permissions, { maxLength: 6 }),
    client_id: fc.constant(client.body.client_id),
    client_secret: fc.constant(client.body.client_secret),
    category_id: fc.constant(category.body.id),
    category_ids: fc.constant([category.body.id]),
    refresh_token: fc.constantFrom(learnerRefresh, staffRefresh),
    email: fc.constant(hintLearner.email),
    password: fc.constant(PASSWORD),
  };

  const freshSessions = new Map<string, { count: number; token: string }>();
  async function sessionFor(operation: Operation, surface: "admin" | "learner", email: string) {
    const current = freshSessions.get(operation.key);
    if (current && current.count >= MAX_FRESH_SESSIONS) return current.token;
    const token = (await login(surface, tenant, email)).access_token;
    freshSessions.set(operation.key, { count: (current?.count ?? 0) + 1, token });
    return token;
  }

  return {
    tenant,
    roleIds,
    permissions,
    hints,
    headerHints: { "x-tenant": fc.constant(tenant.slug) },
    async credential(operation) {
      switch (operation.scheme) {
        case "none":
          return undefined;
        case "platformToken":
          return platformToken();
        case "adminBearer":
          return endsSession(operation) ? sessionFor(operation, "admin", tenant.ownerEmail) : tenant.key;
        case "learnerBearer":
          return endsSession(operation) ? sessionFor(operation, "learner", sessionLearner.email) : learner.token;
        default:
          throw new Error(`${operation.key}: no credential for security scheme ${operation.scheme}`);
      }
    },
  };
}
