// Starting and stopping Workers under `wrangler dev` (workerd) on 127.0.0.1, each with its own config directory
// and --persist-to state (never the developer's .wrangler/state), and the wrangler commands the bench needs.
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const REPO = resolve(dirname(new URL(import.meta.url).pathname), "../..");
const WRANGLER = join(REPO, "node_modules/.bin/wrangler");
// CLOUDFLARE_CF_FETCH_ENABLED=false: miniflare would fetch Request.cf from the internet (and reload the runtime when that
// fails, which aborted requests mid-run); the bench stays on loopback.
const QUIET_ENV = {
  ...process.env,
  CI: "1",
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  NO_COLOR: "1",
  FORCE_COLOR: "0",
};

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

export async function wrangler(args, { cwd = REPO, timeout = 600_000 } = {}) {
  try {
    const { stdout } = await run(WRANGLER, args, { cwd, env: QUIET_ENV, timeout, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    throw new Error(`wrangler ${args.join(" ")} failed: ${err.stderr || err.stdout || err.message}`);
  }
}

/**
 * The source tree to benchmark: the working tree, or a committed revision exported with `git archive` (so other
 * people's uncommitted work in a shared tree stays out of the numbers). node_modules is linked, not copied.
 */
export async function sourceTree(ref, workDir) {
  if (!ref) return REPO;
  const dir = join(workDir, "source");
  mkdirSync(dir, { recursive: true });
  const { stdout: commit } = await run("git", ["rev-parse", "--verify", `${ref}^{commit}`], { cwd: REPO });
  await run("bash", ["-c", `git archive ${commit.trim()} | tar -x -C "${dir}"`], { cwd: REPO });
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
  return dir;
}

/**
 * A wrangler config of its own for a bench instance: the project's wrangler.toml with absolute paths, and a
 * .dev.vars beside it with the bench's secrets (wrangler reads .dev.vars next to the config it is given).
 */
export function instanceConfig(sourceDir, dir, vars) {
  mkdirSync(dir, { recursive: true });
  const toml = readFileSync(join(sourceDir, "wrangler.toml"), "utf8")
    .replace(/^main = "(.*)"$/m, (_, p) => `main = "${resolve(sourceDir, p)}"`)
    .replace(/^migrations_dir = "(.*)"$/m, (_, p) => `migrations_dir = "${resolve(sourceDir, p)}"`);
  writeFileSync(join(dir, "wrangler.toml"), toml);
  writeFileSync(
    join(dir, ".dev.vars"),
    `${Object.entries(vars)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n")}\n`,
  );
  return join(dir, "wrangler.toml");
}

/**
 * `wrangler dev` on 127.0.0.1. Resolves once `readyPath` answers 200, with the start-up time (spawn to that first
 * 200: bundling, workerd start, the Worker's global scope and the first request).
 */
export async function startWorker({ config, persistTo, readyPath = "/", name, logFile }) {
  const port = await freePort();
  const inspector = await freePort();
  const args = [
    "dev",
    "--config",
    config,
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspector),
    "--log-level",
    "warn",
    "--show-interactive-dev-session=false",
  ];
  if (persistTo) args.push("--persist-to", persistTo);
  const started = performance.now();
  const child = spawn(WRANGLER, args, {
    cwd: dirname(config),
    env: QUIET_ENV,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const log = [];
  const keep = (chunk) => {
    log.push(chunk.toString());
    if (log.length > 400) log.splice(0, 200);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  let exited = false;
  running.add(child);
  child.on("exit", () => {
    exited = true;
    running.delete(child);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = started + 180_000;
  for (;;) {
    if (exited) throw new Error(`${name}: wrangler dev exited:\n${log.join("")}`);
    if (performance.now() > deadline) {
      stop(child);
      throw new Error(`${name}: no 200 from ${readyPath} within 180 s:\n${log.join("")}`);
    }
    try {
      const res = await fetch(url + readyPath, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const startupMs = Math.round(performance.now() - started);
  return {
    name,
    url,
    startupMs,
    log: () => log.join(""),
    async stop() {
      if (logFile) writeFileSync(logFile, log.join(""));
      await stop(child);
    },
  };
}

/** Workers this process started: stopped (their whole process group) if the bench is interrupted. */
const running = new Set();
process.once("exit", () => {
  for (const child of running) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
  }
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    for (const child of running) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {}
    }
    process.exit(130);
  });
}

function stop(child) {
  return new Promise((ok) => {
    if (child.exitCode !== null) return ok();
    child.once("exit", () => ok());
    try {
      process.kill(-child.pid, "SIGTERM"); // the process group wrangler started (workerd included)
    } catch {
      ok();
    }
    setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
      ok();
    }, 5000).unref();
  });
}

/** Runs SQL against an instance's local D1 (its --persist-to state) from a file. */
export async function d1File(config, persistTo, file) {
  return wrangler(["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--config", config, "--file", file], {
    cwd: dirname(config),
  });
}

/** Runs one or more statements and answers the JSON results (one entry per statement). */
export async function d1Json(config, persistTo, command) {
  const out = await wrangler(
    ["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--config", config, "--json", "--command", command],
    { cwd: dirname(config) },
  );
  return JSON.parse(out.slice(out.indexOf("[")));
}

export async function migrate(config, persistTo) {
  await wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo, "--config", config], {
    cwd: dirname(config),
  });
}

/** `wrangler deploy --dry-run --outdir`: the bundle the platform would receive, and its gzip size. */
export async function bundleSize(sourceDir, outDir) {
  const { gzipSync } = await import("node:zlib");
  const { readdirSync, statSync } = await import("node:fs");
  await wrangler(["deploy", "--dry-run", "--outdir", outDir, "--config", join(sourceDir, "wrangler.toml")], {
    cwd: sourceDir,
  });
  let raw = 0;
  let gzip = 0;
  for (const file of readdirSync(outDir)) {
    const path = join(outDir, file);
    if (!statSync(path).isFile() || file.endsWith(".map") || file === "README.md") continue;
    const bytes = readFileSync(path);
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  return { bytes: raw, gzip_bytes: gzip };
}

/**
 * `wrangler check startup` on the built bundle: a CPU profile of the Worker's start-up (module evaluation, global
 * scope) in local workerd. Answers the profile's span and the time not idle, in ms.
 */
export async function startupProfile(sourceDir, outFile) {
  await wrangler(["check", "startup", "--config", join(sourceDir, "wrangler.toml"), "--outfile", outFile], {
    cwd: sourceDir,
  });
  const profile = JSON.parse(readFileSync(outFile, "utf8"));
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === "(idle)").map((n) => n.id));
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++)
    if (!idle.has(profile.samples[i])) busy += profile.timeDeltas[i] ?? 0;
  return { profile_ms: Math.round((profile.endTime - profile.startTime) / 1000), busy_ms: Math.round(busy / 1000) };
}

export async function versions() {
  const os = await import("node:os");
  const pkg = (name) => {
    try {
      return JSON.parse(readFileSync(join(REPO, "node_modules", name, "package.json"), "utf8")).version;
    } catch {
      return null;
    }
  };
  let commit = null;
  let dirty = null;
  try {
    commit = (await run("git", ["rev-parse", "HEAD"], { cwd: REPO })).stdout.trim();
    dirty = (await run("git", ["status", "--porcelain"], { cwd: REPO })).stdout.trim().length > 0;
  } catch {}
  return {
    machine: {
      hostname: os.hostname(),
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      cpus: os.cpus().length,
      cpu_model: os.cpus()[0]?.model ?? null,
      memory_gib: Math.round(os.totalmem() / 2 ** 30),
      load_average_at_start: os.loadavg().map((n) => Math.round(n * 100) / 100),
    },
    node: process.version,
    wrangler: pkg("wrangler"),
    workerd: pkg("workerd"),
    miniflare: pkg("miniflare"),
    autocannon: pkg("autocannon"),
    git: { head: commit, working_tree_dirty: dirty },
  };
}

export { existsSync };
