// The scenarios. Each is a few lines: `requires` names the API paths it needs (checked against the running
// Worker's /openapi.json, so a scenario whose module has not landed is reported "not yet available", never dropped),
// and `load(ctx)` answers autocannon request options, or `measure(ctx)` runs a custom measurement.
//
// ctx: { url, seeded (seedApi), bulk (seedBulk), tokens: { learner, walkers[] }, call, size, smoke, counters }
//
// kinds: "read" (in the growth table; `hot` ones carry the hot-read budget), "write", "rate" (custom unit).

import { XAPI_VERB, xapiStatement } from "./seed.mjs";

const json = { "content-type": "application/json" };
const tenantHeader = { "x-tenant": "bench" };

/** Each connection gets its own value from `values` (round robin) on its first request. */
function perConnection(values) {
  let next = 0;
  return (context) => {
    if (context.slot === undefined) context.slot = values[next++ % values.length];
    return context.slot;
  };
}

export const SCENARIOS = [
  {
    name: "ping",
    kind: "reference",
    what: "GET /v1/ping: the whole middleware stack (request id, CORS, secure headers) and no D1: Lectern's floor",
    requires: ["/v1/ping"],
    load: () => ({ requests: [{ method: "GET", path: "/v1/ping" }] }),
  },
  {
    name: "catalog page 1 revalidated (304)",
    kind: "read",
    what: "GET /v1/public/catalog with If-None-Match: the ETag matches, 304 (the academy lookup, nothing else)",
    requires: ["/v1/public/catalog"],
    load: async (ctx) => {
      const res = await fetch(`${ctx.url}/v1/public/catalog`, { headers: tenantHeader });
      await res.arrayBuffer();
      const etag = res.headers.get("etag");
      return {
        expect304: true,
        requests: [{ method: "GET", path: "/v1/public/catalog", headers: { ...tenantHeader, "if-none-match": etag } }],
      };
    },
  },
  {
    name: "catalog page 1",
    kind: "read",
    hot: true,
    what: "GET /v1/public/catalog (X-Tenant): the first page of the public catalog, 15 items, anonymous",
    requires: ["/v1/public/catalog"],
    load: () => ({ requests: [{ method: "GET", path: "/v1/public/catalog", headers: tenantHeader }] }),
  },
  {
    name: "catalog deep page",
    kind: "read",
    hot: true,
    what: "GET /v1/public/catalog?page=N&per_page=20 with N in the middle of the catalog (the same page every time)",
    requires: ["/v1/public/catalog"],
    load: (ctx) => {
      const page = Math.max(1, Math.floor(ctx.bulk.courses / 20 / 2));
      return {
        requests: [{ method: "GET", path: `/v1/public/catalog?page=${page}&per_page=20`, headers: tenantHeader }],
      };
    },
  },
  {
    name: "catalog pages uncached",
    kind: "read",
    what:
      "GET /v1/public/catalog?page=N&per_page=20, N different on every request (walks the whole catalog), so each " +
      "answer misses the cache and reads D1: the cost of a catalog change, when every page is recomputed",
    requires: ["/v1/public/catalog"],
    load: (ctx) => {
      const pages = Math.max(1, Math.ceil(ctx.bulk.courses / 20));
      let n = 0;
      return {
        requests: [
          {
            method: "GET",
            headers: tenantHeader,
            setupRequest: (req) => ({
              ...req,
              path: `/v1/public/catalog?page=${(n++ % pages) + 1}&per_page=20&sort=name`,
            }),
          },
        ],
      };
    },
  },
  {
    name: "catalog walk by cursor",
    kind: "read",
    what:
      "GET /v1/public/catalog?sort=name&per_page=20&cursor=..: each connection walks the catalog with meta.next_cursor " +
      "from its own place, so each answer misses the cache and reads D1 (keyset: any depth costs what page 1 costs)",
    requires: ["/v1/public/catalog"],
    load: (ctx) => {
      // Each connection starts right after a bulk course name spread over the catalog (bulk names are
      // 'Bench course ' + i in 6 digits). The cursor is opaque to clients; the bench builds its first one in the
      // same form Lectern does (sort, name, kind, id), so no connection starts with a deep OFFSET page.
      const startCursor = (k) => {
        const i = Math.max(1, Math.floor((k * ctx.bulk.bulkCourses) / 10));
        const json = JSON.stringify(["name", `Bench course ${String(i).padStart(6, "0")}`, "course", 1]);
        return Buffer.from(json).toString("base64url");
      };
      let started = 0;
      return {
        requests: [
          {
            method: "GET",
            headers: tenantHeader,
            setupRequest: (req, context) => {
              if (context.cursor === undefined) context.cursor = startCursor(started++ % 10);
              return { ...req, path: `/v1/public/catalog?sort=name&per_page=20&cursor=${context.cursor}` };
            },
            onResponse: (status, body, context) => {
              if (status !== 200) return;
              try {
                // At the end of the catalog the walk starts again at a new place.
                context.cursor = JSON.parse(body).meta.next_cursor ?? undefined;
              } catch {
                context.cursor = undefined;
              }
            },
          },
        ],
      };
    },
  },
  {
    name: "course outline",
    kind: "read",
    hot: true,
    what: "GET /v1/learner/courses/{id}/outline: 3 sections x 10 modules, the learner has completed 10",
    requires: ["/v1/learner/courses/{id}/outline"],
    load: (ctx) => ({
      requests: [
        {
          method: "GET",
          path: `/v1/learner/courses/${ctx.seeded.courseId}/outline`,
          headers: { authorization: `Bearer ${ctx.tokens.learner}` },
        },
      ],
    }),
  },
  {
    name: "my courses",
    kind: "read",
    hot: true,
    what: "GET /v1/learner/courses: the learner's 20 enrollments (first page), at every data size",
    requires: ["/v1/learner/courses"],
    load: (ctx) => ({
      requests: [
        { method: "GET", path: "/v1/learner/courses", headers: { authorization: `Bearer ${ctx.tokens.learner}` } },
      ],
    }),
  },
  {
    name: "webhook fan-out",
    kind: "rate",
    unit: "events/s",
    what:
      "enrollment.created events from enroll calls (100 events each) through the outbox, the EVENTS and " +
      "WEBHOOK_DELIVERIES queues, signed and POSTed to a receiver on 127.0.0.1: events delivered per second",
    requires: ["/v1/admin/webhooks"],
    measure: webhookFanOut,
  },
  {
    name: "launch + complete",
    kind: "write",
    what:
      "POST .../modules/{placement}/launch then .../complete: each connection is its own learner walking the 30 " +
      "placements of the outline course in order (req/s counts both requests)",
    requires: ["/v1/learner/courses/{id}/modules/{placement_id}/launch"],
    load: (ctx) => {
      const walker = perConnection(ctx.tokens.walkers.map((token) => ({ token })));
      const placements = ctx.seeded.placements;
      const path = (w, verb) =>
        `/v1/learner/courses/${ctx.seeded.courseId}/modules/${placements[(w.i ?? 0) % placements.length]}/${verb}`;
      return {
        requests: [
          {
            method: "POST",
            setupRequest: (req, context) => {
              const w = walker(context);
              return { ...req, path: path(w, "launch"), headers: { authorization: `Bearer ${w.token}` } };
            },
          },
          {
            method: "POST",
            setupRequest: (req, context) => {
              const w = walker(context);
              const out = { ...req, path: path(w, "complete"), headers: { authorization: `Bearer ${w.token}` } };
              w.i = (w.i ?? 0) + 1;
              return out;
            },
          },
        ],
      };
    },
  },
  {
    name: "enroll 100 learners",
    kind: "write",
    minSeconds: 6, // one call takes over a second on a busy machine: smoke runs still need a few
    what:
      "POST /v1/admin/courses/{id}/enrollments with 100 learner_ids, a different course each request (100 new " +
      "enrollments, 100 events through the outbox each)",
    requires: ["/v1/admin/courses/{id}/enrollments"],
    load: (ctx) => ({
      requests: [
        {
          method: "POST",
          setupRequest: (req) => ({
            ...req,
            path: `/v1/admin/courses/${ctx.nextCourse()}/enrollments`,
            headers: { ...json, authorization: `Bearer ${ctx.seeded.adminKey}` },
            body: JSON.stringify({ learner_ids: ctx.pool }),
          }),
        },
      ],
    }),
  },
  {
    name: "quiz answer save",
    kind: "write",
    what:
      "PUT /v1/learner/attempts/{id}/answers/{question_id}: each connection is a learner with a running attempt at " +
      "a 10-question true/false quiz, saving answers in turn, alternating true and false (the QuizAttempt DO only)",
    requires: ["/v1/learner/attempts/{id}/answers/{question_id}", "/v1/learner/quizzes/{module_id}/attempts"],
    needs: quizSeeded,
    load: async (ctx) => {
      const attempts = [];
      for (const token of ctx.tokens.walkers) {
        const attempt = await startAttempt(ctx, token);
        attempts.push({ token, id: attempt.id, questions: attempt.questions.map((q) => q.question_id ?? q.id) });
      }
      const slot = perConnection(attempts);
      return {
        requests: [
          {
            method: "PUT",
            setupRequest: (req, context) => {
              const a = slot(context);
              a.n = (a.n ?? 0) + 1;
              return {
                ...req,
                path: `/v1/learner/attempts/${a.id}/answers/${a.questions[a.n % a.questions.length]}`,
                headers: { ...json, authorization: `Bearer ${a.token}` },
                body: JSON.stringify({ answer: { value: Math.floor(a.n / a.questions.length) % 2 === 0 } }),
              };
            },
          },
        ],
      };
    },
  },
  {
    name: "quiz submit",
    kind: "write",
    what:
      "POST .../quizzes/{module_id}/attempts (start, or the running one) then POST /v1/learner/attempts/{id}/submit: " +
      "grading, the attempt written to D1, recordGradedResult (req/s counts both requests)",
    requires: ["/v1/learner/attempts/{id}/submit", "/v1/learner/quizzes/{module_id}/attempts"],
    needs: quizSeeded,
    load: (ctx) => {
      const slot = perConnection(ctx.tokens.walkers.map((token) => ({ token })));
      const q = ctx.seeded.quiz;
      return {
        requests: [
          {
            method: "POST",
            setupRequest: (req, context) => ({
              ...req,
              path: `/v1/learner/quizzes/${q.moduleId}/attempts`,
              headers: { ...json, authorization: `Bearer ${slot(context).token}` },
              body: JSON.stringify({ course_id: q.courseId, placement_id: q.placementId }),
            }),
            onResponse: (status, body, context) => {
              if (status < 300) slot(context).attempt = JSON.parse(body).id;
            },
          },
          {
            method: "POST",
            setupRequest: (req, context) => ({
              ...req,
              path: `/v1/learner/attempts/${slot(context).attempt}/submit`,
              headers: { authorization: `Bearer ${slot(context).token}` },
            }),
          },
        ],
      };
    },
  },
  {
    name: "xAPI statements POST (50)",
    kind: "write",
    unit: "statements/s",
    what:
      "POST /xapi/statements (HTTP Basic, LRS credential) with 50 new statements per request, 50 agents and " +
      "activities each (rate = req/s x 50)",
    requires: ["/v1/admin/lrs-credentials"],
    needs: xapiSeeded,
    load: (ctx) => {
      let n = 0;
      return {
        requests: [
          {
            method: "POST",
            setupRequest: (req) => {
              const batch = Array.from({ length: 50 }, () => {
                n++;
                return xapiStatement(`p${n % 5000}@bench.test`, `https://bench.test/activities/p${n % 100}`);
              });
              return { ...req, path: "/xapi/statements", headers: xapiHeaders(ctx), body: JSON.stringify(batch) };
            },
          },
        ],
      };
    },
  },
  {
    name: "xAPI statements GET filtered",
    kind: "read",
    what:
      "GET /xapi/statements?agent=..&verb=..&activity=..&since=..&limit=20: one agent's statements about one " +
      "activity among the size's statements (1,000 agents, 100 activities)",
    requires: ["/v1/admin/lrs-credentials"],
    needs: xapiSeeded,
    load: (ctx) => {
      let n = 0;
      return {
        requests: [
          {
            method: "GET",
            setupRequest: (req) => {
              n++;
              const params = new URLSearchParams({
                agent: JSON.stringify({ mbox: `mailto:x${n % 1000}@bench.test` }),
                verb: XAPI_VERB,
                activity: `https://bench.test/activities/${n % 100}`,
                since: "2000-01-01T00:00:00Z",
                limit: "20",
              });
              return { ...req, path: `/xapi/statements?${params}`, headers: xapiHeaders(ctx) };
            },
          },
        ],
      };
    },
  },
  {
    name: "media download with Range",
    kind: "read",
    what:
      "GET /media/{tenant_id}/{id}/{name}?expires=..&signature=.. (a signed URL, no credential) of a 1 MiB PDF " +
      "with Range: bytes=0-65535: 206 with 64 KiB streamed from R2",
    requires: ["/media/{tenant_id}/{id}/{name}", "/v1/admin/media/{id}/download-url"],
    needs: (ctx) =>
      ctx.seeded.media?.path
        ? null
        : `the bench file could not be seeded: ${ctx.seeded.media?.error ?? "no media API"}`,
    load: (ctx) => ({
      requests: [{ method: "GET", path: ctx.seeded.media.path, headers: { range: "bytes=0-65535" } }],
    }),
  },
];

function xapiSeeded(ctx) {
  const xapi = ctx.seeded.xapi;
  return xapi?.auth ? null : `the LRS could not be seeded: ${xapi?.error ?? "no xAPI module in this build"}`;
}

function xapiHeaders(ctx) {
  return { ...json, authorization: ctx.seeded.xapi.auth, "x-experience-api-version": "1.0.3" };
}

function quizSeeded(ctx) {
  const quiz = ctx.seeded.quiz;
  return quiz?.moduleId ? null : `the bench quiz could not be seeded: ${quiz?.error ?? "no question bank in the API"}`;
}

async function startAttempt(ctx, token) {
  const q = ctx.seeded.quiz;
  return ctx.call("POST", `/v1/learner/quizzes/${q.moduleId}/attempts`, {
    token,
    body: { course_id: q.courseId, placement_id: q.placementId },
  });
}

/** Receiver on 127.0.0.1 counting deliveries; K enroll calls of 100 learners; time until all K*100 arrived. */
async function webhookFanOut(ctx) {
  const { createServer } = await import("node:http");
  // Only deliveries about the courses enrolled here count (events of earlier scenarios may still be queued).
  const courses = new Set();
  let received = 0;
  let lastAt = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const course = /"course_id":(\d+)/.exec(Buffer.concat(chunks).toString())?.[1];
      if (course && courses.has(Number(course))) {
        received++;
        lastAt = performance.now();
      }
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const port = server.address().port;
  try {
    const hook = await ctx.call("POST", "/v1/admin/webhooks", {
      token: ctx.seeded.adminKey,
      body: { url: `http://127.0.0.1:${port}/hook`, event_types: ["enrollment.created"] },
    });
    const calls = ctx.smoke ? 2 : 10;
    const expected = calls * ctx.pool.length;
    const targets = Array.from({ length: calls }, () => ctx.nextCourse());
    for (const id of targets) courses.add(id);
    const started = performance.now();
    await Promise.all(
      targets.map((id) =>
        ctx.call("POST", `/v1/admin/courses/${id}/enrollments`, {
          token: ctx.seeded.adminKey,
          body: { learner_ids: ctx.pool },
        }),
      ),
    );
    const deadline = performance.now() + (ctx.smoke ? 60_000 : 180_000);
    while (received < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await ctx.call("DELETE", `/v1/admin/webhooks/${hook.id}`, { token: ctx.seeded.adminKey, expect: [200, 204] });
    const seconds = ((received ? lastAt : performance.now()) - started) / 1000;
    return {
      rate: Math.round((received / seconds) * 10) / 10,
      detail: `${received}/${expected} events delivered in ${seconds.toFixed(1)} s`,
      ok: received === expected,
    };
  } finally {
    server.close();
  }
}
