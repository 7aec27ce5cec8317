/**
 * Schema-driven fuzzing of every operation of the live openapi.json: valid requests generated from the schemas
 * (arbitraries.ts) and invalid or hostile ones made from them (mutations.ts, parameter-mutations.ts: wrong types,
 * missing fields, oversized strings and arrays, values at their limits, unicode edge cases, injection strings,
 * huge numbers, unknown fields, deep nesting, malformed JSON, wrong content types, empty and oversized bodies, bad
 * path, query and header values). Every answer is held to the contract (harness.ts): no 5xx, a documented status,
 * problem+json errors matching Problem with the request id, 2xx bodies matching their schema, and requests the
 * schema rejects never accepted.
 *
 * Deterministic (fixed seed). Cases per operation: the FUZZ_RUNS binding (8 in `npm test`, 300 in `npm run fuzz`).
 */
import { env } from "cloudflare:test";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api } from "../helpers/api";
import { type RequestParts, requestArbitrary } from "./arbitraries";
import { createFixture, type Fixture } from "./fixture";
import { contractViolations, describeRequest, send } from "./harness";
import { MUTATION_KINDS, type MutationContext, type Variant } from "./mutations";
import { jsonBodySchema, type OpenApiDocument, type Operation, operationsOf, SchemaValidators } from "./openapi";

const SEED = 20_260_702;
const RUNS = Math.max(1, Number((env as unknown as { FUZZ_RUNS?: string }).FUZZ_RUNS ?? "8"));
/** Invalid cases per mutation kind and operation. */
const INVALID_RUNS = Math.max(1, Math.ceil(RUNS / 8));

const doc = (await api("GET", "/openapi.json")).body as OpenApiDocument;
const operations = operationsOf(doc);
const validators = new SchemaValidators(doc);
const ctx: MutationContext = { doc, validators };

const stats = { requests: 0, valid: 0, invalid: 0, mustReject: 0, valid2xx: 0, rejected: 0, failures: 0 };
const covered = new Set<string>();
const failureLines: string[] = [];
let fixture: Fixture;

/** FNV-1a, so each operation and kind has its own deterministic seed. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Checks a generated valid request against the schemas, so a generator bug is not blamed on the API. */
function generatorProblems(operation: Operation, parts: RequestParts): string[] {
  const schema = jsonBodySchema(operation);
  if (!schema || parts.body?.kind !== "json") return [];
  const check = validators.check(schema, parts.body.value);
  return check.valid ? [] : [`generator made an invalid body: ${check.errors.join("; ")}`];
}

async function runProperty(operation: Operation, kind: string, arbitrary: fc.Arbitrary<Variant>, numRuns: number) {
  const details = await fc.check(
    fc.asyncProperty(arbitrary, async (variant) => {
      const token = await fixture.credential(operation);
      const res = await send(operation, variant.parts, token);
      stats.requests++;
      if (variant.kind === "valid") {
        stats.valid++;
        if (res.status >= 200 && res.status < 300) stats.valid2xx++;
      } else {
        stats.invalid++;
        if (variant.mustReject) stats.mustReject++;
        if (res.status >= 400) stats.rejected++;
      }
      const problems = [
        ...(variant.kind === "valid" ? generatorProblems(operation, variant.parts) : []),
        ...contractViolations(validators, operation, res, variant.mustReject),
      ];
      if (problems.length > 0) {
        const what = variant.detail ? `${variant.kind} (${variant.detail})` : variant.kind;
        throw new Error(`${problems.join("; ")}\n  ${what}: ${describeRequest(res, variant.parts)}`);
      }
    }),
    { seed: (SEED ^ hash(`${operation.key} ${kind}`)) | 0, numRuns },
  );
  if (details.failed) {
    stats.failures++;
    const error =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    return [`${operation.key} [${kind}] ${error}`];
  }
  return [];
}

async function fuzz(operation: Operation): Promise<string[]> {
  const valid = requestArbitrary(doc, operation, { hints: fixture.hints, headers: fixture.headerHints });
  const variants = valid.map((parts): Variant => ({ kind: "valid", detail: "", parts, mustReject: false }));
  const failures = await runProperty(operation, "valid", variants, RUNS);
  for (const kind of MUTATION_KINDS) {
    const built = kind.build(operation, valid, ctx);
    if (!built) continue;
    const arbitraries = Array.isArray(built) ? built : [built];
    const runs = Math.min(kind.maxRuns ?? INVALID_RUNS, INVALID_RUNS);
    for (const [i, arbitrary] of arbitraries.entries()) {
      const name = arbitraries.length > 1 ? `${kind.name} #${i + 1}` : kind.name;
      failures.push(...(await runProperty(operation, name, arbitrary, Math.ceil(runs / arbitraries.length))));
    }
  }
  return failures;
}

beforeAll(async () => {
  fixture = await createFixture();
}, 120_000);

afterAll(() => {
  const total = operations.length;
  const percent = total ? Math.round((covered.size / total) * 100) : 0;
  console.log(
    `[fuzz] operations covered: ${covered.size}/${total} (${percent}%) | requests sent: ${stats.requests} ` +
      `(valid ${stats.valid}, ${stats.valid2xx} answered 2xx; invalid ${stats.invalid}, ${stats.mustReject} of them ` +
      `schema-invalid, ${stats.rejected} refused) | ` +
      `failures: ${stats.failures} | seed ${SEED}, FUZZ_RUNS=${RUNS}`,
  );
  if (failureLines.length) console.log(failureLines.join("\n\n"));
});

describe("fuzzing every operation of openapi.json", () => {
  it("finds the operations to fuzz", () => {
    expect(operations.length).toBeGreaterThan(30);
  });

  for (const operation of operations) {
    it(
      operation.key,
      async () => {
        const failures = await fuzz(operation);
        covered.add(operation.key);
        failureLines.push(...failures);
        expect(failures, failures.join("\n\n")).toEqual([]);
      },
      60_000 + RUNS * 2_000,
    );
  }

  it("exercised 100% of the operations in openapi.json", () => {
    expect([...covered].sort()).toEqual(operations.map((o) => o.key).sort());
  });
});
