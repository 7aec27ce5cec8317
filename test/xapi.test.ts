/** The xAPI LRS at /xapi/ (xAPI 1.0.3): credentials, headers, statements, voiding, queries, attachments, documents. */
import { env } from "cloudflare:test";
import fc from "fast-check";
import { CompactSign, exportPKCS8, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, keyWithout, scopedKey, type TestTenant, unique } from "./helpers/factories";
import { type LrsCredential, lrsCredential, q, statement, xapi } from "./helpers/xapi";

let tenant: TestTenant;
let other: TestTenant;
let cred: LrsCredential;
let otherCred: LrsCredential;

beforeAll(async () => {
  [tenant, other] = await Promise.all([createTenant(), createTenant()]);
  [cred, otherCred] = await Promise.all([lrsCredential(tenant), lrsCredential(other)]);
});

const post = (body: unknown, auth = cred.basic) => xapi("POST", "/xapi/statements", { auth, json: body });
const get = (params: Record<string, unknown>, auth = cred.basic, headers: Record<string, string> = {}) =>
  xapi("GET", `/xapi/statements?${q(params)}`, { auth, headers });

function expect400(res: { status: number; text: string; headers: Headers }) {
  expect(res.status, res.text).toBe(400);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  expect(res.headers.get("x-experience-api-version")).toBe("1.0.3");
}

describe("LRS credentials (admin API)", () => {
  it("creates a credential whose secret is shown once and stored hashed; lists, gets and revokes it", async () => {
    const created = await api("POST", "/v1/admin/lrs-credentials", {
      token: tenant.key,
      body: { name: "Storyline", scopes: ["read"] },
    });
    expectStatus(created, 201);
    expect(created.body).toMatchObject({ name: "Storyline", scopes: ["read"], status: "active", endpoint: "/xapi/" });
    expect(created.body.secret).toMatch(/^lrss_/);
    expect(created.headers.get("location")).toBe(`/v1/admin/lrs-credentials/${created.body.id}`);
    const row = await env.DB.prepare("SELECT secret_hash FROM lrs_credentials WHERE id = ?")
      .bind(created.body.id)
      .first<{ secret_hash: string }>();
    expect(row?.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.secret_hash).not.toContain(created.body.secret);

    const one = await api("GET", `/v1/admin/lrs-credentials/${created.body.id}`, { token: tenant.key });
    expectStatus(one, 200);
    expect(one.body.secret).toBeUndefined();
    const list = await api("GET", "/v1/admin/lrs-credentials?status=active&q=Storyline", { token: tenant.key });
    expect(list.body.data.map((c: { id: number }) => c.id)).toContain(created.body.id);

    const basic = `Basic ${btoa(`${created.body.key}:${created.body.secret}`)}`;
    expectStatus(await xapi("GET", `/xapi/statements?${q({ limit: 1 })}`, { auth: basic }), 200);
    // read scope only: writes are refused
    expectProblem((await xapi("POST", "/xapi/statements", { auth: basic, json: statement() })) as never, 403);

    expectStatus(await api("DELETE", `/v1/admin/lrs-credentials/${created.body.id}`, { token: tenant.key }), 204);
    expectStatus(await api("DELETE", `/v1/admin/lrs-credentials/${created.body.id}`, { token: tenant.key }), 204);
    expectProblem((await xapi("GET", "/xapi/statements", { auth: basic })) as never, 401);
    const after = await api("GET", `/v1/admin/lrs-credentials/${created.body.id}`, { token: tenant.key });
    expect(after.body.status).toBe("revoked");
  });

  it("validates the body, needs a credential and the permission, and hides other academies' credentials", async () => {
    expectProblem(
      await api("POST", "/v1/admin/lrs-credentials", { token: tenant.key, body: { name: "x", scopes: ["all"] } }),
      422,
    );
    expectProblem(
      await api("POST", "/v1/admin/lrs-credentials", { token: tenant.key, body: { name: "x", extra: 1 } }),
      422,
    );
    expectProblem(await api("POST", "/v1/admin/lrs-credentials", { body: { name: "x" } }), 401);
    expectProblem(await api("GET", "/v1/admin/lrs-credentials"), 401);
    const noWrite = await keyWithout(tenant, "api_keys:write");
    expectProblem(await api("POST", "/v1/admin/lrs-credentials", { token: noWrite, body: { name: "x" } }), 403);
    const noRead = await keyWithout(tenant, "api_keys:read");
    expectProblem(await api("GET", "/v1/admin/lrs-credentials", { token: noRead }), 403);
    expectProblem(await api("GET", `/v1/admin/lrs-credentials/${otherCred.id}`, { token: tenant.key }), 404);
    expectProblem(await api("DELETE", `/v1/admin/lrs-credentials/${otherCred.id}`, { token: tenant.key }), 404);
  });
});

describe("headers and authentication", () => {
  it("answers /xapi/about without credentials or version header", async () => {
    const res = await xapi("GET", "/xapi/about", { version: null });
    expect(res.status).toBe(200);
    expect(res.body.version).toContain("1.0.3");
    expect(res.headers.get("x-experience-api-version")).toBe("1.0.3");
  });

  it("requires a supported X-Experience-API-Version on every other request, and answers it on errors too", async () => {
    expect400(await xapi("GET", "/xapi/statements", { auth: cred.basic, version: null }));
    expect400(await xapi("GET", "/xapi/statements", { auth: cred.basic, version: "0.95" }));
    expect400(await xapi("GET", "/xapi/statements", { auth: cred.basic, version: "1.1.0" }));
    for (const version of ["1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0"]) {
      expect((await xapi("GET", "/xapi/statements?limit=1", { auth: cred.basic, version })).status).toBe(200);
    }
    const v2 = await xapi("GET", "/xapi/statements?limit=1", { auth: cred.basic, version: "2.0.0" });
    expect(v2.status).toBe(200);
    expect(v2.headers.get("x-experience-api-version")).toBe("2.0.0");
  });

  it("refuses missing or wrong credentials with 401 and a Basic challenge", async () => {
    const none = await xapi("GET", "/xapi/statements");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("Basic");
    expect(none.headers.get("x-experience-api-version")).toBe("1.0.3");
    expect((await xapi("GET", "/xapi/statements", { auth: `Basic ${btoa(`${cred.key}:wrong`)}` })).status).toBe(401);
    expect((await xapi("GET", "/xapi/statements", { auth: `Basic ${btoa("nobody:x")}` })).status).toBe(401);
  });

  it("accepts OAuth client-credentials bearer tokens with the LRS permissions", async () => {
    const client = await api("POST", "/v1/admin/api-clients", {
      token: tenant.key,
      body: { name: unique("lrs-client"), scopes: ["reports:read", "enrollments:write"] },
    });
    expectStatus(client, 201);
    const token = await api("POST", "/v1/oauth/token", {
      body: {
        grant_type: "client_credentials",
        client_id: client.body.client_id,
        client_secret: client.body.client_secret,
      },
    });
    expectStatus(token, 200);
    const bearer = `Bearer ${token.body.access_token}`;
    const s = statement();
    const stored = await post(s, bearer);
    expect(stored.status, stored.text).toBe(200);
    const back = await get({ statementId: stored.body[0] }, bearer);
    expect(back.status).toBe(200);
    expect(back.body.authority.account.name).toBe(`client:${client.body.id}`);
    // the tenant comes from the credential: the Basic credential of the same academy sees it, another does not
    expect((await get({ statementId: stored.body[0] })).status).toBe(200);
    expect((await get({ statementId: stored.body[0] }, otherCred.basic)).status).toBe(404);

    const readOnly = await scopedKey(tenant, ["reports:read"]);
    expect((await post(statement(), `Bearer ${readOnly.key}`)).status).toBe(403);
    expect((await get({ limit: 1 }, `Bearer ${readOnly.key}`)).status).toBe(200);
  });
});

describe("statements: storing", () => {
  it("POSTs one statement, sets id, stored, timestamp, authority and version, and GETs it by id", async () => {
    const s = statement();
    const res = await post(s);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toHaveLength(1);
    const got = await get({ statementId: res.body[0] });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      id: res.body[0],
      actor: s.actor,
      verb: s.verb,
      object: s.object,
      version: "1.0.0",
    });
    expect(got.body.stored).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(got.body.timestamp).toBe(got.body.stored);
    expect(got.body.authority).toMatchObject({ objectType: "Agent", account: { name: cred.key } });
    expect(got.headers.get("x-experience-api-consistent-through")).toBeTruthy();
    expect(got.headers.get("last-modified")).toBeTruthy();
  });

  it("overwrites a client-sent authority and keeps a client timestamp", async () => {
    const s = statement({
      authority: { objectType: "Agent", mbox: "mailto:forged@example.com" },
      timestamp: "2024-01-02T03:04:05.678+02:00",
    });
    const [id] = (await post(s)).body;
    const got = await get({ statementId: id });
    expect(got.body.authority.account.name).toBe(cred.key);
    expect(got.body.timestamp).toBe("2024-01-02T03:04:05.678+02:00");
  });

  it("PUTs with statementId (204), accepts the same statement again, and 409s a different one", async () => {
    const id = crypto.randomUUID();
    const s = statement();
    expect((await xapi("PUT", `/xapi/statements?statementId=${id}`, { auth: cred.basic, json: s })).status).toBe(204);
    expect((await xapi("PUT", `/xapi/statements?statementId=${id}`, { auth: cred.basic, json: s })).status).toBe(204);
    expect((await post({ ...s, id })).status).toBe(200);
    const changed = await xapi("PUT", `/xapi/statements?statementId=${id}`, {
      auth: cred.basic,
      json: { ...s, verb: { id: "http://adlnet.gov/expapi/verbs/failed" } },
    });
    expect(changed.status).toBe(409);
    expect(
      (await post([statement(), { ...s, id, verb: { id: "http://adlnet.gov/expapi/verbs/failed" } }])).status,
    ).toBe(409);
    expect((await get({ statementId: id })).body.verb.id).toBe("http://adlnet.gov/expapi/verbs/completed");
  });

  it("refuses PUT without statementId, with a mismatched id, or with an array", async () => {
    expect400(await xapi("PUT", "/xapi/statements", { auth: cred.basic, json: statement() }));
    expect400(
      await xapi("PUT", `/xapi/statements?statementId=${crypto.randomUUID()}`, {
        auth: cred.basic,
        json: { ...statement(), id: crypto.randomUUID() },
      }),
    );
    expect400(await xapi("PUT", "/xapi/statements?statementId=not-a-uuid", { auth: cred.basic, json: statement() }));
    expect400(
      await xapi("PUT", `/xapi/statements?statementId=${crypto.randomUUID()}`, {
        auth: cred.basic,
        json: [statement()],
      }),
    );
  });

  it("stores a batch with strictly increasing `stored`, and refuses a batch with a bad or duplicate statement whole", async () => {
    const registration = crypto.randomUUID();
    const batch = Array.from({ length: 60 }, () => statement({ context: { registration } }));
    const res = await post(batch);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toHaveLength(60);
    const all = await get({ registration, limit: 0, ascending: true });
    expect(all.body.statements).toHaveLength(60);
    const stored = all.body.statements.map((s: { stored: string }) => s.stored);
    for (let i = 1; i < stored.length; i++) expect(stored[i] > stored[i - 1]).toBe(true);

    const reg2 = crypto.randomUUID();
    const dup = crypto.randomUUID();
    expect400(await post([statement({ id: dup, context: { registration: reg2 } }), statement({ id: dup })]));
    expect400(await post([statement({ context: { registration: reg2 } }), { ...statement(), actor: undefined }]));
    expect((await get({ registration: reg2 })).body.statements).toHaveLength(0);
  });

  it("refuses bodies that are not JSON, and unknown parameters", async () => {
    expect400(
      await xapi("POST", "/xapi/statements", { auth: cred.basic, raw: "{nope", contentType: "application/json" }),
    );
    expect400(await xapi("POST", "/xapi/statements?foo=1", { auth: cred.basic, json: statement() }));
    expect400(await get({ foo: "bar" }));
    expect400(await get({ Verb: "http://example.com/v" }));
  });
});

describe("statements: validation (ADL conformance cases)", () => {
  const actor = { mbox: "mailto:a@example.com" };
  const verb = { id: "http://adlnet.gov/expapi/verbs/completed" };
  const object = { id: "http://example.com/a" };
  const cases: [string, unknown][] = [
    ["missing actor", { verb, object }],
    ["missing verb", { actor, object }],
    ["missing object", { actor, verb }],
    ["statement is an array of a non-object", "a string"],
    ["unknown top-level property", { actor, verb, object, extra: 1 }],
    ["property with wrong case", { Actor: actor, verb, object }],
    ["invalid id", { id: "abc", actor, verb, object }],
    ["invalid mbox (no mailto)", { actor: { mbox: "a@example.com" }, verb, object }],
    ["invalid mbox (not an email)", { actor: { mbox: "mailto:nobody" }, verb, object }],
    [
      "agent with two IFIs",
      { actor: { mbox: "mailto:a@example.com", openid: "http://openid.example.com/a" }, verb, object },
    ],
    ["agent with no IFI", { actor: { name: "Nameless" }, verb, object }],
    ["invalid mbox_sha1sum", { actor: { mbox_sha1sum: "xyz" }, verb, object }],
    ["account without homePage", { actor: { account: { name: "a" } }, verb, object }],
    ["account homePage not an IRL", { actor: { account: { homePage: "not a url", name: "a" } }, verb, object }],
    ["agent objectType wrong", { actor: { objectType: "Person", mbox: "mailto:a@example.com" }, verb, object }],
    ["anonymous group without members", { actor: { objectType: "Group", name: "g" }, verb, object }],
    [
      "group member is a group",
      {
        actor: { objectType: "Group", member: [{ objectType: "Group", member: [actor] }] },
        verb,
        object,
      },
    ],
    ["agent name not a string", { actor: { mbox: "mailto:a@example.com", name: 5 }, verb, object }],
    ["verb id not an IRI", { actor, verb: { id: "completed" }, object }],
    ["verb id with spaces", { actor, verb: { id: "http://adl net.gov/verbs/x" }, object }],
    ["verb without id", { actor, verb: { display: { "en-US": "did" } }, object }],
    ["verb display not a language map", { actor, verb: { ...verb, display: "completed" }, object }],
    ["verb display with a bad language tag", { actor, verb: { ...verb, display: { "not a tag": "x" } }, object }],
    ["verb null", { actor, verb: null, object }],
    ["activity id not an IRI", { actor, verb, object: { id: "not an iri" } }],
    ["activity with an extra property", { actor, verb, object: { ...object, name: "x" } }],
    ["unknown objectType", { actor, verb, object: { objectType: "Thing", id: "http://example.com/a" } }],
    ["bad interactionType", { actor, verb, object: { ...object, definition: { interactionType: "essay" } } }],
    [
      "correctResponsesPattern without interactionType",
      { actor, verb, object: { ...object, definition: { correctResponsesPattern: ["true"] } } },
    ],
    ["extension key not an IRI", { actor, verb, object: { ...object, definition: { extensions: { color: "red" } } } }],
    ["StatementRef with a bad id", { actor, verb, object: { objectType: "StatementRef", id: "nope" } }],
    [
      "SubStatement with an id",
      {
        actor,
        verb,
        object: { objectType: "SubStatement", id: crypto.randomUUID(), actor, verb, object },
      },
    ],
    [
      "nested SubStatement",
      {
        actor,
        verb,
        object: {
          objectType: "SubStatement",
          actor,
          verb,
          object: { objectType: "SubStatement", actor, verb, object },
        },
      },
    ],
    ["score.scaled above 1", { actor, verb, object, result: { score: { scaled: 1.5 } } }],
    ["score.raw above max", { actor, verb, object, result: { score: { raw: 11, min: 0, max: 10 } } }],
    ["score.min above max", { actor, verb, object, result: { score: { min: 10, max: 0 } } }],
    ["score as string", { actor, verb, object, result: { score: { raw: "5" } } }],
    ["success not boolean", { actor, verb, object, result: { success: "yes" } }],
    ["duration not ISO 8601", { actor, verb, object, result: { duration: "1 hour" } }],
    ["result extensions key not an IRI", { actor, verb, object, result: { extensions: { x: 1 } } }],
    ["registration not a UUID", { actor, verb, object, context: { registration: "r1" } }],
    ["revision with an Agent object", { actor, verb, object: actor, context: { revision: "1" } }],
    [
      "platform with a StatementRef object",
      {
        actor,
        verb,
        object: { objectType: "StatementRef", id: crypto.randomUUID() },
        context: { platform: "web" },
      },
    ],
    ["team is an Agent", { actor, verb, object, context: { team: actor } }],
    ["contextActivities with a bad key", { actor, verb, object, context: { contextActivities: { uncle: object } } }],
    ["context language not a tag", { actor, verb, object, context: { language: "english!" } }],
    ["timestamp not ISO 8601", { actor, verb, object, timestamp: "yesterday" }],
    ["timestamp with -00:00 offset", { actor, verb, object, timestamp: "2024-01-01T00:00:00-00:00" }],
    ["timestamp with -00 offset", { actor, verb, object, timestamp: "2008-09-15T15:53:00.601-00" }],
    ["timestamp with -0000 offset", { actor, verb, object, timestamp: "2008-09-15T15:53:00.601-0000" }],
    ["timestamp as a US date", { actor, verb, object, timestamp: "01/011/2015" }],
    ["timestamp with month 13", { actor, verb, object, timestamp: "2024-13-01T00:00:00Z" }],
    ["version 0.95", { actor, verb, object, version: "0.95" }],
    [
      "attachment without sha2",
      {
        actor,
        verb,
        object,
        attachments: [
          { usageType: "http://example.com/u", display: { en: "a" }, contentType: "text/plain", length: 1 },
        ],
      },
    ],
    [
      "voiding statement with an Activity object",
      { actor, verb: { id: "http://adlnet.gov/expapi/verbs/voided" }, object },
    ],
  ];

  it.each(cases)("rejects %s with 400 and stores nothing", async (_name, body) => {
    const before = await env.DB.prepare("SELECT count(*) AS n FROM xapi_statements WHERE tenant_id = ?")
      .bind(tenant.id)
      .first<{ n: number }>();
    const res = await post(body);
    expect400(res);
    const after = await env.DB.prepare("SELECT count(*) AS n FROM xapi_statements WHERE tenant_id = ?")
      .bind(tenant.id)
      .first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
  });

  it("accepts the valid forms the spec allows", async () => {
    const valid = [
      { actor: { openid: "http://openid.example.com/a" }, verb, object },
      { actor: { mbox_sha1sum: "a".repeat(40) }, verb, object },
      { actor: { account: { homePage: "http://example.com", name: "a" } }, verb, object },
      { actor: { objectType: "Group", member: [actor] }, verb, object },
      { actor: { objectType: "Group", mbox: "mailto:g@example.com" }, verb, object },
      { actor, verb, object: { objectType: "Agent", mbox: "mailto:b@example.com" } },
      { actor, verb, object: { objectType: "SubStatement", actor, verb, object } },
      {
        actor,
        verb,
        object: {
          id: "http://example.com/q1",
          definition: {
            interactionType: "choice",
            correctResponsesPattern: ["a"],
            choices: [{ id: "a", description: { "en-US": "A" } }, { id: "b" }],
          },
        },
        result: {
          score: { scaled: -0.5, raw: 5, min: 0, max: 10 },
          success: true,
          completion: false,
          duration: "PT1H0M0S",
        },
        context: {
          registration: crypto.randomUUID(),
          instructor: actor,
          contextActivities: { parent: object, grouping: [object] },
          revision: "2",
          platform: "web",
          language: "en-US",
          statement: { objectType: "StatementRef", id: crypto.randomUUID() },
          extensions: { "http://example.com/ext": { any: "thing" } },
        },
        timestamp: "2024-02-29T23:59:59.123456Z",
        version: "1.0.3",
      },
    ];
    const res = await post(valid);
    expect(res.status, res.text).toBe(200);
  });

  it("rejects generated statements with an unknown property anywhere in the actor (fast-check)", async () => {
    const allowed = new Set(["objectType", "name", "mbox", "mbox_sha1sum", "openid", "account", "member"]);
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !allowed.has(k) && k !== "__proto__"),
        fc.jsonValue(),
        async (key, value) => {
          const res = await post({ actor: { ...actor, [key]: value }, verb, object });
          return res.status === 400;
        },
      ),
      { numRuns: 15 },
    );
  });

  it("rejects generated non-IRI verb ids (fast-check)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string().filter((s) => !/^[a-z][a-z0-9+.-]*:\S+$/i.test(s)),
          fc.integer(),
          fc.constant(null),
        ),
        async (id) => (await post({ actor, verb: { id }, object })).status === 400,
      ),
      { numRuns: 15 },
    );
  });
});

describe("xAPI 2.0.0 requests", () => {
  it("accept 2.0's contextAgents and contextGroups (and only with a 2.0 header); related_agents finds them", async () => {
    const coach = { objectType: "Agent", mbox: `mailto:${unique("coach")}@example.com` };
    const s = statement({
      context: {
        contextAgents: [
          { objectType: "contextAgent", agent: coach, relevantTypes: ["http://example.com/types/coach"] },
        ],
        contextGroups: [{ objectType: "contextGroup", group: { objectType: "Group", member: [coach] } }],
      },
    });
    expect400(await post(s));
    const v2 = await xapi("POST", "/xapi/statements", { auth: cred.basic, json: s, version: "2.0.0" });
    expect(v2.status, v2.text).toBe(200);
    expect(v2.headers.get("x-experience-api-version")).toBe("2.0.0");
    const back = await xapi("GET", `/xapi/statements?${q({ statementId: v2.body[0] })}`, {
      auth: cred.basic,
      version: "2.0.0",
    });
    expect(back.body.version).toBe("2.0.0");
    const related = await get({ agent: coach, related_agents: true });
    expect(related.body.statements.map((x: { id: string }) => x.id)).toEqual([v2.body[0]]);
    const bad = { ...s, context: { contextAgents: [{ objectType: "contextAgent", agent: { name: "no ifi" } }] } };
    expect((await xapi("POST", "/xapi/statements", { auth: cred.basic, json: bad, version: "2.0.0" })).status).toBe(
      400,
    );
  });
});

describe("statements: voiding", () => {
  it("voids a statement: gone from id and filters, reachable by voidedStatementId; the voiding one is listed", async () => {
    const activity = `http://example.com/activities/${unique("void")}`;
    const s = statement({ object: { id: activity } });
    const [id] = (await post(s)).body;
    const voiding = {
      actor: s.actor,
      verb: { id: "http://adlnet.gov/expapi/verbs/voided", display: { "en-US": "voided" } },
      object: { objectType: "StatementRef", id },
    };
    const [voidingId] = (await post(voiding)).body;
    expect((await get({ statementId: id })).status).toBe(404);
    const voided = await get({ voidedStatementId: id });
    expect(voided.status).toBe(200);
    expect(voided.body.id).toBe(id);
    expect((await get({ voidedStatementId: voidingId })).status).toBe(404);
    // the voiding statement targets the voided one, so it matches the target's activity filter
    const listed = await get({ activity });
    expect(listed.body.statements.map((x: { id: string }) => x.id)).toEqual([voidingId]);
    // a voiding statement cannot itself be voided
    expect400(await post({ ...voiding, object: { objectType: "StatementRef", id: voidingId } }));
  });

  it("voiding an unknown statement is accepted; the statement is voided when it arrives", async () => {
    const id = crypto.randomUUID();
    const res = await post({
      actor: { mbox: "mailto:v@example.com" },
      verb: { id: "http://adlnet.gov/expapi/verbs/voided" },
      object: { objectType: "StatementRef", id },
    });
    expect(res.status).toBe(200);
    expect(
      (await xapi("PUT", `/xapi/statements?statementId=${id}`, { auth: cred.basic, json: statement() })).status,
    ).toBe(204);
    expect((await get({ statementId: id })).status).toBe(404);
    expect((await get({ voidedStatementId: id })).status).toBe(200);
  });

  it("refuses statementId with other filters, and both ids together", async () => {
    const id = crypto.randomUUID();
    expect400(await get({ statementId: id, voidedStatementId: id }));
    expect400(await get({ statementId: id, verb: "http://example.com/v" }));
    expect400(await get({ statementId: "nope" }));
  });
});

describe("statements: queries", () => {
  const registration = crypto.randomUUID();
  const ada = { objectType: "Agent", mbox: `mailto:${unique("ada")}@example.com` };
  const bob = { objectType: "Agent", mbox: `mailto:${unique("bob")}@example.com` };
  const course = `http://example.com/courses/${unique("c")}`;
  const lesson = `http://example.com/lessons/${unique("l")}`;
  const completed = "http://adlnet.gov/expapi/verbs/completed";
  const attempted = "http://adlnet.gov/expapi/verbs/attempted";
  let ids: string[] = [];

  beforeAll(async () => {
    const res = await post([
      {
        actor: ada,
        verb: { id: attempted },
        object: { id: lesson },
        context: { registration, contextActivities: { parent: [{ id: course }] } },
      },
      { actor: ada, verb: { id: completed }, object: { id: lesson }, context: { registration } },
      { actor: bob, verb: { id: completed }, object: { id: course }, context: { instructor: ada } },
      { actor: bob, verb: { id: attempted }, object: ada },
    ]);
    expect(res.status, res.text).toBe(200);
    ids = res.body;
  });

  const idsOf = (res: { body: { statements: { id: string }[] } }) => res.body.statements.map((s) => s.id);

  it("filters by agent (actor or object), verb, activity and registration, newest first", async () => {
    expect(idsOf(await get({ agent: ada }))).toEqual([ids[3], ids[1], ids[0]]);
    expect(idsOf(await get({ agent: bob }))).toEqual([ids[3], ids[2]]);
    expect(idsOf(await get({ agent: ada, verb: completed }))).toEqual([ids[1]]);
    expect(idsOf(await get({ activity: lesson }))).toEqual([ids[1], ids[0]]);
    expect(idsOf(await get({ registration }))).toEqual([ids[1], ids[0]]);
    expect(idsOf(await get({ agent: ada, ascending: true }))).toEqual([ids[0], ids[1], ids[3]]);
  });

  it("related_activities and related_agents widen the match", async () => {
    expect(idsOf(await get({ activity: course }))).toEqual([ids[2]]);
    expect(idsOf(await get({ activity: course, related_activities: true }))).toEqual([ids[2], ids[0]]);
    expect(idsOf(await get({ agent: ada, related_agents: true }))).toEqual([ids[3], ids[2], ids[1], ids[0]]);
  });

  it("since / until bound `stored`; limit pages with `more` links that continue the same query", async () => {
    const all = await get({ agent: ada, related_agents: true, ascending: true });
    const stored = all.body.statements.map((s: { stored: string }) => s.stored);
    expect(idsOf(await get({ agent: ada, related_agents: true, since: stored[1], ascending: true }))).toEqual([
      ids[2],
      ids[3],
    ]);
    expect(idsOf(await get({ agent: ada, related_agents: true, until: stored[1], ascending: true }))).toEqual([
      ids[0],
      ids[1],
    ]);

    const seen: string[] = [];
    let page = await get({ agent: ada, related_agents: true, limit: 1 });
    for (;;) {
      expect(page.status).toBe(200);
      seen.push(...idsOf(page));
      if (!page.body.more) break;
      expect(page.body.more).toMatch(/^\/xapi\/statements\?/);
      page = await xapi("GET", page.body.more, { auth: cred.basic });
    }
    expect(seen).toEqual([ids[3], ids[2], ids[1], ids[0]]);
    expect((await get({ agent: ada, limit: 10 })).body.more).toBe("");
  });

  it("format=ids strips agents to identifiers and activities to ids; canonical picks one language", async () => {
    const multi = statement({
      verb: { id: completed, display: { "en-US": "completed", "fr-FR": "terminé" } },
      object: {
        id: `http://example.com/x/${unique("x")}`,
        definition: { name: { "en-US": "Lesson", "fr-FR": "Leçon" } },
      },
    });
    const [id] = (await post({ ...multi, actor: { ...multi.actor, name: "Ada" } })).body;
    const ids_ = await get({ statementId: id, format: "ids" });
    expect(ids_.body.actor.name).toBeUndefined();
    expect(ids_.body.verb).toEqual({ id: completed });
    // ids: an Activity is its id alone (the ADL suite counts one key).
    expect(ids_.body.object).toEqual({ id: multi.object.id });
    const canonical = await get({ statementId: id, format: "canonical" }, cred.basic, {
      "accept-language": "fr-FR, en;q=0.5",
    });
    expect(canonical.body.verb.display).toEqual({ "fr-FR": "terminé" });
    expect(canonical.body.object.definition.name).toEqual({ "fr-FR": "Leçon" });
    expect400(await get({ statementId: id, format: "full" }));
  });

  it("validates filter parameters", async () => {
    expect400(await get({ agent: "not json" }));
    expect400(await get({ agent: { name: "no ifi" } }));
    expect400(await get({ verb: "not an iri" }));
    expect400(await get({ registration: "nope" }));
    expect400(await get({ since: "yesterday" }));
    expect400(await get({ limit: -1 }));
    expect400(await get({ ascending: "maybe" }));
  });

  it("answers another academy's credential with none of these statements", async () => {
    expect(idsOf(await get({ agent: ada }, otherCred.basic))).toEqual([]);
    expect((await get({ statementId: ids[0] }, otherCred.basic)).status).toBe(404);
  });

  it("answers HEAD like GET without a body", async () => {
    const res = await xapi("HEAD", `/xapi/statements?${q({ statementId: ids[0] })}`, { auth: cred.basic });
    expect(res.status).toBe(200);
    expect(res.text).toBe("");
  });
});

describe("statements: attachments and signatures", () => {
  const encoder = new TextEncoder();

  async function sha256(bytes: Uint8Array) {
    const d = await crypto.subtle.digest("SHA-256", bytes);
    return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  function multipart(json: unknown, parts: { type: string; hash: string; body: Uint8Array | string }[]) {
    const boundary = "abcABC0123'()+_,-./:=?";
    let text = `--${boundary}\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(json)}\r\n`;
    for (const p of parts) {
      text += `--${boundary}\r\nContent-Type: ${p.type}\r\nContent-Transfer-Encoding: binary\r\nX-Experience-API-Hash: ${p.hash}\r\n\r\n${typeof p.body === "string" ? p.body : new TextDecoder().decode(p.body)}\r\n`;
    }
    text += `--${boundary}--`;
    return { raw: encoder.encode(text), contentType: `multipart/mixed; boundary="${boundary}"` };
  }

  it("stores attachments sent as multipart/mixed and returns them with attachments=true", async () => {
    const content = `hello attachment ${unique("a")}`;
    const hash = await sha256(encoder.encode(content));
    const s = statement({
      attachments: [
        {
          usageType: "http://example.com/usage",
          display: { "en-US": "Note" },
          contentType: "text/plain",
          length: content.length,
          sha2: hash,
        },
      ],
    });
    const res = await xapi("POST", "/xapi/statements", {
      auth: cred.basic,
      ...multipart(s, [{ type: "text/plain", hash, body: content }]),
    });
    expect(res.status, res.text).toBe(200);
    const back = await get({ statementId: res.body[0], attachments: true });
    expect(back.status).toBe(200);
    expect(back.headers.get("content-type")).toMatch(/^multipart\/mixed; boundary=/);
    expect(back.text).toContain(content);
    expect(back.text).toContain(`X-Experience-API-Hash: ${hash}`);
    expect(back.text).toContain(`"id":"${res.body[0]}"`);
    // without attachments=true it is plain JSON
    expect((await get({ statementId: res.body[0] })).headers.get("content-type")).toContain("application/json");
  });

  it("rejects a part whose bytes do not match its hash, a missing part, and an undeclared part", async () => {
    const content = "some bytes";
    const hash = await sha256(encoder.encode(content));
    const declared = {
      usageType: "http://example.com/usage",
      display: { "en-US": "Note" },
      contentType: "text/plain",
      length: content.length,
      sha2: hash,
    };
    const wrong = await sha256(encoder.encode("other"));
    expect400(
      await xapi("POST", "/xapi/statements", {
        auth: cred.basic,
        ...multipart(statement({ attachments: [declared] }), [{ type: "text/plain", hash, body: "tampered" }]),
      }),
    );
    expect400(
      await xapi("POST", "/xapi/statements", { auth: cred.basic, json: statement({ attachments: [declared] }) }),
    );
    expect400(
      await xapi("POST", "/xapi/statements", {
        auth: cred.basic,
        ...multipart(statement(), [{ type: "text/plain", hash: wrong, body: "other" }]),
      }),
    );
    // a fileUrl attachment needs no part
    const withUrl = statement({ attachments: [{ ...declared, fileUrl: "http://example.com/file.txt" }] });
    expect((await post(withUrl)).status).toBe(200);
  });

  it("accepts a signed statement (RS256 JWS attachment) and rejects a wrong algorithm or a payload that differs", async () => {
    const { privateKey } = await generateKeyPair("RS256", { extractable: true });
    expect(await exportPKCS8(privateKey)).toContain("PRIVATE KEY");
    const s = statement({ id: crypto.randomUUID() });
    const sign = async (payload: unknown, alg = "RS256") =>
      new CompactSign(encoder.encode(JSON.stringify(payload))).setProtectedHeader({ alg }).sign(privateKey);
    const send = async (jws: string) => {
      const hash = await sha256(encoder.encode(jws));
      const signed = {
        ...s,
        attachments: [
          {
            usageType: "http://adlnet.gov/expapi/attachments/signature",
            display: { "en-US": "Signature" },
            contentType: "application/octet-stream",
            length: jws.length,
            sha2: hash,
          },
        ],
      };
      return xapi("POST", "/xapi/statements", {
        auth: cred.basic,
        ...multipart(signed, [{ type: "application/octet-stream", hash, body: jws }]),
      });
    };
    expect400(await send(await sign({ ...s, verb: { id: "http://adlnet.gov/expapi/verbs/failed" } })));
    expect400(await send("not.a.jws"));
    const ok = await send(await sign(s));
    expect(ok.status, ok.text).toBe(200);
  });

  it("compares a signed statement's durations at 0.01 s precision (xAPI 2.0 4.2.7)", async () => {
    const { privateKey } = await generateKeyPair("RS256", { extractable: true });
    const signedWith = async (statementDuration: string, payloadDuration: string) => {
      const id = crypto.randomUUID();
      const payload = statement({ id, result: { duration: payloadDuration } });
      const jws = await new CompactSign(encoder.encode(JSON.stringify(payload)))
        .setProtectedHeader({ alg: "RS256" })
        .sign(privateKey);
      const hash = await sha256(encoder.encode(jws));
      const sent = {
        ...payload,
        result: { duration: statementDuration },
        attachments: [
          {
            usageType: "http://adlnet.gov/expapi/attachments/signature",
            display: { "en-US": "Signature" },
            contentType: "application/octet-stream",
            length: jws.length,
            sha2: hash,
          },
        ],
      };
      return xapi("POST", "/xapi/statements", {
        auth: cred.basic,
        ...multipart(sent, [{ type: "application/octet-stream", hash, body: jws }]),
      });
    };
    const truncated = await signedWith("P1DT12H36M0.1237S", "P1DT12H36M0.12S");
    expect(truncated.status, truncated.text).toBe(200);
    expect400(await signedWith("P1DT12H36M0.1337S", "P1DT12H36M0.12S"));
  });
});

describe("documents", () => {
  const activityId = `http://example.com/activities/${unique("doc")}`;
  const agent = { objectType: "Agent", mbox: `mailto:${unique("doc")}@example.com` };

  it("State: PUT, GET, POST merges JSON, lists ids with since, DELETE one and all", async () => {
    const base = { activityId, agent };
    const put = await xapi("PUT", `/xapi/activities/state?${q({ ...base, stateId: "bookmark" })}`, {
      auth: cred.basic,
      json: { page: 3 },
    });
    expect(put.status, put.text).toBe(204);
    const got = await xapi("GET", `/xapi/activities/state?${q({ ...base, stateId: "bookmark" })}`, {
      auth: cred.basic,
    });
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ page: 3 });
    expect(got.headers.get("etag")).toMatch(/^"[0-9a-f]{40}"$/);
    expect(got.headers.get("content-type")).toContain("application/json");
    expect(
      (
        await xapi("POST", `/xapi/activities/state?${q({ ...base, stateId: "bookmark" })}`, {
          auth: cred.basic,
          json: { done: true },
        })
      ).status,
    ).toBe(204);
    const merged = await xapi("GET", `/xapi/activities/state?${q({ ...base, stateId: "bookmark" })}`, {
      auth: cred.basic,
    });
    expect(merged.body).toEqual({ page: 3, done: true });
    // a binary state, and one under a registration
    expect(
      (
        await xapi("PUT", `/xapi/activities/state?${q({ ...base, stateId: "blob" })}`, {
          auth: cred.basic,
          raw: "raw-bytes",
          contentType: "application/octet-stream",
        })
      ).status,
    ).toBe(204);
    const registration = crypto.randomUUID();
    expect(
      (
        await xapi("PUT", `/xapi/activities/state?${q({ ...base, registration, stateId: "r" })}`, {
          auth: cred.basic,
          json: { r: 1 },
        })
      ).status,
    ).toBe(204);
    // POST of JSON onto a non-JSON document is a 400
    expect400(
      await xapi("POST", `/xapi/activities/state?${q({ ...base, stateId: "blob" })}`, {
        auth: cred.basic,
        json: { a: 1 },
      }),
    );
    const ids = await xapi("GET", `/xapi/activities/state?${q(base)}`, { auth: cred.basic });
    expect(ids.body).toEqual(["blob", "bookmark"]);
    const future = await xapi("GET", `/xapi/activities/state?${q({ ...base, since: "2999-01-01T00:00:00Z" })}`, {
      auth: cred.basic,
    });
    expect(future.body).toEqual([]);
    expect(
      (await xapi("GET", `/xapi/activities/state?${q({ ...base, registration })}`, { auth: cred.basic })).body,
    ).toEqual(["r"]);
    expect(
      (await xapi("DELETE", `/xapi/activities/state?${q({ ...base, stateId: "blob" })}`, { auth: cred.basic })).status,
    ).toBe(204);
    expect(
      (await xapi("GET", `/xapi/activities/state?${q({ ...base, stateId: "blob" })}`, { auth: cred.basic })).status,
    ).toBe(404);
    expect((await xapi("DELETE", `/xapi/activities/state?${q(base)}`, { auth: cred.basic })).status).toBe(204);
    expect((await xapi("GET", `/xapi/activities/state?${q(base)}`, { auth: cred.basic })).body).toEqual([]);
    // another academy sees nothing of this
    expect(
      (
        await xapi("GET", `/xapi/activities/state?${q({ ...base, registration, stateId: "r" })}`, {
          auth: otherCred.basic,
        })
      ).status,
    ).toBe(404);
  });

  it("State: validates its parameters", async () => {
    expect400(await xapi("GET", `/xapi/activities/state?${q({ agent, stateId: "x" })}`, { auth: cred.basic }));
    expect400(await xapi("GET", `/xapi/activities/state?${q({ activityId, stateId: "x" })}`, { auth: cred.basic }));
    expect400(
      await xapi("GET", `/xapi/activities/state?${q({ activityId, agent: { name: "x" }, stateId: "x" })}`, {
        auth: cred.basic,
      }),
    );
    expect400(
      await xapi("GET", `/xapi/activities/state?${q({ activityId, agent, registration: "r", stateId: "x" })}`, {
        auth: cred.basic,
      }),
    );
    expect400(await xapi("PUT", `/xapi/activities/state?${q({ activityId, agent })}`, { auth: cred.basic, json: {} }));
    expect400(
      await xapi("GET", `/xapi/activities/state?${q({ activityId: "not an iri", agent, stateId: "x" })}`, {
        auth: cred.basic,
      }),
    );
  });

  it("Activity Profile: ETag concurrency (409 without a precondition, 412 on a stale or existing one)", async () => {
    const path = (extra: Record<string, unknown> = {}) =>
      `/xapi/activities/profile?${q({ activityId, profileId: "p1", ...extra })}`;
    expect(
      (await xapi("PUT", path(), { auth: cred.basic, json: { v: 1 }, headers: { "if-none-match": "*" } })).status,
    ).toBe(204);
    const first = await xapi("GET", path(), { auth: cred.basic });
    const etag = first.headers.get("etag") as string;
    expect((await xapi("PUT", path(), { auth: cred.basic, json: { v: 2 } })).status).toBe(409);
    expect(
      (await xapi("PUT", path(), { auth: cred.basic, json: { v: 2 }, headers: { "if-none-match": "*" } })).status,
    ).toBe(412);
    expect(
      (await xapi("PUT", path(), { auth: cred.basic, json: { v: 2 }, headers: { "if-match": '"0000"' } })).status,
    ).toBe(412);
    expect(
      (await xapi("PUT", path(), { auth: cred.basic, json: { v: 2 }, headers: { "if-match": etag } })).status,
    ).toBe(204);
    expect(
      (await xapi("PUT", path(), { auth: cred.basic, json: { v: 3 }, headers: { "if-match": etag } })).status,
    ).toBe(412);
    const now = await xapi("GET", path(), { auth: cred.basic });
    expect(now.body).toEqual({ v: 2 });
    expect(now.headers.get("etag")).not.toBe(etag);
    // POST merges without a precondition
    expect((await xapi("POST", path(), { auth: cred.basic, json: { w: 1 } })).status).toBe(204);
    expect((await xapi("GET", path(), { auth: cred.basic })).body).toEqual({ v: 2, w: 1 });
    const list = await xapi("GET", `/xapi/activities/profile?${q({ activityId })}`, { auth: cred.basic });
    expect(list.body).toEqual(["p1"]);
    expect((await xapi("DELETE", path(), { auth: cred.basic, headers: { "if-match": '"stale"' } })).status).toBe(412);
    expect((await xapi("DELETE", path(), { auth: cred.basic })).status).toBe(204);
    expect((await xapi("GET", path(), { auth: cred.basic })).status).toBe(404);
  });

  it("Agent Profile: PUT / GET / list / delete with concurrency", async () => {
    const path = (extra: Record<string, unknown> = {}) => `/xapi/agents/profile?${q({ agent, ...extra })}`;
    // A new profile needs If-None-Match: * (ADL conformance: 400 without either precondition header).
    expect400(
      await xapi("PUT", path({ profileId: "prefs" }), {
        auth: cred.basic,
        raw: "text profile",
        contentType: "text/plain",
      }),
    );
    expect(
      (
        await xapi("PUT", path({ profileId: "prefs" }), {
          auth: cred.basic,
          raw: "text profile",
          contentType: "text/plain",
          headers: { "if-none-match": "*" },
        })
      ).status,
    ).toBe(204);
    const got = await xapi("GET", path({ profileId: "prefs" }), { auth: cred.basic });
    expect(got.text).toBe("text profile");
    expect(got.headers.get("content-type")).toContain("text/plain");
    expect(
      (await xapi("PUT", path({ profileId: "prefs" }), { auth: cred.basic, raw: "x", contentType: "text/plain" }))
        .status,
    ).toBe(409);
    expect((await xapi("GET", path(), { auth: cred.basic })).body).toEqual(["prefs"]);
    expect400(await xapi("GET", `/xapi/agents/profile?${q({ profileId: "prefs" })}`, { auth: cred.basic }));
    expect((await xapi("DELETE", path({ profileId: "prefs" }), { auth: cred.basic })).status).toBe(204);
  });

  it("/xapi/activities returns the canonical definition merged from statements; /xapi/agents a Person", async () => {
    const id = `http://example.com/activities/${unique("canon")}`;
    await post(
      statement({
        object: { id, definition: { name: { "en-US": "Intro" }, type: "http://adlnet.gov/expapi/activities/lesson" } },
      }),
    );
    await post(statement({ object: { id, definition: { name: { "fr-FR": "Intro FR" } } } }));
    const res = await xapi("GET", `/xapi/activities?${q({ activityId: id })}`, { auth: cred.basic });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      objectType: "Activity",
      id,
      definition: {
        name: { "en-US": "Intro", "fr-FR": "Intro FR" },
        type: "http://adlnet.gov/expapi/activities/lesson",
      },
    });
    expect400(await xapi("GET", "/xapi/activities", { auth: cred.basic }));
    const person = await xapi("GET", `/xapi/agents?${q({ agent: { name: "Ada", mbox: "mailto:ada@example.com" } })}`, {
      auth: cred.basic,
    });
    expect(person.body).toEqual({ objectType: "Person", name: ["Ada"], mbox: ["mailto:ada@example.com"] });
    expect400(await xapi("GET", "/xapi/agents", { auth: cred.basic }));
  });
});

describe("alternate request syntax", () => {
  it("tunnels PUT through POST ?method=PUT with headers and content in the form body", async () => {
    const id = crypto.randomUUID();
    const form = new URLSearchParams({
      statementId: id,
      Authorization: cred.basic,
      "X-Experience-API-Version": "1.0.3",
      "Content-Type": "application/json",
      content: JSON.stringify(statement()),
    });
    const res = await xapi("POST", "/xapi/statements?method=PUT", {
      raw: form.toString(),
      contentType: "application/x-www-form-urlencoded",
      version: null,
    });
    expect(res.status, res.text).toBe(204);
    expect((await get({ statementId: id })).status).toBe(200);
    const getForm = new URLSearchParams({
      statementId: id,
      Authorization: cred.basic,
      "X-Experience-API-Version": "1.0.3",
    });
    const viaGet = await xapi("POST", "/xapi/statements?method=GET", {
      raw: getForm.toString(),
      contentType: "application/x-www-form-urlencoded",
      version: null,
    });
    expect(viaGet.status).toBe(200);
    expect(viaGet.body.id).toBe(id);
    expect400(
      await xapi("POST", `/xapi/statements?method=GET&statementId=${id}`, {
        raw: getForm.toString(),
        contentType: "application/x-www-form-urlencoded",
      }),
    );
  });
});

describe("events", () => {
  it("records one xapi.statements_stored event per request", async () => {
    const res = await post([statement(), statement()]);
    const row = await env.DB.prepare(
      "SELECT data FROM outbox WHERE tenant_id = ? AND type = 'xapi.statements_stored' ORDER BY id DESC LIMIT 1",
    )
      .bind(tenant.id)
      .first<{ data: string }>();
    expect(JSON.parse(row?.data ?? "{}")).toMatchObject({ count: 2, statement_ids: res.body });
  });

  it("flushes the events of concurrent writes (one shared flush per academy and isolate)", async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => post(statement())));
    const ids = results.map((r) => r.body[0]);
    const rows = await env.DB.prepare(
      "SELECT data, sent_at FROM outbox WHERE tenant_id = ? AND type = 'xapi.statements_stored' ORDER BY id DESC LIMIT 6",
    )
      .bind(tenant.id)
      .all<{ data: string; sent_at: string | null }>();
    const sent = rows.results.filter((r) => ids.includes(JSON.parse(r.data).statement_ids[0]));
    expect(sent).toHaveLength(6);
    for (const r of sent) expect(r.sent_at).not.toBeNull();
  });
});

describe("ADL conformance suite regressions", () => {
  it("answers a method a resource does not have with 405, before authentication", async () => {
    const res = await xapi("DELETE", `/xapi/statements?${q({ statementId: crypto.randomUUID() })}`, {
      version: "1.0.1",
    });
    expect(res.status, res.text).toBe(405);
    expect(res.headers.get("allow")).toContain("GET");
    for (const [method, path] of [
      ["POST", "/xapi/activities"],
      ["PUT", "/xapi/activities"],
      ["DELETE", "/xapi/agents"],
      ["PUT", "/xapi/agents"],
    ])
      expect((await xapi(method, `${path}?activityId=x`, { auth: cred.basic })).status).toBe(405);
  });

  it("GET /xapi/statements answers X-Experience-API-Consistent-Through on a 400 too", async () => {
    const res = await get({ LIMIT: 1 });
    expect400(res);
    expect(Date.parse(res.headers.get("x-experience-api-consistent-through") ?? "")).not.toBeNaN();
  });

  it("returns a single context activity as an array, and accepts the same statement again", async () => {
    const category = { id: `http://example.com/cat/${unique("c")}`, definition: { name: { "en-US": "c" } } };
    const id = crypto.randomUUID();
    const s = statement({ id, context: { contextActivities: { category } } });
    expect((await post(s)).status).toBe(200);
    const got = await get({ statementId: id });
    expect(got.body.context.contextActivities.category).toEqual([category]);
    expect((await post(s)).status).toBe(200); // the identical statement again is not a conflict
    const sub = statement({
      object: {
        objectType: "SubStatement",
        actor: { mbox: "mailto:sub@example.com" },
        verb: { id: "http://adlnet.gov/expapi/verbs/reported" },
        object: { id: "http://example.com/a" },
        context: { contextActivities: { parent: { id: "http://example.com/p" } } },
      },
    });
    const [subId] = (await post(sub)).body;
    expect((await get({ statementId: subId })).body.object.context.contextActivities.parent).toEqual([
      { id: "http://example.com/p" },
    ]);
  });

  it("/xapi/about lists only 1.0.x versions to a 1.0.x client, 2.0.0 too to a 2.0 client", async () => {
    expect((await xapi("GET", "/xapi/about")).body.version).toEqual(["1.0.0", "1.0.1", "1.0.2", "1.0.3"]);
    expect((await xapi("GET", "/xapi/about", { version: "2.0.0" })).body.version).toContain("2.0.0");
    expect((await xapi("GET", "/xapi/about", { version: null })).body.version).toContain("2.0.0");
  });

  it("documents: POST of a new non-JSON document stores it; a profile PUT needs a precondition header", async () => {
    const activityId = `http://example.com/act/${unique("doc")}`;
    const path = (profileId: string) => `/xapi/activities/profile?${q({ activityId, profileId })}`;
    const created = await xapi("POST", path("p1"), {
      auth: cred.basic,
      raw: "1",
      contentType: "application/x-www-form-urlencoded",
    });
    expect(created.status, created.text).toBe(204);
    expect((await xapi("GET", path("p1"), { auth: cred.basic })).text).toBe("1");
    // merging into it (not JSON) is refused, and so is JSON that does not parse
    expect400(await xapi("POST", path("p1"), { auth: cred.basic, json: { a: 1 } }));
    expect400(await xapi("POST", path("p2"), { auth: cred.basic, raw: "{", contentType: "application/json" }));
    expect400(await xapi("PUT", path("p3"), { auth: cred.basic, json: { a: 1 } }));
    const put = await xapi("PUT", path("p3"), { auth: cred.basic, json: { a: 1 }, headers: { "if-none-match": "*" } });
    expect(put.status).toBe(204);
  });

  it("the alternate syntax takes headers sent as real headers; a non-form body is a 400", async () => {
    const id = crypto.randomUUID();
    const res = await xapi("POST", "/xapi/statements?method=PUT", {
      auth: cred.basic,
      raw: new URLSearchParams({ statementId: id, content: JSON.stringify(statement()) }).toString(),
      contentType: "application/x-www-form-urlencoded",
    });
    expect(res.status, res.text).toBe(204);
    expect((await get({ statementId: id })).status).toBe(200);
    expect400(await xapi("POST", "/xapi/statements?method=PUT", { auth: cred.basic }));
  });

  it("a form-encoded POST to /statements without method= is a GET (its fields are the query)", async () => {
    const res = await xapi("POST", "/xapi/statements", {
      auth: cred.basic,
      raw: "limit=1",
      contentType: "application/x-www-form-urlencoded",
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.statements).toHaveLength(1);
    expect(res.body).toHaveProperty("more");
  });

  it("refuses voiding an already voided statement, an identified authority Group, P4W1D and repeated singletons", async () => {
    const [target] = (await post(statement())).body;
    const voiding = (id: string) =>
      statement({ verb: { id: "http://adlnet.gov/expapi/verbs/voided" }, object: { objectType: "StatementRef", id } });
    const first = { ...voiding(target), id: crypto.randomUUID() };
    expect((await post(first)).status).toBe(200);
    expect400(await post(voiding(target)));
    expect((await post(first)).status).toBe(200); // the same voiding statement again is not new
    expect400(
      await post(
        statement({
          authority: {
            objectType: "Group",
            mbox: "mailto:group@example.com",
            member: [{ mbox: "mailto:a@example.com" }, { mbox: "mailto:b@example.com" }],
          },
        }),
      ),
    );
    expect400(await post(statement({ result: { duration: "P4W1D" } })));
    expect((await post(statement({ result: { duration: "P4W" } }))).status).toBe(200);
    const named = (name: Record<string, string>) =>
      statement({ object: { id: "http://example.com/a", definition: { name } } });
    expect400(await post(named({ "zh-z-aaa-z-bbb-c-ccc": "x" })));
    expect((await post(named({ "zh-Hans-CN": "x", "sr-Latn-RS": "y" }))).status).toBe(200);
  });

  it("xAPI 2.0: a State PUT over an existing document without a precondition is a 409 (1.0.3 replaces it)", async () => {
    const path = `/xapi/activities/state?${q({
      activityId: `http://example.com/act/${unique("st")}`,
      agent: { mbox: "mailto:state2@example.com" },
      stateId: "s",
    })}`;
    expect((await xapi("PUT", path, { auth: cred.basic, json: { a: 1 }, version: "2.0.0" })).status).toBe(204);
    const again = await xapi("PUT", path, { auth: cred.basic, json: { a: 2 }, version: "2.0.0" });
    expect(again.status).toBe(409);
    expect((await xapi("PUT", path, { auth: cred.basic, json: { a: 3 } })).status).toBe(204);
  });

  it("refuses an empty contextActivities, an empty Activity definition and a reserved 4-letter language", async () => {
    expect400(await post(statement({ context: { contextActivities: {} } })));
    expect400(await post(statement({ object: { id: "http://example.com/a", definition: {} } })));
    expect400(
      await post(
        statement({
          object: {
            id: "http://example.com/q",
            definition: { interactionType: "choice", choices: [{ id: "a", description: { test: "value" } }] },
          },
        }),
      ),
    );
    expect(
      (await post(statement({ verb: { id: "http://example.com/v", display: { tlh: "x", cmn: "y" } } }))).status,
    ).toBe(200);
  });

  it("checks the secret on every request while the credential is memoised, and a revocation applies at once", async () => {
    const fresh = await lrsCredential(tenant);
    expect((await get({ limit: 1 }, fresh.basic)).status).toBe(200);
    const wrong = `Basic ${btoa(`${fresh.key}:not-the-secret`)}`;
    expect((await get({ limit: 1 }, wrong)).status).toBe(401);
    expect((await get({ limit: 1 }, fresh.basic)).status).toBe(200);
    expectStatus(await api("DELETE", `/v1/admin/lrs-credentials/${fresh.id}`, { token: tenant.key }), 204);
    expect((await get({ limit: 1 }, fresh.basic)).status).toBe(401);
  });

  it("merges language maps of one activity named in two languages within one batch", async () => {
    const id = `http://example.com/act/${unique("lang")}`;
    const a = statement({ object: { id, definition: { name: { "en-US": "meeting" } } } });
    const b = statement({ object: { id, definition: { name: { "fr-FR": "réunion" } } } });
    expect((await post([a, b])).status).toBe(200);
    const activity = await xapi("GET", `/xapi/activities?${q({ activityId: id })}`, { auth: cred.basic });
    expect(activity.body.definition.name).toEqual({ "en-US": "meeting", "fr-FR": "réunion" });
  });
});
