/**
 * Background jobs: the JOBS consumer runs registered kinds once, fails bad work with its reason, retries
 * transient errors with growing delays until it gives up, and the API shows each job to who may see it.
 * A test kind is registered here: the Worker and the tests share one module graph.
 */
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { JobFailure } from "../src/modules/jobs/errors";
import { JOB_HANDLERS, type JobRun } from "../src/modules/jobs/handlers";
import { JOB_MAX_ATTEMPTS, jobRetryDelay } from "../src/modules/jobs/runner";
import { createJob, requeueUnsentJobs } from "../src/modules/jobs/service";
import { jobs } from "../src/modules/jobs/tables";
import type { TenantContext } from "../src/platform/auth";
import { createDb } from "../src/platform/db";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, scopedKey, type TestTenant } from "./helpers/factories";
import { recordingEnv, runQueue, type Sent } from "./helpers/webhooks";

const runs: JobRun[] = [];
let behaviour: (run: JobRun) => Promise<unknown> = async () => ({ ok: true });

JOB_HANDLERS["test.echo"] = {
  permission: "assessments:read",
  description: "Test kind: echoes its input.",
  async run(run) {
    runs.push(run);
    return behaviour(run);
  },
};

let a: TestTenant;
let b: TestTenant;
const db = createDb(env.DB);

function ctxFor(t: TestTenant, testEnv = env): TenantContext {
  return {
    tenantId: t.id,
    db,
    env: testEnv,
    principal: { kind: "api_key", tenantId: t.id, keyId: 1, userId: null, permissions: ["*"], writesPerMinute: 1000 },
    defer: () => {},
  };
}

beforeAll(async () => {
  a = await createTenant();
  b = await createTenant();
});

describe("JOBS consumer", () => {
  it("runs a job once, stores its result and progress, and skips a redelivered message", async () => {
    behaviour = async (run) => {
      await run.setProgress(3, 3);
      return { echoed: run.input };
    };
    const sent: Sent[] = [];
    const testEnv = { ...recordingEnv(sent), JOBS: recordingEnv(sent).EVENTS } as unknown as typeof env;
    const job = await createJob(ctxFor(a, testEnv), "test.echo", { rows: 3 });
    expect(job.status).toBe("queued");
    expect(sent).toEqual([expect.objectContaining({ body: { job_id: job.id, tenant_id: a.id } })]);

    const before = runs.length;
    const first = await runQueue("lectern-jobs", [{ body: sent[0].body }]);
    expect(first.acked).toEqual([true]);
    const res = await api("GET", `/v1/admin/jobs/${job.id}`, { token: a.key });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({
      id: job.id,
      kind: "test.echo",
      status: "succeeded",
      progress: { done: 3, total: 3 },
      result: { echoed: { rows: 3 } },
      attempts: 1,
      error: null,
    });
    expect(res.body.finished_at).toBeTruthy();

    const again = await runQueue("lectern-jobs", [{ body: sent[0].body }]);
    expect(again.acked).toEqual([true]);
    expect(runs.length).toBe(before + 1);
  });

  it("fails a job at once with the reason of a JobFailure", async () => {
    behaviour = async () => {
      throw new JobFailure("Row #3 : unknown question type", { rows: [3] });
    };
    const { job } = await newJobWithQueue(a);
    const run = await runQueue("lectern-jobs", [{ body: { job_id: job.id, tenant_id: a.id } }]);
    expect(run.acked).toEqual([true]);
    expect(run.retried).toEqual([null]);
    const res = await api("GET", `/v1/admin/jobs/${job.id}`, { token: a.key });
    expect(res.body).toMatchObject({
      status: "failed",
      error: "Row #3 : unknown question type",
      result: { rows: [3] },
    });
  });

  it("retries a transient error with growing delays, then gives up after the last try", async () => {
    behaviour = async () => {
      throw new Error("D1 is busy");
    };
    const { job } = await newJobWithQueue(a);
    for (let attempt = 1; attempt < JOB_MAX_ATTEMPTS; attempt++) {
      const run = await runQueue("lectern-jobs", [{ body: { job_id: job.id, tenant_id: a.id }, attempts: attempt }]);
      expect(run.retried).toEqual([{ delaySeconds: jobRetryDelay(attempt) }]);
      const res = await api("GET", `/v1/admin/jobs/${job.id}`, { token: a.key });
      expect(res.body).toMatchObject({ status: "queued", error: "D1 is busy", attempts: attempt });
    }
    expect(jobRetryDelay(2)).toBeGreaterThan(jobRetryDelay(1));
    const last = await runQueue("lectern-jobs", [
      { body: { job_id: job.id, tenant_id: a.id }, attempts: JOB_MAX_ATTEMPTS },
    ]);
    expect(last.acked).toEqual([true]);
    const res = await api("GET", `/v1/admin/jobs/${job.id}`, { token: a.key });
    expect(res.body.status).toBe("failed");
    expect(res.body.error).toMatch(/^Gave up after 6 tries: D1 is busy/);
  });

  it("re-sends a job whose queue message was never sent", async () => {
    behaviour = async () => ({ ok: true });
    const failing: Sent[] = [];
    const brokenQueue = recordingEnv(failing, { events: () => true }).EVENTS;
    const job = await createJob(ctxFor(a, { ...env, JOBS: brokenQueue } as unknown as typeof env), "test.echo", {});
    const [row] = await db.select().from(jobs).where(eq(jobs.id, job.id));
    expect(row.queuedAt).toBeNull();
    await db
      .update(jobs)
      .set({ createdAt: new Date(Date.now() - 120_000).toISOString() })
      .where(eq(jobs.id, job.id));
    const sent: Sent[] = [];
    await requeueUnsentJobs({ ...env, JOBS: recordingEnv(sent).EVENTS } as unknown as typeof env, db);
    expect(sent.map((s) => s.body)).toContainEqual({ job_id: job.id, tenant_id: a.id });
    const [after] = await db.select().from(jobs).where(eq(jobs.id, job.id));
    expect(after.queuedAt).not.toBeNull();
  });
});

async function newJobWithQueue(t: TestTenant) {
  const sent: Sent[] = [];
  const job = await createJob(
    ctxFor(t, { ...env, JOBS: recordingEnv(sent).EVENTS } as unknown as typeof env),
    "test.echo",
    {},
  );
  return { job, sent };
}

describe("jobs API", () => {
  it("lists the tenant's jobs newest first with kind and status filters", async () => {
    const { job } = await newJobWithQueue(a);
    const res = await api("GET", "/v1/admin/jobs?kind=test.echo&status=queued", { token: a.key });
    expectStatus(res, 200);
    expect(res.body.data[0].id).toBe(job.id);
    expect(res.body.data.every((j: { status: string }) => j.status === "queued")).toBe(true);
    const kinds = await api("GET", "/v1/admin/jobs/kinds", { token: a.key });
    expect(kinds.body).toContainEqual({
      kind: "test.echo",
      permission: "assessments:read",
      description: expect.any(String),
    });
  });

  it("refuses bad filters and ids with a problem", async () => {
    expectProblem(await api("GET", "/v1/admin/jobs?status=done", { token: a.key }), 422);
    expectProblem(await api("GET", "/v1/admin/jobs/abc", { token: a.key }), 422);
    expectProblem(await api("GET", "/v1/admin/jobs/999999999", { token: a.key }), 404);
  });

  it("needs an admin credential, and the permission of the job's kind", async () => {
    const { job } = await newJobWithQueue(a);
    expectProblem(await api("GET", `/v1/admin/jobs/${job.id}`), 401);
    expectProblem(await api("GET", "/v1/admin/jobs"), 401);
    const narrow = (await scopedKey(a, ["courses:read"])).key;
    const denied = await api("GET", `/v1/admin/jobs/${job.id}`, { token: narrow });
    expectProblem(denied, 403);
    expect(denied.body.required_permission).toBe("assessments:read");
    const list = await api("GET", "/v1/admin/jobs", { token: narrow });
    expectStatus(list, 200);
    expect(list.body.data).toEqual([]);
    const allowed = (await scopedKey(a, ["assessments:read"])).key;
    expectStatus(await api("GET", `/v1/admin/jobs/${job.id}`, { token: allowed }), 200);
  });

  it("never shows another tenant's job", async () => {
    const { job } = await newJobWithQueue(a);
    expectProblem(await api("GET", `/v1/admin/jobs/${job.id}`, { token: b.key }), 404);
    const list = await api("GET", "/v1/admin/jobs", { token: b.key });
    expect(list.body.data.map((j: { id: number }) => j.id)).not.toContain(job.id);
  });
});
