#!/usr/bin/env node
// npm run bench [-- --smoke] [-- --size small|medium|large[,..]] [-- --compare <results.json>] [-- --ref <git-ref>]
//               [-- --duration <s>] [-- --connections <n>] [-- --only <scenario,..>]
// See bench/README.md. Everything runs on 127.0.0.1 in workerd (wrangler dev) with its own state directory.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { budgets, compare, markdown } from "./lib/report.mjs";
import { SCENARIOS } from "./lib/scenarios.mjs";
import { client, login, POOL, SIZES, seedApi, seedBulk, WALKERS, XAPI } from "./lib/seed.mjs";
import {
  bundleSize,
  d1Json,
  instanceConfig,
  migrate,
  REPO,
  sourceTree,
  startupProfile,
  startWorker,
  versions,
} from "./lib/server.mjs";

const { values: opts } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    size: { type: "string" },
    compare: { type: "string" },
    ref: { type: "string" },
    duration: { type: "string" },
    connections: { type: "string", default: "10" },
    only: { type: "string" },
    out: { type: "string", default: join(REPO, "bench/results") },
    keep: { type: "boolean", default: false },
  },
});

const sizes = (opts.size ?? (opts.smoke ? "small" : "small,medium,large")).split(",");
for (const s of sizes) if (!SIZES[s]) throw new Error(`Unknown size ${s} (small, medium, large)`);
// Smoke: the harness check `npm test` runs after the unit tests, so it is as short as a working check can be.
const duration = Number(opts.duration ?? (opts.smoke ? 2 : 10));
const warmup = opts.smoke ? 0 : 2;
const baselineSeconds = opts.smoke ? duration : Math.max(3, Math.round(duration / 2));
const connections = Number(opts.connections);
const only = opts.only?.split(",").map((s) => s.trim().toLowerCase());
const runId = new Date().toISOString().replace(/[:.]/g, "-");
const workDir = join(tmpdir(), `lectern-bench-${runId}`);
mkdirSync(workDir, { recursive: true });
const secrets = {
  PLATFORM_ADMIN_TOKEN: `plt_bench_${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`,
  JWT_SECRET: Array.from({ length: 4 }, () => Math.random().toString(36).slice(2)).join("") + "x".repeat(32),
  ENVIRONMENT: "development",
};
const log = (...args) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args);

/** autocannon at fixed concurrency for a fixed time, after a short warm-up; answers req/s and p50/p99 in ms. */
async function drive(url, { expect304 = false, warm = warmup, ...options }, seconds = duration) {
  // A request slower than 60 s counts as an error (autocannon's default is 10 s: slow writes on a loaded machine).
  const common = { url, connections, timeout: 60, ...options };
  if (warm > 0) {
    await autocannon({ ...common, duration: warm });
    // The warm-up's last requests are still being answered when autocannon stops; let them finish, or a
    // walker's next request (a quiz start) races its own unfinished one (a 409 that is the harness's doing).
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const r = await autocannon({ ...common, duration: seconds });
  const total = r["1xx"] + r["2xx"] + r["3xx"] + r["4xx"] + r["5xx"];
  return {
    ...(expect304 ? { expected_status: 304, status_304: r["3xx"] } : {}),
    rps: Math.round(r.requests.average * 10) / 10,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    requests: total,
    non_2xx: r.non2xx,
    status_codes: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([code, v]) => [code, v.count])),
    errors: r.errors + r.timeouts,
  };
}

/**
 * After a scenario, D1 may still be working through requests the client gave up on (and queues through events):
 * wait until a single request that reads D1 answers within 500 ms again (at most 120 s), so the next scenario
 * starts on an idle Worker.
 */
async function settle(url) {
  const deadline = performance.now() + 120_000;
  await new Promise((r) => setTimeout(r, opts.smoke ? 100 : 1000));
  while (performance.now() < deadline) {
    const started = performance.now();
    try {
      const res = await fetch(`${url}/v1/public/catalog?per_page=1`, {
        headers: { "x-tenant": "bench" },
        signal: AbortSignal.timeout(30_000),
      });
      await res.arrayBuffer();
      if (performance.now() - started < 500) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
  }
  log("the Worker did not settle within 120 s");
}

async function availablePaths(url) {
  const doc = await (await fetch(`${url}/openapi.json`)).json();
  return new Set(Object.keys(doc.paths ?? {}));
}

/** The bulk xAPI loader (lib/seed.mjs XAPI), when the xAPI module's table exists in this source tree. */
async function xapiTable(config, persistTo, template) {
  const rows = (await d1Json(config, persistTo, "SELECT name FROM sqlite_master WHERE type = 'table'"))[0].results;
  return template.seeded.xapi?.templateId && rows.some((r) => r.name === XAPI.table) ? XAPI : null;
}

/**
 * Migrations and the API-made objects are the same at every size: made once on a template state directory that
 * each size copies before its bulk load.
 */
async function seedTemplate(sourceDir) {
  const dir = join(workDir, "template");
  const persistTo = join(dir, "state");
  const config = instanceConfig(sourceDir, join(dir, "config"), secrets);
  await migrate(config, persistTo);
  const worker = await startWorker({ config, persistTo, readyPath: "/v1/ping", name: "lectern" });
  const started = performance.now();
  try {
    const seeded = await seedApi(worker.url, secrets.PLATFORM_ADMIN_TOKEN);
    const apiSeconds = Math.round((performance.now() - started) / 100) / 10;
    log(`migrated and seeded through the API (${apiSeconds} s)`);
    return { seeded, apiSeconds, persistTo };
  } finally {
    await worker.stop();
  }
}

async function runSize(size, sourceDir, baseline, template) {
  log(`== ${size}: ${JSON.stringify(SIZES[size])}`);
  const dir = join(workDir, size);
  const persistTo = join(dir, "state");
  const config = instanceConfig(sourceDir, join(dir, "config"), secrets);
  cpSync(template.persistTo, persistTo, { recursive: true });
  const { seeded, apiSeconds } = template;
  const bulk = await seedBulk({
    config,
    persistTo,
    workDir: dir,
    seeded,
    size,
    xapiTable: await xapiTable(config, persistTo, template),
  });
  log(`bulk loaded in ${bulk.seconds} s; starting Lectern on the seeded state`);
  const worker = await startWorker({
    config,
    persistTo,
    readyPath: "/v1/ping",
    name: "lectern",
    logFile: join(dir, "wrangler.log"),
  });
  const results = [];
  // Production runs the cron every minute (outbox sweep, delivery re-queue); wrangler dev does not: fire it.
  const cron = setInterval(() => {
    fetch(`${worker.url}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*`)
      .then((res) => res.arrayBuffer())
      .catch(() => {});
  }, 60_000);
  try {
    const call = client(worker.url);
    const paths = await availablePaths(worker.url);
    const walkers = Array.from({ length: WALKERS }, (_, i) => bulk.userBase + i);
    for (const courseId of [seeded.courseId, seeded.quiz?.courseId].filter(Boolean)) {
      await call("POST", `/v1/admin/courses/${courseId}/enrollments`, {
        token: seeded.adminKey,
        body: { learner_ids: walkers },
      });
    }
    const tokens = {
      learner: await login(call, "learner@bench.test"),
      walkers: await Promise.all(walkers.map((_, i) => login(call, `l${i}@bench.test`))),
    };
    let course = 0;
    const ctx = {
      url: worker.url,
      call,
      seeded,
      bulk,
      tokens,
      size,
      smoke: opts.smoke,
      pool: Array.from({ length: POOL }, (_, i) => bulk.userBase + i),
      // Bulk courses the pool learners are not enrolled in, one per enroll call (wraps: then already enrolled).
      nextCourse: () => bulk.courseBase + (course++ % bulk.bulkCourses),
    };
    const pairs = [];
    for (const scenario of SCENARIOS) {
      const entry = { name: scenario.name, kind: scenario.kind, hot: !!scenario.hot, unit: scenario.unit ?? "req/s" };
      const missing = scenario.requires.filter((p) => !paths.has(p));
      if (only && !only.some((o) => scenario.name.toLowerCase().includes(o))) continue;
      const unmet = missing.length ? null : (scenario.needs?.(ctx) ?? null);
      if (missing.length || scenario.pending || unmet) {
        entry.status = "not yet available";
        entry.note = missing.length ? `no ${missing.join(", ")} in the API` : (scenario.pending ?? unmet);
        results.push(entry);
        continue;
      }
      // A smoke run checks the harness, not the speed: a scenario that fails once (a machine hiccup) gets one
      // more try before the run fails.
      const once = async () => {
        try {
          if (scenario.measure) {
            const m = await scenario.measure(ctx);
            Object.assign(entry, { status: m.ok ? "ok" : "failed", rate: m.rate, note: m.detail });
            log(`${scenario.name}: ${m.rate} ${entry.unit} (${m.detail})`);
          } else {
            // The baseline is measured right before each scenario (the machine's load drifts between scenarios).
            // (Smoke runs measure it once: their numbers are not kept, only the harness is checked.)
            const paired =
              opts.smoke && pairs.length
                ? pairs[0]
                : await drive(
                    baseline.url,
                    // The constant-JSON baseline needs a warm-up only before its first measurement of a size.
                    { requests: [{ method: "GET", path: "/" }], warm: pairs.length ? 0 : warmup },
                    baselineSeconds,
                  );
            pairs.push(paired);
            const m = await drive(worker.url, await scenario.load(ctx), Math.max(duration, scenario.minSeconds ?? 0));
            entry.baseline = { rps: paired.rps, p50_ms: paired.p50_ms, p99_ms: paired.p99_ms };
            entry.ratio_rps = Math.round((m.rps / paired.rps) * 1000) / 1000;
            entry.ratio_p99 = Math.round((m.p99_ms / Math.max(paired.p99_ms, 1)) * 100) / 100;
            const wrong = m.expected_status === 304 ? m.requests - m.status_304 : m.non_2xx;
            // A full run fails a scenario on any error or more than 1% unexpected answers. A smoke run checks the
            // harness (paths, credentials, seeded ids, bodies): it fails when no answer was the expected one, and
            // reports the rest (a loaded machine makes `wrangler dev` answer some requests 503).
            const failed = opts.smoke
              ? m.requests - wrong === 0
              : m.errors > 0 || wrong > m.requests * 0.01 || m.requests === 0;
            Object.assign(entry, { status: failed ? "failed" : "ok", ...m });
            if (m.requests === 0) {
              // Nothing completed (every request timed out): no figure to compare.
              entry.ratio_rps = undefined;
              entry.ratio_p99 = undefined;
            }
            if (scenario.unit === "statements/s") entry.rate = m.rps * 50;
            log(
              `${scenario.name}: ${m.rps} req/s p50 ${m.p50_ms} p99 ${m.p99_ms} (baseline ${paired.rps} req/s p99 ${paired.p99_ms})${failed ? ` FAILED (${m.non_2xx} non-2xx ${JSON.stringify(m.status_codes)}, ${m.errors} errors)` : ""}`,
            );
          }
        } catch (err) {
          entry.status = "failed";
          entry.note = String(err.message ?? err).slice(0, 300);
          log(`${scenario.name}: FAILED ${entry.note}`);
        }
      };
      await once();
      if (opts.smoke && entry.status === "failed") {
        log(`${scenario.name}: failed in a smoke run, trying once more`);
        await settle(worker.url);
        await once();
      }
      results.push(entry);
      await settle(worker.url);
    }
    const mean = (key) => Math.round((pairs.reduce((sum, p) => sum + p[key], 0) / Math.max(pairs.length, 1)) * 10) / 10;
    const base = {
      rps: mean("rps"),
      p50_ms: mean("p50_ms"),
      p99_ms: mean("p99_ms"),
      min_rps: Math.min(...pairs.map((p) => p.rps)),
      max_rps: Math.max(...pairs.map((p) => p.rps)),
    };
    return {
      size,
      data: {
        courses: bulk.courses,
        learners: bulk.learners,
        enrollments: bulk.enrollments,
        xapi_statements: bulk.xapi_statements,
      },
      seed_seconds: { api: apiSeconds, bulk: bulk.seconds },
      startup_ms: worker.startupMs,
      baseline: base,
      scenarios: results,
    };
  } finally {
    clearInterval(cron);
    await worker.stop();
  }
}

async function main() {
  const started = performance.now();
  const meta = await versions();
  const sourceDir = await sourceTree(opts.ref, workDir);
  log(`source: ${opts.ref ? `${opts.ref} (git archive)` : "working tree"}; work dir ${workDir}`);
  const bundle = await bundleSize(sourceDir, join(workDir, "bundle"));
  log(`bundle: ${(bundle.gzip_bytes / 1024).toFixed(1)} KiB gzip (${(bundle.bytes / 1024).toFixed(1)} KiB raw)`);
  let profile = null;
  try {
    profile = await startupProfile(sourceDir, join(workDir, "startup.cpuprofile"));
    log(`start-up CPU profile: ${profile.busy_ms} ms busy in ${profile.profile_ms} ms`);
  } catch (err) {
    log(`wrangler check startup failed: ${String(err.message).slice(0, 200)}`);
  }
  // Started from a copy, so wrangler's .wrangler/ scratch directory stays out of the source tree.
  cpSync(join(REPO, "bench/baseline"), join(workDir, "baseline"), {
    recursive: true,
    filter: (src) => !src.includes(".wrangler"),
  });
  const baseline = await startWorker({ config: join(workDir, "baseline/wrangler.toml"), name: "baseline" });
  log(`baseline Worker up in ${baseline.startupMs} ms`);
  const runs = [];
  try {
    const template = await seedTemplate(sourceDir);
    for (const size of sizes) runs.push(await runSize(size, sourceDir, baseline, template));
  } finally {
    await baseline.stop();
  }
  const result = {
    run_id: runId,
    mode: opts.smoke ? "smoke" : "full",
    source: opts.ref ? { ref: opts.ref } : { ref: "working tree" },
    ...meta,
    settings: { connections, duration_seconds: duration, warmup_seconds: warmup, sizes },
    bundle,
    startup_profile: profile,
    startup_ms: { baseline: baseline.startupMs, lectern: Object.fromEntries(runs.map((r) => [r.size, r.startup_ms])) },
    runs,
    total_seconds: Math.round((performance.now() - started) / 1000),
  };
  result.budgets = budgets(result);
  let comparison;
  if (opts.compare) {
    comparison = compare(JSON.parse(readFileSync(opts.compare, "utf8")), result);
    result.comparison = { against: opts.compare, ...comparison };
  }
  const md = markdown(result);
  mkdirSync(opts.out, { recursive: true });
  const name = `${runId}${opts.smoke ? "-smoke" : ""}`;
  writeFileSync(join(opts.out, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(opts.out, `${name}.md`), md);
  console.log(`\n${md}`);
  log(`results: bench/results/${name}.json and .md (${result.total_seconds} s)`);
  if (!opts.keep) rmSync(workDir, { recursive: true, force: true });
  const failed = runs.flatMap((r) =>
    r.scenarios.filter((s) => s.status === "failed").map((s) => `${r.size}: ${s.name}`),
  );
  if (failed.length) {
    console.error(`Failed scenarios: ${failed.join("; ")}`);
    process.exitCode = 1;
  }
  if (comparison?.regressions.length) {
    console.error(`Regressions (ratio more than 20% worse): ${comparison.regressions.map((r) => r.key).join("; ")}`);
    process.exitCode = 1;
  }
}

await main();
