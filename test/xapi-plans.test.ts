/**
 * The LRS's hot statements (batch insert, every filter of GET /xapi/statements, document lists) run on indexes
 * led by tenant_id: each is replayed under EXPLAIN QUERY PLAN and a full scan of a table fails the test (the
 * same recorder as test/query-plans.test.ts, over an LRS context).
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { documentKey, listDocumentIds } from "../src/modules/xapi/documents";
import type { LrsContext } from "../src/modules/xapi/lrs";
import { getStatement, queryStatements, storeStatements } from "../src/modules/xapi/statements";
import { createDb } from "../src/platform/db";
import { createTenant, type TestTenant } from "./helpers/factories";
import { type Recorded, recordingD1 } from "./helpers/recording-d1";
import { statement } from "./helpers/xapi";

let tenant: TestTenant;

async function expectIndexed(label: string, work: (ctx: LrsContext) => Promise<unknown>) {
  const log: Recorded[] = [];
  const ctx: LrsContext = {
    tenantId: tenant.id,
    db: createDb(recordingD1(log)),
    env,
    canRead: true,
    canWrite: true,
    credentialId: null,
    authority: { objectType: "Agent", account: { homePage: "http://lectern.test/xapi/", name: "plans" } },
    version: "1.0.3",
    defer: () => {},
  };
  await work(ctx);
  expect(log.length, `${label} ran no statement`).toBeGreaterThan(0);
  for (const entry of log) {
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${entry.sql}`)
      .bind(...entry.params)
      .all<{ detail: string }>();
    const scans = plan.results
      .map((row) => row.detail)
      .filter((detail) => /^SCAN /.test(detail) && !/VIRTUAL TABLE|json_each|CONSTANT ROW/.test(detail));
    expect(scans, `${label}: full scan in\n${entry.sql}`).toEqual([]);
  }
  return log.length;
}

const agent = { mbox: "mailto:plans@example.com" };
const registration = crypto.randomUUID();

beforeAll(async () => {
  tenant = await createTenant();
});

describe("xAPI query plans", () => {
  it("stores a batch of 50 (with a voiding statement and a StatementRef) in a fixed number of statements", async () => {
    const first = statement({ actor: agent });
    const [id] = await (async () => {
      let ids: string[] = [];
      await expectIndexed("store one", async (ctx) => {
        ids = (await storeStatements(ctx, first, [])).ids;
      });
      return ids;
    })();
    const batch: unknown[] = Array.from({ length: 48 }, () => statement({ actor: agent, context: { registration } }));
    batch.push(
      {
        actor: agent,
        verb: { id: "http://adlnet.gov/expapi/verbs/voided" },
        object: { objectType: "StatementRef", id },
      },
      { actor: agent, verb: { id: "http://example.com/verbs/liked" }, object: { objectType: "StatementRef", id } },
    );
    const count = await expectIndexed("store batch", (ctx) => storeStatements(ctx, batch, []));
    // one read (existing ids and targets), then clock, statements, terms, voiding, activities, outbox
    expect(count).toBeLessThanOrEqual(8);
  });

  it("answers every filter from an index", async () => {
    const a = JSON.stringify(agent);
    const queries: Record<string, string>[] = [
      {},
      { agent: a },
      { agent: a, related_agents: "true" },
      { verb: "http://adlnet.gov/expapi/verbs/completed" },
      { activity: "http://example.com/a" },
      { activity: "http://example.com/a", related_activities: "true" },
      { registration },
      {
        agent: a,
        verb: "http://adlnet.gov/expapi/verbs/completed",
        since: "2020-01-01T00:00:00Z",
        until: "2999-01-01T00:00:00Z",
      },
      { agent: a, registration, ascending: "true", cursor: "1", limit: "5" },
      { since: "2020-01-01T00:00:00Z", cursor: "99999999999999999" },
    ];
    for (const query of queries)
      await expectIndexed(`GET ${JSON.stringify(query)}`, (ctx) => queryStatements(ctx, query));
    await expectIndexed("GET by id", (ctx) => getStatement(ctx, crypto.randomUUID(), false).catch(() => null));
  });

  it("lists documents from an index", async () => {
    const { key } = documentKey("state", { activityId: "http://example.com/a", agent: JSON.stringify(agent) });
    await expectIndexed("state ids", (ctx) => listDocumentIds(ctx, key, "2020-01-01T00:00:00Z"));
    const profile = documentKey("agent_profile", { agent: JSON.stringify(agent) }).key;
    await expectIndexed("agent profile ids", (ctx) => listDocumentIds(ctx, profile));
  });
});
