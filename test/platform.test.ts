import { describe, expect, it } from "vitest";
import { openSecret, sealSecret } from "../src/platform/crypto";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant } from "./helpers/factories";

describe("platform behaviour every client relies on", () => {
  it("answers ping without a credential", async () => {
    const res = await api("GET", "/v1/ping");
    expectStatus(res, 200);
    expect(res.body).toEqual({ message: "pong!" });
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("echoes a client's X-Request-Id and makes one otherwise", async () => {
    const mine = await api("GET", "/v1/ping", { headers: { "x-request-id": "client-req-123" } });
    expect(mine.headers.get("x-request-id")).toBe("client-req-123");
    const a = await api("GET", "/v1/ping");
    const b = await api("GET", "/v1/ping");
    expect(a.headers.get("x-request-id")).not.toBe(b.headers.get("x-request-id"));
  });

  it("answers unknown routes with a 404 problem", async () => {
    const res = await api("GET", "/v1/nothing-here");
    expectProblem(res, 404);
    expect(res.body.instance).toBe("/v1/nothing-here");
  });

  it("answers malformed JSON with a 400 problem and writes nothing", async () => {
    const tenant = await createTenant();
    const res = await api("POST", "/v1/admin/learners", {
      token: tenant.key,
      rawBody: '{"name": "x", "email":',
      headers: { "content-type": "application/json" },
    });
    expectProblem(res, 400);
    const list = await api("GET", "/v1/admin/learners", { token: tenant.key });
    expect(list.body.meta.total).toBe(0);
  });

  it("answers a non-JSON content type with 415 and an empty body with 415", async () => {
    const tenant = await createTenant();
    const wrongType = await api("POST", "/v1/admin/learners", {
      token: tenant.key,
      rawBody: "name=x",
      headers: { "content-type": "text/plain" },
    });
    expectProblem(wrongType, 415);
    const noType = await api("POST", "/v1/admin/learners", { token: tenant.key, rawBody: '{"name":"x"}' });
    expectProblem(noType, 415);
  });

  it("answers a missing body with 422 naming the required fields", async () => {
    const tenant = await createTenant();
    const res = await api("POST", "/v1/admin/learners", {
      token: tenant.key,
      rawBody: "{}",
      headers: { "content-type": "application/json" },
    });
    const problem = expectProblem(res, 422);
    expect(problem.errors?.map((e) => e.path)).toEqual(expect.arrayContaining(["name", "email"]));
  });

  it("refuses bodies over the size limit with 413", async () => {
    const tenant = await createTenant();
    const res = await api("POST", "/v1/admin/learners", {
      token: tenant.key,
      body: { name: "x".repeat(1_100_000), email: "big@example.com" },
    });
    expectProblem(res, 413);
  });

  it("answers CORS preflight for browser clients", async () => {
    const res = await api("OPTIONS", "/v1/admin/courses", {
      headers: {
        origin: "https://app.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
  });

  it("rejects list parameters outside their bounds with 422", async () => {
    const tenant = await createTenant();
    for (const query of ["per_page=1000", "page=0", "sort=password_hash", "per_page=abc"]) {
      const res = await api("GET", `/v1/admin/learners?${query}`, { token: tenant.key });
      expectProblem(res, 422);
    }
  });

  it("serves the OpenAPI 3.1 document and the interactive reference", async () => {
    const doc = await api("GET", "/openapi.json");
    expectStatus(doc, 200);
    expect(doc.body.openapi).toBe("3.1.0");
    for (const [path, operations] of Object.entries<Record<string, any>>(doc.body.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(op.summary, `${where} summary`).toBeTruthy();
        expect(op.tags?.length, `${where} tags`).toBeGreaterThan(0);
        expect(op.operationId, `${where} operationId`).toBeTruthy();
        expect(op.responses["422"], `${where} 422`).toBeTruthy();
        expect(op.responses["500"], `${where} 500`).toBeTruthy();
      }
    }
    const docs = await api("GET", "/docs");
    expectStatus(docs, 200);
    expect(docs.text).toContain("/openapi.json");
  });
});

describe("secrets sealed at rest", () => {
  const key = "deployment-secret-0123456789abcdef";
  it("open what they sealed, only with the same key, purpose and context; values from before sealing pass", async () => {
    const sealed = await sealSecret(key, "purpose", "tenant:1", "whsec_abc");
    expect(sealed).toMatch(/^sealed:v1:/);
    expect(sealed).not.toContain("whsec_abc");
    expect(await sealSecret(key, "purpose", "tenant:1", "whsec_abc")).not.toBe(sealed); // a fresh IV each time
    expect(await openSecret(key, "purpose", "tenant:1", sealed)).toBe("whsec_abc");
    await expect(openSecret(key, "purpose", "tenant:2", sealed)).rejects.toThrow();
    await expect(openSecret(key, "other purpose", "tenant:1", sealed)).rejects.toThrow();
    await expect(openSecret(`${key}x`, "purpose", "tenant:1", sealed)).rejects.toThrow();
    expect(await openSecret(key, "purpose", "tenant:1", "whsec_plain")).toBe("whsec_plain");
  });
});
