/**
 * Webhook endpoints through the admin API: create (SSRF guard, event filters, secret shown once), read, list,
 * update, delete (by id and by URL), rotate the secret, send a test event; the event catalog and its OpenAPI
 * `webhooks`; and the whole path a write takes to a receiver through the real local queues, signed so the
 * `standardwebhooks` library verifies it.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { EVENT_TYPES } from "../src/modules/webhooks/catalog";
import { webhookUrlProblem } from "../src/modules/webhooks/url-guard";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, keyWithout, type TestTenant, unique } from "./helpers/factories";
import { installReceivers, RECEIVER_ORIGIN, receiver, until, verify } from "./helpers/webhooks";

installReceivers();

async function createWebhook(t: TestTenant, body: Record<string, unknown> = {}) {
  const res = await api("POST", "/v1/admin/webhooks", {
    token: t.key,
    body: { url: `https://hooks.example.com/${unique("h")}`, event_types: ["course.published"], ...body },
  });
  expectStatus(res, 201);
  return res.body as { id: number; url: string; secret: string; event_types: string[]; active: boolean };
}

async function count(t: TestTenant) {
  const res = await api("GET", "/v1/admin/webhooks?per_page=100", { token: t.key });
  expectStatus(res, 200);
  return res.body.meta.total as number;
}

describe("webhook endpoints", () => {
  let t: TestTenant;
  let other: TestTenant;

  beforeAll(async () => {
    [t, other] = await Promise.all([createTenant(), createTenant()]);
  });

  it("creates an endpoint, shows its secret once, and reads it back without it", async () => {
    const url = `https://hooks.example.com/${unique("crm")}`;
    const res = await api("POST", "/v1/admin/webhooks", {
      token: t.key,
      body: {
        url,
        description: "CRM sync",
        event_types: ["course.published", "learner.created", "course.published"],
        rate_limit_per_second: 5,
      },
    });
    expectStatus(res, 201);
    expect(res.headers.get("location")).toBe(`/v1/admin/webhooks/${res.body.id}`);
    expect(res.body).toMatchObject({
      url,
      description: "CRM sync",
      event_types: ["course.published", "learner.created"],
      active: true,
      rate_limit_per_second: 5,
      disabled_reason: null,
      failing_since: null,
      previous_secret_expires_at: null,
    });
    expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(atob(res.body.secret.slice(6)).length).toBe(32);

    const read = await api("GET", `/v1/admin/webhooks/${res.body.id}`, { token: t.key });
    expectStatus(read, 200);
    expect(read.body.secret).toBeUndefined();
    expect(read.text).not.toContain(res.body.secret.slice(6));
    expect(read.body).toMatchObject({ id: res.body.id, url, event_types: ["course.published", "learner.created"] });

    const event = await env.DB.prepare(
      "SELECT data FROM outbox WHERE tenant_id = ? AND type = 'webhook.created' ORDER BY id DESC LIMIT 1",
    )
      .bind(t.id)
      .first<{ data: string }>();
    expect(JSON.parse(event?.data ?? "{}")).toEqual({
      id: res.body.id,
      url,
      event_types: ["course.published", "learner.created"],
    });
    expect(event?.data).not.toContain("whsec_");

    // At rest the secret is sealed (AES-GCM, bound to the academy): the database alone does not give it away.
    const stored = await env.DB.prepare("SELECT secret FROM webhook_endpoints WHERE id = ?")
      .bind(res.body.id)
      .first<{ secret: string }>();
    expect(stored?.secret).toMatch(/^sealed:v1:/);
    expect(stored?.secret).not.toContain(res.body.secret.slice(6));
  });

  it("caps an academy at 50 endpoints (409) and writes nothing more", async () => {
    const full = await createTenant();
    const now = new Date().toISOString();
    await env.DB.batch(
      Array.from({ length: 50 }, (_, i) =>
        env.DB.prepare(
          "INSERT INTO webhook_endpoints (tenant_id, url, event_types, active, secret, created_at, updated_at) VALUES (?, ?, '[\"*\"]', 0, 'whsec_x', ?, ?)",
        ).bind(full.id, `https://hooks.example.com/${i}`, now, now),
      ),
    );
    const res = await api("POST", "/v1/admin/webhooks", {
      token: full.key,
      body: { url: "https://hooks.example.com/one-more", event_types: ["*"] },
    });
    expect(expectProblem(res, 409).detail).toContain("at most 50");
    expect(await count(full)).toBe(50);
  });

  it("subscribes to everything with `*`, which stands alone", async () => {
    const created = await createWebhook(t, { event_types: ["course.created", "*"] });
    expect(created.event_types).toEqual(["*"]);
  });

  it("refuses unknown and directed event types naming event_types.N, and writes nothing", async () => {
    const before = await count(t);
    const res = await api("POST", "/v1/admin/webhooks", {
      token: t.key,
      body: {
        url: "https://hooks.example.com/x",
        event_types: ["course.created", "course.exploded", "webhook.test", "Not A Type"],
      },
    });
    const problem = expectProblem(res, 422);
    const paths = (problem.errors ?? []).map((e) => e.path).sort();
    expect(paths).toEqual(["event_types.1", "event_types.2", "event_types.3"]);
    expect(await count(t)).toBe(before);

    const empty = await api("POST", "/v1/admin/webhooks", {
      token: t.key,
      body: { url: "https://hooks.example.com/x", event_types: [] },
    });
    expect(expectProblem(empty, 422).errors?.[0]?.path).toBe("event_types");
    const missing = await api("POST", "/v1/admin/webhooks", { token: t.key, body: { url: "https://a.example.com" } });
    expect(expectProblem(missing, 422).errors?.map((e) => e.path)).toEqual(["event_types"]);
    const unknownField = await api("POST", "/v1/admin/webhooks", {
      token: t.key,
      body: { url: "https://a.example.com/x", event_types: ["*"], secret: "whsec_mine" },
    });
    expect(expectProblem(unknownField, 422).errors?.map((e) => e.path)).toEqual(["secret"]);
    expect(await count(t)).toBe(before);
  });

  it("refuses private, loopback, link-local, metadata and non-https targets (SSRF guard)", async () => {
    const before = await count(t);
    const refused = [
      "http://hooks.example.com/plain-http",
      "ftp://hooks.example.com/file",
      "https://10.0.0.8/hook",
      "https://192.168.1.1/hook",
      "https://172.16.0.1/hook",
      "https://169.254.169.254/latest/meta-data/",
      "https://0x0a000001/hook",
      "https://167772161/hook",
      "https://[fd00::1]/hook",
      "https://[fe80::1]/hook",
      "https://[::ffff:10.0.0.1]/hook",
      "https://api.localhost/hook",
      "https://metadata.google.internal/computeMetadata/v1/",
      "https://printer.local/hook",
      "https://intranet/hook",
      "https://router.home.arpa/hook",
      "https://user:secret@hooks.example.com/hook",
      "https://hooks.example.com:22/hook",
      "https://hooks.example.com/hook#fragment",
      "not a url",
    ];
    for (const url of refused) {
      const res = await api("POST", "/v1/admin/webhooks", { token: t.key, body: { url, event_types: ["*"] } });
      const problem = expectProblem(res, 422);
      expect(
        problem.errors?.map((e) => e.path),
        url,
      ).toEqual(["url"]);
    }
    const patched = await createWebhook(t);
    const bad = await api("PATCH", `/v1/admin/webhooks/${patched.id}`, {
      token: t.key,
      body: { url: "https://169.254.169.254/" },
    });
    expect(expectProblem(bad, 422).errors?.[0]?.path).toBe("url");
    expect((await api("GET", `/v1/admin/webhooks/${patched.id}`, { token: t.key })).body.url).toBe(patched.url);
    expect(await count(t)).toBe(before + 1);
  });

  it("allows loopback http receivers only in development and test", async () => {
    const local = await createWebhook(t, { url: `${RECEIVER_ORIGIN}/local` });
    expect(local.url).toBe(`${RECEIVER_ORIGIN}/local`);
    expect(webhookUrlProblem("http://127.0.0.1:9999/hook", "development")).toBeUndefined();
    expect(webhookUrlProblem("http://127.0.0.1:9999/hook", "production")).toMatch(/https/);
    // Loopback in any notation is refused everywhere else.
    for (const url of [
      "https://127.0.0.1/hook",
      "https://0x7f000001/hook",
      "https://2130706433/hook",
      "https://[::1]/hook",
      "https://localhost/hook",
      "http://localhost:8787/hook",
    ]) {
      expect(webhookUrlProblem(url, "production"), url).toBeTruthy();
    }
    expect(webhookUrlProblem("https://hooks.example.com:8443/hook", "production")).toBeUndefined();
  });

  it("lists endpoints with filters and search, and never another academy's", async () => {
    const t2 = await createTenant();
    const tag = unique("list");
    const a = await createWebhook(t2, { url: `https://a.example.com/${tag}`, event_types: ["learner.created"] });
    const b = await createWebhook(t2, { url: `https://b.example.com/${tag}`, event_types: ["*"], active: false });
    const c = await createWebhook(t2, { url: "https://c.example.com/other", event_types: ["course.deleted"] });
    await createWebhook(other, { url: `https://a.example.com/${tag}`, event_types: ["*"] });
    const ids = async (query: string) => {
      const res = await api("GET", `/v1/admin/webhooks?${query}`, { token: t2.key });
      expectStatus(res, 200);
      return (res.body.data as { id: number }[]).map((w) => w.id);
    };
    expect(await ids("sort=created_at")).toEqual([a.id, b.id, c.id]);
    expect(await ids("active=true&sort=created_at")).toEqual([a.id, c.id]);
    expect(await ids("active=false")).toEqual([b.id]);
    expect(await ids("event_type=learner.created&sort=created_at")).toEqual([a.id, b.id]);
    expect(await ids(`q=${tag}&sort=url`)).toEqual([a.id, b.id]);
    const page = await api("GET", "/v1/admin/webhooks?per_page=2&page=2&sort=created_at", { token: t2.key });
    expect(page.body.meta).toEqual({ page: 2, per_page: 2, total: 3, last_page: 2 });
    expect(page.body.data.map((w: { id: number }) => w.id)).toEqual([c.id]);
    const bad = await api("GET", "/v1/admin/webhooks?active=maybe", { token: t2.key });
    expect(expectProblem(bad, 422).errors?.[0]?.path).toBe("query.active");
  });

  it("updates an endpoint; re-enabling clears its failure streak", async () => {
    const created = await createWebhook(t);
    await env.DB.prepare(
      "UPDATE webhook_endpoints SET active = 0, failing_since = ?, disabled_at = ?, disabled_reason = 'failing' WHERE id = ?",
    )
      .bind("2026-01-01T00:00:00.000Z", "2026-01-06T00:00:00.000Z", created.id)
      .run();
    const res = await api("PATCH", `/v1/admin/webhooks/${created.id}`, {
      token: t.key,
      body: { active: true, event_types: ["course.created"], description: "renamed", rate_limit_per_second: null },
    });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({
      active: true,
      event_types: ["course.created"],
      description: "renamed",
      failing_since: null,
      disabled_at: null,
      disabled_reason: null,
    });
    const unknown = await api("PATCH", `/v1/admin/webhooks/${created.id}`, {
      token: t.key,
      body: { event_types: ["course.unknown"] },
    });
    expect(expectProblem(unknown, 422).errors?.[0]?.path).toBe("event_types.0");
    const after = await api("GET", `/v1/admin/webhooks/${created.id}`, { token: t.key });
    expect(after.body.event_types).toEqual(["course.created"]);
  });

  it("deletes by id and by URL (every endpoint of the academy with that URL, nobody else's)", async () => {
    const one = await createWebhook(t);
    expectStatus(await api("DELETE", `/v1/admin/webhooks/${one.id}`, { token: t.key }), 204);
    expectProblem(await api("GET", `/v1/admin/webhooks/${one.id}`, { token: t.key }), 404);
    expectProblem(await api("DELETE", `/v1/admin/webhooks/${one.id}`, { token: t.key }), 404);

    const url = `https://hooks.example.com/${unique("dup")}`;
    const first = await createWebhook(t, { url });
    const second = await createWebhook(t, { url, event_types: ["*"] });
    const foreign = await createWebhook(other, { url });
    const res = await api("DELETE", `/v1/admin/webhooks/by-url?url=${encodeURIComponent(url)}`, { token: t.key });
    expectStatus(res, 204);
    expectProblem(await api("GET", `/v1/admin/webhooks/${first.id}`, { token: t.key }), 404);
    expectProblem(await api("GET", `/v1/admin/webhooks/${second.id}`, { token: t.key }), 404);
    expectStatus(await api("GET", `/v1/admin/webhooks/${foreign.id}`, { token: other.key }), 200);
    expectProblem(
      await api("DELETE", `/v1/admin/webhooks/by-url?url=${encodeURIComponent(url)}`, { token: t.key }),
      404,
    );
    expect(
      expectProblem(await api("DELETE", "/v1/admin/webhooks/by-url", { token: t.key }), 422).errors?.[0]?.path,
    ).toBe("query.url");
  });

  it("rotates the secret: a new one shown once, the old one kept for 24 hours", async () => {
    const created = await createWebhook(t);
    const res = await api("POST", `/v1/admin/webhooks/${created.id}/rotate-secret`, { token: t.key });
    expectStatus(res, 200);
    expect(res.body.secret).toMatch(/^whsec_/);
    expect(res.body.secret).not.toBe(created.secret);
    const hours = (Date.parse(res.body.previous_secret_expires_at) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(23.9);
    expect(hours).toBeLessThanOrEqual(24);
    const read = await api("GET", `/v1/admin/webhooks/${created.id}`, { token: t.key });
    expect(read.body.previous_secret_expires_at).toBe(res.body.previous_secret_expires_at);
    expect(read.text).not.toContain("whsec_");
  });

  it("refuses a test event to an inactive endpoint (409) and 404s unknown ids", async () => {
    const inactive = await createWebhook(t, { active: false });
    expectProblem(await api("POST", `/v1/admin/webhooks/${inactive.id}/test`, { token: t.key }), 409);
    for (const path of ["", "/test", "/rotate-secret", "/deliveries"]) {
      const method = path === "" || path === "/deliveries" ? "GET" : "POST";
      expectProblem(await api(method, `/v1/admin/webhooks/999999999${path}`, { token: t.key }), 404);
    }
    expectProblem(await api("GET", "/v1/admin/webhooks/deliveries/999999999/attempts", { token: t.key }), 404);
    expectProblem(await api("POST", "/v1/admin/webhooks/deliveries/999999999/redeliver", { token: t.key }), 404);
    expectProblem(await api("GET", "/v1/admin/webhooks/abc", { token: t.key }), 422);
  });

  it("keeps each academy's endpoints to itself (404 for another academy's ids, nothing changed)", async () => {
    const mine = await createWebhook(t);
    const calls: [string, string, unknown?][] = [
      ["GET", `/v1/admin/webhooks/${mine.id}`],
      ["PATCH", `/v1/admin/webhooks/${mine.id}`, { description: "hijacked" }],
      ["DELETE", `/v1/admin/webhooks/${mine.id}`],
      ["POST", `/v1/admin/webhooks/${mine.id}/rotate-secret`],
      ["POST", `/v1/admin/webhooks/${mine.id}/test`],
      ["GET", `/v1/admin/webhooks/${mine.id}/deliveries`],
      ["POST", `/v1/admin/webhooks/${mine.id}/redeliver-failed`, {}],
    ];
    for (const [method, path, body] of calls) {
      expectProblem(await api(method, path, { token: other.key, body }), 404);
    }
    expectProblem(
      await api("DELETE", `/v1/admin/webhooks/by-url?url=${encodeURIComponent(mine.url)}`, { token: other.key }),
      404,
    );
    const after = await api("GET", `/v1/admin/webhooks/${mine.id}`, { token: t.key });
    expect(after.body).toMatchObject({ description: null, previous_secret_expires_at: null });
    const list = await api("GET", "/v1/admin/webhooks?per_page=100", { token: other.key });
    expect(list.body.data.map((w: { id: number }) => w.id)).not.toContain(mine.id);
  });
});

describe("webhook permissions", () => {
  let t: TestTenant;
  let hook: { id: number; url: string };
  let withoutRead: string;
  let withoutWrite: string;

  beforeAll(async () => {
    t = await createTenant();
    hook = await createWebhook(t);
    [withoutRead, withoutWrite] = await Promise.all([keyWithout(t, "webhooks:read"), keyWithout(t, "webhooks:write")]);
  });

  const reads: [string, string][] = [
    ["GET", "/v1/admin/event-types"],
    ["GET", "/v1/admin/webhooks"],
    ["GET", "/v1/admin/webhooks/{id}"],
    ["GET", "/v1/admin/webhooks/{id}/deliveries"],
    ["GET", "/v1/admin/webhooks/deliveries/1/attempts"],
  ];
  const writes: [string, string, unknown?][] = [
    ["POST", "/v1/admin/webhooks", { url: "https://hooks.example.com/x", event_types: ["*"] }],
    ["PATCH", "/v1/admin/webhooks/{id}", { description: "x" }],
    ["DELETE", "/v1/admin/webhooks/{id}"],
    ["DELETE", "/v1/admin/webhooks/by-url?url=https%3A%2F%2Fhooks.example.com%2Fx"],
    ["POST", "/v1/admin/webhooks/{id}/rotate-secret"],
    ["POST", "/v1/admin/webhooks/{id}/test"],
    ["POST", "/v1/admin/webhooks/{id}/redeliver-failed", {}],
    ["POST", "/v1/admin/webhooks/deliveries/1/redeliver"],
  ];

  it("answers 401 without a credential", async () => {
    for (const [method, path, body] of [...reads, ...writes]) {
      expectProblem(await api(method, path.replace("{id}", String(hook.id)), { body }), 401);
    }
  });

  it("answers 403 to keys lacking webhooks:read or webhooks:write, and changes nothing", async () => {
    for (const [method, path] of reads) {
      const res = await api(method, path.replace("{id}", String(hook.id)), { token: withoutRead });
      expect(expectProblem(res, 403).required_permission).toBe("webhooks:read");
    }
    for (const [method, path, body] of writes) {
      const res = await api(method, path.replace("{id}", String(hook.id)), { token: withoutWrite, body });
      expect(expectProblem(res, 403).required_permission).toBe("webhooks:write");
    }
    const after = await api("GET", `/v1/admin/webhooks/${hook.id}`, { token: t.key });
    expect(after.body).toMatchObject({ id: hook.id, description: null, previous_secret_expires_at: null });
    expect(await count(t)).toBe(1);
  });
});

describe("the event catalog", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("lists every event type with its group and description", async () => {
    const res = await api("GET", "/v1/admin/event-types", { token: t.key });
    expectStatus(res, 200);
    const types = (res.body.data as { type: string }[]).map((e) => e.type);
    expect(types).toEqual(EVENT_TYPES);
    for (const expected of [
      "course.created",
      "course.published",
      "course.curriculum_changed",
      "module.cloned",
      "category.deleted",
      "learning_path.published",
      "rating.updated",
      "enrollment.created",
      "learner.created",
      "api_key.created",
      "webhook.endpoint_disabled",
      "webhook.test",
    ]) {
      expect(types).toContain(expected);
    }
    expect(res.body.data.find((e: { type: string }) => e.type === "course.published")).toMatchObject({
      group: "Catalog",
      description: expect.stringContaining("published"),
    });
    const search = await api("GET", "/v1/admin/event-types?q=rating", { token: t.key });
    expect(search.body.data.map((e: { type: string }) => e.type)).toEqual([
      "rating.created",
      "rating.updated",
      "rating.deleted",
    ]);
  });

  it("covers every event type the API wrote to the outbox in this file", async () => {
    const course = await api("POST", "/v1/admin/courses", { token: t.key, body: { name: unique("Course") } });
    expectStatus(course, 201);
    const category = await api("POST", "/v1/admin/categories", { token: t.key, body: { name: unique("Cat") } });
    expectStatus(category, 201);
    const emitted = await env.DB.prepare("SELECT DISTINCT type FROM outbox").all<{ type: string }>();
    const known = new Set<string>(EVENT_TYPES);
    const missing = emitted.results.map((r) => r.type).filter((type) => !known.has(type));
    expect(missing).toEqual([]);
    expect(emitted.results.length).toBeGreaterThan(5);
  });

  it("documents every event type as an OpenAPI 3.1 webhook with its versioned envelope", async () => {
    const doc = (await api("GET", "/openapi.json")).body;
    expect(Object.keys(doc.webhooks).sort()).toEqual([...EVENT_TYPES].sort());
    const operation = doc.webhooks["course.published"].post;
    expect(operation.tags).toEqual(["Events"]);
    expect(operation.parameters.map((p: { name: string }) => p.name)).toEqual([
      "webhook-id",
      "webhook-timestamp",
      "webhook-signature",
    ]);
    const ref = operation.requestBody.content["application/json"].schema.$ref as string;
    const envelope = doc.components.schemas[ref.split("/").pop() as string];
    expect(envelope.required).toEqual(["id", "type", "version", "tenant_id", "occurred_at", "data"]);
    expect(envelope.properties.type.enum).toEqual(["course.published"]);
    expect(envelope.properties.data.required).toEqual(["id", "slug"]);
    expect(doc.components.securitySchemes.webhookSignature).toMatchObject({ in: "header", name: "webhook-signature" });
  });
});

describe("delivery through the real queues", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("delivers a write's event, signed so the standardwebhooks library verifies it, and logs the attempt", async () => {
    const hook = receiver();
    const endpoint = await createWebhook(t, { url: hook.url, event_types: ["learner.created"] });
    const email = `${unique("integrator")}@example.com`;
    const learner = await api("POST", "/v1/admin/learners", {
      token: t.key,
      body: { name: "Ada", email, password: "correct-horse-battery" },
    });
    expectStatus(learner, 201);

    const [request] = await until(() => hook.requests().length > 0 && hook.requests());
    const envelope = verify(endpoint.secret, request);
    expect(envelope).toMatchObject({
      type: "learner.created",
      version: 1,
      tenant_id: t.id,
      data: { email, name: "Ada" },
    });
    expect(request.id).toBe(`evt_${envelope.id}`);
    expect(Math.abs(Number(request.timestamp) - Date.now() / 1000)).toBeLessThan(60);
    expect(() => verify(`whsec_${btoa("a different secret of 32 bytes!!")}`, request)).toThrow();

    const log = await until(async () => {
      const res = await api("GET", `/v1/admin/webhooks/${endpoint.id}/deliveries`, { token: t.key });
      return res.body.data[0]?.status === "succeeded" && res.body;
    });
    expect(log.data).toHaveLength(1);
    expect(log.data[0]).toMatchObject({
      event_id: envelope.id,
      event_type: "learner.created",
      webhook_id: request.id,
      attempts: 1,
      last_response_status: 200,
    });
    const detail = await api("GET", `/v1/admin/webhooks/deliveries/${log.data[0].id}/attempts`, { token: t.key });
    expectStatus(detail, 200);
    expect(detail.body.attempts_log).toEqual([
      expect.objectContaining({ attempt: 1, status: "succeeded", response_status: 200, response_body: "answer 200" }),
    ]);
    // Only the subscribed type went out: the endpoint's own webhook.created did not.
    expect(hook.requests().map((r) => JSON.parse(r.body).type)).toEqual(["learner.created"]);
  });

  it("sends a test event to one endpoint, and redelivers it with the same webhook-id", async () => {
    const hook = receiver();
    const endpoint = await createWebhook(t, { url: hook.url, event_types: ["course.deleted"] });
    const bystander = receiver();
    await createWebhook(t, { url: bystander.url, event_types: ["*"] });
    const res = await api("POST", `/v1/admin/webhooks/${endpoint.id}/test`, { token: t.key });
    expectStatus(res, 202);
    expect(res.body.delivery).toMatchObject({
      endpoint_id: endpoint.id,
      event_type: "webhook.test",
      status: "pending",
    });
    const [first] = await until(() => hook.requests().length > 0 && hook.requests());
    expect(verify(endpoint.secret, first)).toMatchObject({
      id: res.body.event_id,
      type: "webhook.test",
      data: { endpoint_id: endpoint.id },
    });

    await until(async () => {
      const d = await api("GET", `/v1/admin/webhooks/deliveries/${res.body.delivery.id}/attempts`, { token: t.key });
      return d.body.status === "succeeded";
    });
    const again = await api("POST", `/v1/admin/webhooks/deliveries/${res.body.delivery.id}/redeliver`, {
      token: t.key,
    });
    expectStatus(again, 202);
    expect(again.body.status).toBe("pending");
    const requests = await until(() => hook.requests().length >= 2 && hook.requests());
    expect(requests.map((r) => r.id)).toEqual([first.id, first.id]);
    expect(bystander.requests().filter((r) => JSON.parse(r.body).type === "webhook.test")).toEqual([]);
  });

  it("signs with the old and the new secret for 24 hours after a rotation", async () => {
    const hook = receiver();
    const endpoint = await createWebhook(t, { url: hook.url, event_types: ["course.deleted"] });
    const rotated = await api("POST", `/v1/admin/webhooks/${endpoint.id}/rotate-secret`, { token: t.key });
    expectStatus(rotated, 200);
    expectStatus(await api("POST", `/v1/admin/webhooks/${endpoint.id}/test`, { token: t.key }), 202);
    const [request] = await until(() => hook.requests().length > 0 && hook.requests());
    expect(request.signature.split(" ")).toHaveLength(2);
    expect(verify(rotated.body.secret, request).type).toBe("webhook.test");
    expect(verify(endpoint.secret, request).type).toBe("webhook.test");

    // Once the overlap is over, only the new secret signs.
    await env.DB.prepare("UPDATE webhook_endpoints SET previous_secret_expires_at = ? WHERE id = ?")
      .bind("2000-01-01T00:00:00.000Z", endpoint.id)
      .run();
    expectStatus(await api("POST", `/v1/admin/webhooks/${endpoint.id}/test`, { token: t.key }), 202);
    const [, second] = await until(() => hook.requests().length > 1 && hook.requests());
    expect(second.signature.split(" ")).toHaveLength(1);
    expect(verify(rotated.body.secret, second).type).toBe("webhook.test");
    expect(() => verify(endpoint.secret, second)).toThrow();
  });
});
