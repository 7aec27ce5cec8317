// The last step of `npm test`: the test suite (vitest in workerd) and the benchmark harness smoke
// (`bench/run.mjs --smoke`) side by side. Both spend much of their time waiting (workerd start-ups, migrations,
// wrangler), so on a 2-core machine together they take little longer than the suite alone. The suite's output
// streams as it runs; the smoke's is printed when both are done. The exit code is non-zero if either failed.
import { spawn } from "node:child_process";

function run(command, args, { capture }) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: capture ? ["ignore", "pipe", "pipe"] : "inherit" });
    const chunks = [];
    if (capture) {
      child.stdout.on("data", (chunk) => chunks.push(chunk));
      child.stderr.on("data", (chunk) => chunks.push(chunk));
    }
    child.on("error", (err) => {
      chunks.push(Buffer.from(`${err.message}\n`));
      resolve({ code: 1, output: Buffer.concat(chunks).toString() });
    });
    child.on("exit", (code, signal) =>
      resolve({ code: code ?? (signal ? 1 : 0), output: Buffer.concat(chunks).toString() }),
    );
  });
}

const started = performance.now();
const [suite, smoke] = await Promise.all([
  run("npx", ["vitest", "run"], { capture: false }),
  run("node", ["bench/run.mjs", "--smoke"], { capture: true }),
]);
console.log("\n==== bench harness smoke (bench/run.mjs --smoke) ====");
console.log(smoke.output.trimEnd());
const seconds = Math.round((performance.now() - started) / 1000);
console.log(
  `\n==== test suite: ${suite.code === 0 ? "passed" : `FAILED (exit ${suite.code})`}; bench smoke: ${smoke.code === 0 ? "passed" : `FAILED (exit ${smoke.code})`}; ${seconds} s ====`,
);
process.exit(suite.code !== 0 ? suite.code : smoke.code);
