/**
 * End to end with a real xAPI client: @xapi/xapi (its default axios transport) against the Worker. axios
 * runs inside workerd with its fetch adapter; the only shim is where fetch goes: requests for the test origin
 * are handed to the Worker's own fetch handler (tests may not open sockets), everything else is refused.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import XAPI from "@xapi/xapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import worker from "../src/index";
import { createTenant, unique } from "./helpers/factories";
import { lrsCredential } from "./helpers/xapi";

const ORIGIN = "http://lectern.test";
const realFetch = globalThis.fetch;
let client: XAPI;

beforeAll(async () => {
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(`${ORIGIN}/`)) throw new Error(`The test refuses a request to ${request.url}`);
    const ctx = createExecutionContext();
    const response = await worker.fetch(request, env, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  }) as typeof fetch;
  const tenant = await createTenant();
  const cred = await lrsCredential(tenant);
  client = new XAPI({ endpoint: `${ORIGIN}/xapi/`, auth: XAPI.toBasicAuth(cred.key, cred.secret), version: "1.0.3" });
});

afterAll(() => {
  globalThis.fetch = realFetch;
});

describe("@xapi/xapi against the LRS", () => {
  const actor = {
    objectType: "Agent" as const,
    name: "Client Learner",
    mbox: `mailto:${unique("client")}@example.com`,
  };
  const activityId = `http://example.com/activities/${unique("client")}`;

  it("reads /about, sends, fetches, queries, pages and voids statements", async () => {
    const about = await client.getAbout();
    expect(about.data.version).toContain("1.0.3");

    const sent = await client.sendStatement({
      statement: {
        actor,
        verb: XAPI.Verbs.COMPLETED,
        object: { objectType: "Activity", id: activityId, definition: { name: { "en-US": "Client lesson" } } },
        result: { score: { scaled: 0.9 }, success: true, completion: true, duration: "PT5M" },
      },
    });
    expect(sent.data).toHaveLength(1);
    const [id] = sent.data;
    const fetched = await client.getStatement({ statementId: id });
    expect(fetched.data.id).toBe(id);
    expect(fetched.data.result?.score?.scaled).toBe(0.9);

    const batch = await client.sendStatements({
      statements: [1, 2, 3].map(() => ({
        actor,
        verb: XAPI.Verbs.PROGRESSED,
        object: { objectType: "Activity" as const, id: activityId },
      })),
    });
    expect(batch.data).toHaveLength(3);

    const page = await client.getStatements({ agent: actor, activity: activityId, limit: 2 });
    expect(page.data.statements).toHaveLength(2);
    expect(page.data.more).toBeTruthy();
    const next = (await client.getMoreStatements({ more: page.data.more as string })).data as typeof page.data;
    expect(next.statements).toHaveLength(2);
    const all = [...page.data.statements, ...next.statements].map((s) => s.id);
    expect(new Set(all)).toEqual(new Set([id, ...batch.data]));

    await client.voidStatement({ actor, statementId: id });
    const voided = await client.getVoidedStatement({ voidedStatementId: id });
    expect(voided.data.id).toBe(id);
    await expect(client.getStatement({ statementId: id })).rejects.toMatchObject({ response: { status: 404 } });
  });

  it("keeps State and profiles, and reads activities and agents", async () => {
    await client.setState({ agent: actor, activityId, stateId: "bookmark", state: { page: 7 } });
    await client.createState({ agent: actor, activityId, stateId: "bookmark", state: { done: false } });
    const state = await client.getState({ agent: actor, activityId, stateId: "bookmark" });
    expect(state.data).toEqual({ page: 7, done: false });
    expect(await client.getStates({ agent: actor, activityId }).then((r) => r.data)).toEqual(["bookmark"]);
    await client.deleteState({ agent: actor, activityId, stateId: "bookmark" });

    const create = { etag: "*", matchHeader: "If-None-Match" as const };
    await client.setActivityProfile({ activityId, profileId: "config", profile: { mode: "exam" }, ...create });
    const profile = await client.getActivityProfile({ activityId, profileId: "config" });
    expect(profile.data).toEqual({ mode: "exam" });
    const etag = String(profile.headers.etag ?? profile.headers.ETag);
    expect(etag).toMatch(/^"[0-9a-f]{40}"$/);
    await client.setActivityProfile({
      activityId,
      profileId: "config",
      profile: { mode: "practice" },
      etag,
      matchHeader: "If-Match",
    });
    // the same ETag is stale now: the LRS answers 412
    await expect(
      client.setActivityProfile({
        activityId,
        profileId: "config",
        profile: { mode: "x" },
        etag,
        matchHeader: "If-Match",
      }),
    ).rejects.toMatchObject({ response: { status: 412 } });
    expect((await client.getActivityProfile({ activityId, profileId: "config" })).data).toEqual({ mode: "practice" });
    await client.setAgentProfile({ agent: actor, profileId: "prefs", profile: { theme: "dark" }, ...create });
    expect((await client.getAgentProfile({ agent: actor, profileId: "prefs" })).data).toEqual({ theme: "dark" });

    const activity = await client.getActivity({ activityId });
    expect(activity.data.definition?.name).toEqual({ "en-US": "Client lesson" });
    const person = await client.getAgent({ agent: actor });
    expect(person.data.mbox).toEqual([actor.mbox]);
  });
});
