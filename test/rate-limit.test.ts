import { describe, expect, it } from "vitest";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, learnerSession, PASSWORD, scopedKey, unique } from "./helpers/factories";

describe("rate limits", () => {
  it("limits writes per credential to the tenant's writes_per_minute with 429 and Retry-After", async () => {
    const tenant = await createTenant({ settings: { rate_limits: { writes_per_minute: 3 } } });
    for (let i = 0; i < 3; i++) {
      const ok = await api("POST", "/v1/admin/categories", { token: tenant.key, body: { name: unique("Cat") } });
      expectStatus(ok, 201);
      expect(ok.headers.get("ratelimit-remaining")).toBe(String(2 - i));
    }
    const limited = await api("POST", "/v1/admin/categories", { token: tenant.key, body: { name: unique("Cat") } });
    const problem = expectProblem(limited, 429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect(String(problem.detail)).toContain("3 writes per minute");

    // Nothing was written by the refused request, reads still work, and another credential has its own budget.
    const list = await api("GET", "/v1/admin/categories", { token: tenant.key });
    expectStatus(list, 200);
    expect(list.body.meta.total).toBe(3);
  });

  it("counts each credential separately", async () => {
    const tenant = await createTenant({ settings: { rate_limits: { writes_per_minute: 2 } } });
    const other = await scopedKey(tenant, ["categories:write"]); // write 1 of the owner key
    await api("POST", "/v1/admin/categories", { token: tenant.key, body: { name: unique("Cat") } }); // write 2
    expectProblem(await api("POST", "/v1/admin/categories", { token: tenant.key, body: { name: unique("Cat") } }), 429);
    expectStatus(await api("POST", "/v1/admin/categories", { token: other.key, body: { name: unique("Cat") } }), 201);
  });

  it("limits learner writes per session too", async () => {
    const tenant = await createTenant({ settings: { rate_limits: { writes_per_minute: 1 } } });
    const learner = await learnerSession(tenant);
    expectStatus(await api("PATCH", "/v1/learner/me", { token: learner.token, body: { name: "New name" } }), 200);
    expectProblem(await api("PATCH", "/v1/learner/me", { token: learner.token, body: { name: "Newer" } }), 429);
    expectStatus(await api("GET", "/v1/learner/me", { token: learner.token }), 200);
  });

  it("limits sign-in requests per client IP, whatever the account", async () => {
    const tenant = await createTenant();
    const ip = `203.0.113.${Math.floor(Math.random() * 200) + 1}`;
    let limited: Awaited<ReturnType<typeof api>> | undefined;
    for (let i = 0; i < 130 && !limited; i++) {
      const res = await api("POST", "/v1/learner/auth/password-reset", {
        tenant: tenant.slug,
        headers: { "cf-connecting-ip": ip },
        body: { email: `${unique("nobody")}@example.com` },
      });
      if (res.status === 429) limited = res;
      else expectStatus(res, 202);
    }
    expect(limited, "no 429 after 130 requests").toBeTruthy();
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThan(0);
    expectProblem(limited!, 429);
    // Another IP is not affected.
    const other = await api("POST", "/v1/learner/auth/login", {
      tenant: tenant.slug,
      headers: { "cf-connecting-ip": "198.51.100.7" },
      body: { email: tenant.ownerEmail, password: PASSWORD },
    });
    expectProblem(other, 401);
  });

  it("falls back to the default limit when the tenant setting is not a positive integer", async () => {
    const tenant = await createTenant({ settings: { rate_limits: { writes_per_minute: "lots" } } });
    const res = await api("POST", "/v1/admin/categories", { token: tenant.key, body: { name: unique("Cat") } });
    expectStatus(res, 201);
    expect(res.headers.get("ratelimit-limit")).toBe("600");
  });
});
