#!/usr/bin/env node
// One-command local set-up (`npm run setup`, and the first half of `npm run dev`):
//   1. .dev.vars with random secrets, if missing
//   2. local D1 migrations
//   3. a demo academy seeded through the real API (idempotent: re-running reuses what exists)
//   4. .lectern/dev-credentials.json, printed
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { unstable_dev } from "wrangler";

const BASE_URL = "http://127.0.0.1:8787";
const CREDENTIALS = ".lectern/dev-credentials.json";
const token = (bytes) => randomBytes(bytes).toString("base64url");

function readVars() {
  if (!existsSync(".dev.vars")) {
    writeFileSync(
      ".dev.vars",
      [
        "# Local secrets for wrangler dev (written by npm run setup; never commit this file).",
        `PLATFORM_ADMIN_TOKEN=plt_${token(24)}`,
        `JWT_SECRET=${token(48)}`,
        "ENVIRONMENT=development",
        "",
      ].join("\n"),
    );
    console.log("Wrote .dev.vars with new random secrets.");
  }
  // wrangler.toml says production (the safe default of a deploy); local runs say development, which lets
  // webhooks reach loopback receivers. Older .dev.vars files get the line added.
  if (!/^ENVIRONMENT=/m.test(readFileSync(".dev.vars", "utf8"))) {
    appendFileSync(".dev.vars", "ENVIRONMENT=development\n");
  }
  return Object.fromEntries(
    readFileSync(".dev.vars", "utf8")
      .split("\n")
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1).trim()]),
  );
}

function migrate() {
  execFileSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local"], {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, CI: "1" },
  });
}

function previousCredentials() {
  try {
    return JSON.parse(readFileSync(CREDENTIALS, "utf8"));
  } catch {
    return undefined;
  }
}

async function seed(worker, platformToken) {
  const call = async (method, path, { auth, body, headers = {} } = {}) => {
    const res = await worker.fetch(path, {
      method,
      headers: {
        ...(auth ? { authorization: `Bearer ${auth}` } : {}),
        ...(body ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const must = (result, what) => {
    if (result.status >= 300) throw new Error(`${what} failed: ${result.status} ${JSON.stringify(result.body)}`);
    return result.body;
  };
  const previous = previousCredentials();

  // The academy, and an admin API key that works.
  let tenant = must(await call("GET", "/v1/platform/tenants?slug=demo", { auth: platformToken }), "List tenants")
    .data[0];
  let adminKey = previous?.admin_api_key;
  const owner = {
    name: "Demo Owner",
    email: "owner@demo.lectern.test",
    password: previous?.owner?.password ?? token(12),
  };
  if (!tenant) {
    const created = must(
      await call("POST", "/v1/platform/tenants", {
        auth: platformToken,
        body: { name: "Demo Academy", slug: "demo", owner },
      }),
      "Create tenant",
    );
    tenant = created;
    adminKey = created.owner_api_key.key;
  } else if (!adminKey || (await call("GET", "/v1/admin/me", { auth: adminKey })).status !== 200) {
    adminKey = must(
      await call("POST", `/v1/platform/tenants/${tenant.id}/api-keys`, {
        auth: platformToken,
        body: { name: "Dev key" },
      }),
      "Issue owner key",
    ).key;
  }

  // A learner with a known password.
  const learner = { email: "learner@demo.lectern.test", password: previous?.learner?.password ?? token(12) };
  const existing = await call("GET", `/v1/admin/learners/by-email/${encodeURIComponent(learner.email)}`, {
    auth: adminKey,
  });
  if (existing.status === 404) {
    must(
      await call("POST", "/v1/admin/learners", {
        auth: adminKey,
        body: { name: "Demo Learner", email: learner.email, password: learner.password, email_verified: true },
      }),
      "Create learner",
    );
  } else {
    const probe = await call("POST", "/v1/learner/auth/login", {
      headers: { "x-tenant": "demo" },
      body: learner,
    });
    if (probe.status !== 200) {
      must(
        await call("PATCH", `/v1/admin/learners/${must(existing, "Find learner").id}`, {
          auth: adminKey,
          body: { password: learner.password },
        }),
        "Reset learner password",
      );
    }
  }

  // A category and a course in it.
  const categories = must(
    await call("GET", "/v1/admin/categories?type=course&per_page=100", { auth: adminKey }),
    "List categories",
  );
  const category =
    categories.data.find((c) => c.slug === "getting-started") ??
    must(
      await call("POST", "/v1/admin/categories", {
        auth: adminKey,
        body: { type: "course", name: "Getting started", slug: "getting-started" },
      }),
      "Create category",
    );
  const courses = must(
    await call("GET", "/v1/admin/courses?q=Welcome&per_page=100", { auth: adminKey }),
    "List courses",
  );
  const course =
    courses.data.find((c) => c.slug === "welcome-to-lectern") ??
    must(
      await call("POST", "/v1/admin/courses", {
        auth: adminKey,
        body: {
          name: "Welcome to Lectern",
          slug: "welcome-to-lectern",
          subtitle: "A demo course",
          description: "The course the local set-up creates so there is something to list.",
          category_ids: [category.id],
        },
      }),
      "Create course",
    );
  await seedCurriculum({ call, must }, adminKey, course);
  // The demo learner is enrolled, so "my courses" and the outline have something to show (again: a no-op).
  must(
    await call("POST", `/v1/admin/courses/${course.id}/enrollments`, {
      auth: adminKey,
      body: { emails: [learner.email] },
    }),
    "Enroll the demo learner",
  );
  return {
    base_url: BASE_URL,
    platform_token: platformToken,
    tenant: { id: tenant.id, slug: tenant.slug },
    admin_api_key: adminKey,
    owner: { email: owner.email, password: owner.password },
    learner,
  };
}

/** Two sections with five modules of different types, a learning path, both published (once). */
async function seedCurriculum({ call, must }, adminKey, course) {
  const outline = must(
    await call("GET", `/v1/admin/courses/${course.id}/curriculum`, { auth: adminKey }),
    "Read curriculum",
  );
  if (outline.sections.length === 0) {
    const plan = [
      [
        "Start here",
        [
          { type: "text", name: "How this academy works", settings: { body: "Welcome! Read this first." } },
          { type: "video", name: "A two-minute tour", settings: { url: "https://videos.example.com/tour.mp4" } },
          { type: "pdf", name: "Cheat sheet", settings: { url: "https://files.example.com/cheat-sheet.pdf" } },
        ],
      ],
      [
        "Check yourself",
        [
          { type: "quiz", name: "Warm-up quiz" },
          { type: "assignment", name: "Introduce yourself" },
        ],
      ],
    ];
    for (const [name, modules] of plan) {
      const section = must(
        await call("POST", `/v1/admin/courses/${course.id}/sections`, { auth: adminKey, body: { name } }),
        "Create section",
      );
      for (const module of modules) {
        const created = must(
          await call("POST", "/v1/admin/modules", { auth: adminKey, body: module }),
          "Create module",
        );
        must(
          await call("POST", `/v1/admin/courses/${course.id}/sections/${section.id}/placements`, {
            auth: adminKey,
            body: { module_id: created.id },
          }),
          "Place module",
        );
      }
    }
  }
  if (course.status !== "published") {
    must(await call("POST", `/v1/admin/courses/${course.id}/publish`, { auth: adminKey }), "Publish course");
  }
  const paths = must(await call("GET", "/v1/admin/learning-paths?per_page=100", { auth: adminKey }), "List paths");
  if (!paths.data.some((p) => p.slug === "first-steps")) {
    const path = must(
      await call("POST", "/v1/admin/learning-paths", {
        auth: adminKey,
        body: { name: "First steps", slug: "first-steps", steps: [{ course_id: course.id }] },
      }),
      "Create learning path",
    );
    must(await call("POST", `/v1/admin/learning-paths/${path.id}/publish`, { auth: adminKey }), "Publish path");
  }
}

const vars = readVars();
migrate();
const worker = await unstable_dev("src/index.ts", {
  config: "wrangler.toml",
  local: true,
  ip: "127.0.0.1",
  port: 0,
  logLevel: "warn",
  experimental: { disableExperimentalWarning: true, testMode: false },
});
try {
  const credentials = await seed(worker, vars.PLATFORM_ADMIN_TOKEN);
  mkdirSync(".lectern", { recursive: true });
  writeFileSync(CREDENTIALS, `${JSON.stringify(credentials, null, 2)}\n`);
  console.log(`\nDemo academy ready. Credentials (also in ${CREDENTIALS}):\n`);
  console.log(JSON.stringify(credentials, null, 2));
  console.log(`\nTry: curl -H "Authorization: Bearer ${credentials.admin_api_key}" ${BASE_URL}/v1/admin/courses`);
  console.log(`     curl -H "X-Tenant: demo" ${BASE_URL}/v1/public/catalog\n`);
} finally {
  await worker.stop();
}
