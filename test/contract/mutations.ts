/**
 * Invalid (and hostile) variants of valid requests: the body kinds here, the parameter kinds in
 * parameter-mutations.ts. Each variant says whether the API must refuse it: the
 * oracle is the operation's own schema (a mutated value that still validates, such as an emoji in a free-text
 * name, may be accepted; one that does not validate must never get a 2xx).
 */
import fc from "fast-check";
import { type BodyPart, type RequestParts, typesOf, valueArbitrary } from "./arbitraries";
import {
  flatten,
  type JsonSchema,
  jsonBodySchema,
  type OpenApiDocument,
  type Operation,
  type SchemaValidators,
} from "./openapi";
import { PARAMETER_KINDS } from "./parameter-mutations";
import {
  HUGE_NUMBERS,
  INJECTION_STRINGS,
  LIMIT_FILLS,
  MALFORMED_JSON,
  RAW_NUMBERS,
  raw,
  rawLiteral,
  serializeJson,
  UNICODE_EDGE_CASES,
  WRONG_TYPES,
} from "./payloads";

export interface Variant {
  kind: string;
  /** What was changed, for failure messages. */
  detail: string;
  parts: RequestParts;
  /** The API must not answer 2xx. */
  mustReject: boolean;
}

export interface MutationContext {
  doc: OpenApiDocument;
  validators: SchemaValidators;
}

export interface MutationKind {
  name: string;
  /** Cap on cases per operation (for expensive, deterministic kinds). */
  maxRuns?: number;
  /**
   * The variants of this kind for the operation, or undefined when the kind does not apply. A list means each
   * of its arbitraries is run (the cases split among them): small fixed sets of bodies are all sent every time.
   */
  build(
    operation: Operation,
    valid: fc.Arbitrary<RequestParts>,
    ctx: MutationContext,
  ): fc.Arbitrary<Variant> | fc.Arbitrary<Variant>[] | undefined;
}

// ---- targets -------------------------------------------------------------------------------------------------

export interface FieldTarget {
  /** Property path from the body root; [] is the body itself. */
  path: string[];
  schema: JsonSchema;
  required: boolean;
}

/** Every property of a body schema (nested objects too, a few levels deep). */
export function fieldTargets(doc: OpenApiDocument, raw: JsonSchema, prefix: string[] = [], depth = 0): FieldTarget[] {
  const schema = flatten(doc, raw);
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).flatMap(([name, property]) => {
    const resolved = flatten(doc, property);
    const own: FieldTarget = { path: [...prefix, name], schema: resolved, required: required.has(name) };
    const nested = typesOf(resolved).includes("object") && depth < 3;
    return [own, ...(nested ? fieldTargets(doc, resolved, [...prefix, name], depth + 1) : [])];
  });
}

const clone = <T>(value: T): T => (value === undefined ? value : structuredClone(value));

function setAt(root: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const out = (root !== null && typeof root === "object" && !Array.isArray(root) ? clone(root) : {}) as Record<
    string,
    unknown
  >;
  let node = out;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node[key] = next !== null && typeof next === "object" && !Array.isArray(next) ? next : {};
    node = node[key] as Record<string, unknown>;
  }
  Object.defineProperty(node, path[path.length - 1], { value, enumerable: true, writable: true, configurable: true });
  return out;
}

function deleteAt(root: unknown, path: string[]): unknown {
  const out = clone(root) as Record<string, unknown>;
  let node: unknown = out;
  for (const key of path.slice(0, -1)) node = (node as Record<string, unknown> | undefined)?.[key];
  if (node && typeof node === "object") delete (node as Record<string, unknown>)[path[path.length - 1]];
  return out;
}

function hasPath(root: unknown, path: string[]): boolean {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== "object" || !Object.hasOwn(node, key)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

/** Does the JSON text of a body validate against the body schema? (undefined: cannot tell) */
function bodyValid(ctx: MutationContext, schema: JsonSchema, text: string): boolean | undefined {
  try {
    return ctx.validators.check(schema, JSON.parse(text)).valid;
  } catch {
    return undefined;
  }
}

/** A JSON body variant whose must-reject comes from the schema. */
function jsonVariant(
  ctx: MutationContext,
  operation: Operation,
  parts: RequestParts,
  kind: string,
  detail: string,
  value: unknown,
): Variant {
  const schema = jsonBodySchema(operation) as JsonSchema;
  const text = serializeJson(value);
  const body: BodyPart = { kind: "raw", text, contentType: "application/json" };
  return { kind, detail, parts: { ...parts, body }, mustReject: bodyValid(ctx, schema, text) === false };
}

const jsonBase = (parts: RequestParts) => (parts.body?.kind === "json" ? parts.body.value : {});

/** A valid request with a JSON body (form-encoded alternatives are mutated by the JSON kinds as JSON). */
function bodyKind(
  name: string,
  targetsOf: (operation: Operation, ctx: MutationContext) => FieldTarget[],
  payloads: (target: FieldTarget, ctx: MutationContext) => fc.Arbitrary<unknown> | undefined,
  maxRuns?: number,
): MutationKind {
  return {
    name,
    maxRuns,
    build(operation, valid, ctx) {
      if (!jsonBodySchema(operation)) return undefined;
      const targets = targetsOf(operation, ctx)
        .map((target) => ({ target, payload: payloads(target, ctx) }))
        .filter((t): t is { target: FieldTarget; payload: fc.Arbitrary<unknown> } => t.payload !== undefined);
      if (targets.length === 0) return undefined;
      return fc
        .tuple(
          valid,
          fc.constantFrom(...targets).chain((t) => t.payload.map((payload) => ({ target: t.target, payload }))),
        )
        .map(([parts, { target, payload }]) =>
          jsonVariant(
            ctx,
            operation,
            parts,
            name,
            `${target.path.join(".") || "(body)"} := ${preview(payload)}`,
            setAt(jsonBase(parts), target.path, payload),
          ),
        );
    },
  };
}

const preview = (value: unknown) => {
  const literal = rawLiteral(value);
  if (literal !== undefined) {
    return literal.length > 80 ? `${literal.slice(0, 40)}... (${literal.length} chars)` : literal;
  }
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 60)}... (${text.length} chars)` : text;
};

const allTargets = (operation: Operation, ctx: MutationContext): FieldTarget[] => [
  { path: [], schema: flatten(ctx.doc, jsonBodySchema(operation) as JsonSchema), required: true },
  ...fieldTargets(ctx.doc, jsonBodySchema(operation) as JsonSchema),
];
const fieldsOnly = (operation: Operation, ctx: MutationContext) =>
  fieldTargets(ctx.doc, jsonBodySchema(operation) as JsonSchema);
const ofType = (target: FieldTarget, ...types: string[]) => typesOf(target.schema).some((t) => types.includes(t));

const deepNesting = (depth: number) => raw(`${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`);

// ---- kinds ---------------------------------------------------------------------------------------------------

const wrongType = bodyKind("body: wrong type", allTargets, (target) => {
  const own = new Set(typesOf(target.schema));
  const wrong = [...own].flatMap((t) => WRONG_TYPES[t] ?? []);
  return wrong.length ? fc.constantFrom(...wrong) : undefined;
});

const missingRequired: MutationKind = {
  name: "body: missing required field",
  build(operation, valid, ctx) {
    if (!jsonBodySchema(operation)) return undefined;
    const required = fieldsOnly(operation, ctx).filter((t) => t.required);
    if (required.length === 0) return undefined;
    return fc.tuple(valid, fc.constantFrom(...required)).map(([parts, target]) => {
      const base = jsonBase(parts);
      // A nested required field only counts when its parent object is there.
      const present = hasPath(base, target.path.slice(0, -1));
      const value = present ? deleteAt(base, target.path) : deleteAt(base, target.path.slice(0, 1));
      return jsonVariant(ctx, operation, parts, this.name, `without ${target.path.join(".")}`, value);
    });
  },
};

const oversizedString = bodyKind("body: oversized string", fieldsOnly, (target) => {
  if (!ofType(target, "string")) return undefined;
  const max = target.schema.maxLength;
  if (max === undefined) return fc.constant("x".repeat(200_000));
  return fc
    .constantFrom("x", "é", "😀", " ")
    .map((ch) => (target.schema.format === "email" ? `${"x".repeat(max)}@example.com` : ch.repeat(max + 1)));
});

const oversizedArray = bodyKind("body: oversized array", fieldsOnly, (target, ctx) => {
  if (!ofType(target, "array")) return undefined;
  const max = target.schema.maxItems ?? 10_000;
  const item = target.schema.items ? valueArbitrary(ctx.doc, target.schema.items) : fc.constant(1);
  return item.map((v) => Array.from({ length: max + 1 }, () => v));
});

const unicode = bodyKind("body: unicode edge case", fieldsOnly, (target) =>
  ofType(target, "string") ? fc.constantFrom(...UNICODE_EDGE_CASES) : undefined,
);

const injection = bodyKind("body: injection string", fieldsOnly, (target) =>
  ofType(target, "string", "integer", "number", "boolean") ? fc.constantFrom(...INJECTION_STRINGS) : undefined,
);

const hugeNumber = bodyKind("body: huge number", fieldsOnly, (target) =>
  ofType(target, "integer", "number") ? fc.constantFrom(...HUGE_NUMBERS, ...RAW_NUMBERS.map(raw)) : undefined,
);

const deepValue = bodyKind(
  "body: deeply nested value",
  allTargets,
  (target) => (ofType(target, "object") ? fc.constantFrom(deepNesting(10_000), deepNesting(100)) : undefined),
  2,
);

/** Valid values at the edges: strings of exactly maxLength, numbers at their bounds, arrays of maxItems. */
const atLimits = bodyKind("body: values at their limits", fieldsOnly, (target, ctx) => {
  const { schema } = target;
  if (ofType(target, "integer", "number")) {
    const bounds = [schema.minimum, schema.maximum].filter((n) => n !== undefined);
    return bounds.length ? fc.constantFrom(...bounds) : undefined;
  }
  if (ofType(target, "string")) {
    if (schema.enum || schema.pattern || schema.format) return undefined;
    return fc.constantFrom(...LIMIT_FILLS).map((fill) => fill.repeat(schema.maxLength ?? 2_000));
  }
  if (ofType(target, "array") && schema.maxItems !== undefined && schema.items) {
    const max = schema.maxItems;
    return valueArbitrary(ctx.doc, schema.items).map((item) => Array.from({ length: max }, () => item));
  }
  return undefined;
});

const UNKNOWN_FIELDS = ["zz_unknown_field", "__proto__", "constructor", "tenant_id", "is_admin", "$where", ""];

const unknownField: MutationKind = {
  name: "body: unknown field",
  build(operation, valid, ctx) {
    if (!jsonBodySchema(operation)) return undefined;
    const objects = allTargets(operation, ctx).filter((t) => ofType(t, "object") && t.schema.properties);
    if (objects.length === 0) return undefined;
    return fc
      .tuple(valid, fc.constantFrom(...objects), fc.constantFrom(...UNKNOWN_FIELDS), fc.constantFrom(1, "x", { a: 1 }))
      .map(([parts, target, field, value]) => {
        const base = jsonBase(parts);
        const path = hasPath(base, target.path) ? [...target.path, field] : [field];
        return jsonVariant(ctx, operation, parts, this.name, `+ ${path.join(".")}`, setAt(base, path, value));
      });
  },
};

function rawBodyKind(
  name: string,
  bodies: (operation: Operation) => { detail: string; body: BodyPart | undefined; mustReject: boolean }[],
  maxRuns?: number,
): MutationKind {
  return {
    name,
    maxRuns,
    build(operation, valid) {
      if (!operation.op.requestBody) return undefined;
      return bodies(operation).map((option) =>
        valid.map((parts) => ({
          kind: name,
          detail: option.detail,
          parts: { ...parts, body: option.body },
          mustReject: option.mustReject,
        })),
      );
    },
  };
}

const malformedJson = rawBodyKind("body: malformed JSON", () =>
  MALFORMED_JSON.map((text) => ({
    detail: JSON.stringify(text),
    body: { kind: "raw", text, contentType: "application/json" },
    mustReject: true,
  })),
);

const wrongContentType = rawBodyKind("body: wrong content type", (operation) => {
  const documented = Object.keys(operation.op.requestBody?.content ?? {});
  const required = operation.op.requestBody?.required === true;
  return [
    { type: "text/plain", text: '{"name":"x"}' },
    { type: "application/xml", text: '<?xml version="1.0"?><name>x</name>' },
    { type: "application/x-www-form-urlencoded", text: "name=x&email=a%40example.com" },
    {
      type: "multipart/form-data; boundary=x",
      text: '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--x--',
    },
    { type: undefined, text: '{"name":"x"}' },
  ]
    .filter((o) => !o.type || !documented.includes(o.type.split(";")[0]))
    .map((o) => ({
      detail: `Content-Type: ${o.type ?? "(none)"}`,
      body: { kind: "raw" as const, text: o.text, contentType: o.type },
      mustReject: required,
    }));
});

const emptyBody = rawBodyKind("body: empty", (operation) => {
  const required = operation.op.requestBody?.required === true;
  return [
    {
      detail: "no body, JSON content type",
      body: { kind: "raw", text: "", contentType: "application/json" },
      mustReject: required,
    },
    { detail: "no body at all", body: undefined, mustReject: required },
    {
      detail: "whitespace",
      body: { kind: "raw", text: " \n ", contentType: "application/json" },
      mustReject: required,
    },
  ];
});

const tooLarge = rawBodyKind(
  "body: over 1 MiB",
  () => [
    {
      detail: "1.1 MiB JSON",
      body: { kind: "raw", text: JSON.stringify({ name: "x".repeat(1_150_000) }), contentType: "application/json" },
      mustReject: true,
    },
  ],
  1,
);

/** Every kind of invalid request, in report order. */
export const MUTATION_KINDS: MutationKind[] = [
  wrongType,
  missingRequired,
  oversizedString,
  oversizedArray,
  unicode,
  injection,
  hugeNumber,
  atLimits,
  unknownField,
  deepValue,
  malformedJson,
  wrongContentType,
  emptyBody,
  tooLarge,
  ...PARAMETER_KINDS,
];
