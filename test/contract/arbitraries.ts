/**
 * OpenAPI 3.1 JSON Schema -> fast-check arbitraries of VALID values, and of whole valid requests of an operation.
 * Honours type (including `["string", "null"]`), enum/const, min/max lengths and bounds, patterns (through
 * `fc.stringMatching`, falling back to the schema's `example`), formats (email, uri, date-time), required and
 * optional properties, and `$ref`/`allOf`.
 */
import fc from "fast-check";
import { flatten, type JsonSchema, jsonBodySchema, type OpenApiDocument, type Operation } from "./openapi";

/** Arbitraries that replace (most of the time) what the schema alone would generate, by property name. */
export type Hints = Record<string, fc.Arbitrary<unknown>>;

export interface RequestParts {
  /** Path parameter values, already percent-encoded. */
  path: Record<string, string>;
  /** Query pairs, percent-encoded when sent. */
  query: [string, string][];
  /** Appended to the query string as-is (hand-encoded values). */
  rawQuery?: string;
  headers: Record<string, string>;
  body?: BodyPart;
}

export type BodyPart =
  | { kind: "json"; value: unknown; contentType?: string }
  | { kind: "raw"; text: string; contentType?: string };

/** Ids of this range exist nowhere, so fuzzing never reads, changes or deletes a real resource. */
export const MISSING_ID_MIN = 900_000_000;
const MISSING_ID_MAX = 999_999_999;

/** Length in code points, as JSON Schema counts it. */
export const codePoints = (s: string) => [...s].length;

export function typesOf(schema: JsonSchema): string[] {
  if (schema.type) return Array.isArray(schema.type) ? schema.type : [schema.type];
  if (schema.enum) return [...new Set(schema.enum.map((v) => (v === null ? "null" : typeof v)))];
  if (schema.properties) return ["object"];
  if (schema.items) return ["array"];
  return [];
}

const regexOf = (pattern: string) => new RegExp(pattern, "u");

/** `fc.stringMatching` for a pattern, without the lookaheads it cannot generate (the full pattern filters). */
function patternArbitrary(pattern: string): fc.Arbitrary<string> | undefined {
  const generable = pattern.replace(/\(\?[=!][^)]*\)/g, "");
  try {
    return fc.stringMatching(regexOf(generable), { size: "xsmall" }).filter((v) => regexOf(pattern).test(v));
  } catch {
    return undefined;
  }
}

function fitsString(schema: JsonSchema, value: string) {
  const length = codePoints(value);
  return (
    length >= (schema.minLength ?? 0) &&
    length <= (schema.maxLength ?? Number.POSITIVE_INFINITY) &&
    (!schema.pattern || regexOf(schema.pattern).test(value))
  );
}

const label = fc.stringMatching(/^[a-z][a-z0-9]{0,11}$/);

export const emailArbitrary = fc
  .tuple(label, fc.integer({ min: 0, max: 2 ** 40 }))
  .map(([name, n]) => `fz-${name}-${n.toString(36)}@example.com`);

const uriArbitrary = fc
  .tuple(fc.constantFrom("https", "http"), label, fc.webSegment())
  .map(([scheme, host, segment]) => `${scheme}://${host}.example.com/${encodeURIComponent(segment)}`);

const dateTimeArbitrary = fc
  .date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true })
  .map((d) => d.toISOString());

export interface ValueOptions {
  hints?: Hints;
  /** Only printable ASCII (header values). */
  headerSafe?: boolean;
}

function stringArbitrary(schema: JsonSchema, options: ValueOptions): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? min + 60;
  const fits = (v: string) => fitsString(schema, v);
  const example = typeof schema.example === "string" && fits(schema.example) ? schema.example : undefined;
  let generated: fc.Arbitrary<string> | undefined;
  if (schema.format === "email") generated = emailArbitrary;
  else if (schema.format === "uri") generated = uriArbitrary;
  else if (schema.format === "date-time") generated = dateTimeArbitrary;
  else if (schema.pattern) generated = patternArbitrary(schema.pattern);
  else {
    const unit = options.headerSafe
      ? ("grapheme-ascii" as const)
      : fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789 -_") },
          { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }) },
        );
    generated = fc.string({ unit, minLength: Math.max(min, 1), maxLength: Math.min(max, min + 40) });
  }
  if (!generated) {
    if (example === undefined) throw new Error(`Cannot generate a string for ${JSON.stringify(schema)}`);
    return fc.constant(example);
  }
  // Blank strings are trimmed away by the API; they say nothing about the rest of the request.
  const usable = generated.filter((v) => fits(v) && (min === 0 || v.trim().length > 0));
  if (example === undefined) return usable;
  // Examples are the values most likely to pass checks a schema cannot express (time zones, ...).
  return fc.oneof({ weight: 2, arbitrary: fc.constant(example) }, { weight: 1, arbitrary: usable });
}

function integerBounds(schema: JsonSchema) {
  const min = Math.max(
    schema.minimum ?? Number.NEGATIVE_INFINITY,
    schema.exclusiveMinimum !== undefined ? Math.floor(schema.exclusiveMinimum) + 1 : Number.NEGATIVE_INFINITY,
  );
  const max = Math.min(
    schema.maximum ?? Number.POSITIVE_INFINITY,
    schema.exclusiveMaximum !== undefined ? Math.ceil(schema.exclusiveMaximum) - 1 : Number.POSITIVE_INFINITY,
  );
  return { min, max };
}

function integerArbitrary(schema: JsonSchema): fc.Arbitrary<number> {
  const bounds = integerBounds(schema);
  const min = Number.isFinite(bounds.min) ? bounds.min : -1_000_000;
  const max = Number.isFinite(bounds.max) ? bounds.max : Math.max(min, 0) + 2_000_000_000;
  return fc.integer({ min, max });
}

function numberArbitrary(schema: JsonSchema): fc.Arbitrary<number> {
  const { min, max } = integerBounds(schema);
  return fc.double({
    min: Number.isFinite(min) ? min : -1e9,
    max: Number.isFinite(max) ? max : 1e9,
    noNaN: true,
    noDefaultInfinity: true,
  });
}

const smallJson = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null));

function objectArbitrary(doc: OpenApiDocument, schema: JsonSchema, options: ValueOptions): fc.Arbitrary<unknown> {
  const properties = schema.properties ?? {};
  const names = Object.keys(properties);
  if (names.length === 0) {
    if (schema.additionalProperties === false) return fc.constant({});
    if (schema.example && typeof schema.example === "object") {
      return fc.oneof(
        fc.constant(schema.example),
        fc.dictionary(fc.stringMatching(/^[a-z_]{1,10}$/), smallJson, { maxKeys: 3 }),
      );
    }
    return fc.dictionary(fc.stringMatching(/^[a-z_]{1,10}$/), smallJson, { maxKeys: 3 });
  }
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const name of names) record[name] = propertyArbitrary(doc, name, properties[name], options);
  return fc.record(record, { requiredKeys: (schema.required ?? []).filter((n) => n in record) });
}

function propertyArbitrary(doc: OpenApiDocument, name: string, schema: JsonSchema, options: ValueOptions) {
  const generated = valueArbitrary(doc, schema, options);
  const hint = options.hints?.[name];
  // A hint is by property name; another operation may use the name for something else (an LRS credential's
  // `scopes` are read|write, a preference's `email` is an object), so a hint whose values do not fit is not used.
  const fits = hint && fc.sample(hint, 5).every((value) => fitsShape(doc, schema, value));
  return hint && fits ? fc.oneof({ weight: 3, arbitrary: hint }, { weight: 1, arbitrary: generated }) : generated;
}

/** A shallow check of a hint value against a schema: type, enum and array items. */
function fitsShape(doc: OpenApiDocument, raw: JsonSchema, value: unknown): boolean {
  const schema = flatten(doc, raw);
  if (schema.enum) return schema.enum.includes(value);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return alternatives.some((s) => fitsShape(doc, s, value));
  const types = typesOf(schema);
  if (types.length === 0) return true;
  return types.some((type) => {
    switch (type) {
      case "string":
        return typeof value === "string";
      case "integer":
        return Number.isInteger(value);
      case "number":
        return typeof value === "number";
      case "boolean":
        return typeof value === "boolean";
      case "null":
        return value === null;
      case "array":
        return (
          Array.isArray(value) && (!schema.items || value.every((v) => fitsShape(doc, schema.items as JsonSchema, v)))
        );
      case "object":
        return typeof value === "object" && value !== null && !Array.isArray(value);
      default:
        return true;
    }
  });
}

/** A fast-check arbitrary of values valid against the schema. */
export function valueArbitrary(
  doc: OpenApiDocument,
  raw: JsonSchema,
  options: ValueOptions = {},
): fc.Arbitrary<unknown> {
  const schema = flatten(doc, raw);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => valueArbitrary(doc, s, options)));
  const types = typesOf(schema);
  if (types.length === 0) return fc.jsonValue({ maxDepth: 2 });
  const arbitraries = types.map((type): fc.Arbitrary<unknown> => {
    switch (type) {
      case "string":
        return stringArbitrary(schema, options);
      case "integer":
        return integerArbitrary(schema);
      case "number":
        return numberArbitrary(schema);
      case "boolean":
        return fc.boolean();
      case "null":
        return fc.constant(null);
      case "array": {
        const items = schema.items ? valueArbitrary(doc, schema.items, options) : smallJson;
        const minLength = schema.minItems ?? 0;
        const maxLength = Math.min(schema.maxItems ?? minLength + 4, minLength + 4);
        return schema.uniqueItems
          ? fc.uniqueArray(items, { minLength, maxLength, selector: (v) => JSON.stringify(v) })
          : fc.array(items, { minLength, maxLength });
      }
      case "object":
        return objectArbitrary(doc, schema, options);
      default:
        throw new Error(`Unknown JSON Schema type ${type}`);
    }
  });
  if (arbitraries.length === 1) return arbitraries[0];
  // Nullable fields: mostly a value, sometimes null.
  return fc.oneof(...arbitraries.map((arbitrary, i) => ({ arbitrary, weight: types[i] === "null" ? 1 : 3 })));
}

/** A query, path or header value as the string it travels as. */
export function asParameterString(value: unknown): string {
  if (Array.isArray(value)) return value.map(asParameterString).join(",");
  if (value !== null && typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function formEncoded(value: unknown): string | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.some(([, v]) => v !== null && typeof v === "object")) return undefined;
  return new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString();
}

export interface RequestOptions {
  /** Property-name hints for bodies and query parameters. */
  hints?: Hints;
  /** Header hints by lowercase header name (the academy's `x-tenant`, ...). */
  headers?: Record<string, fc.Arbitrary<string>>;
}

/** Valid requests of an operation: missing ids in the path, schema-valid query, headers and body. */
export function requestArbitrary(
  doc: OpenApiDocument,
  operation: Operation,
  options: RequestOptions = {},
): fc.Arbitrary<RequestParts> {
  const path: Record<string, fc.Arbitrary<string>> = {};
  const query: Record<string, fc.Arbitrary<[string, string]>> = {};
  const headers: Record<string, fc.Arbitrary<string>> = {};
  const requiredQuery: string[] = [];
  const requiredHeaders: string[] = [];
  for (const parameter of operation.parameters) {
    const schema = flatten(doc, parameter.schema ?? {});
    if (parameter.in === "path") {
      const types = typesOf(schema);
      path[parameter.name] =
        types.includes("integer") || types.includes("number")
          ? fc
              .integer({ min: MISSING_ID_MIN, max: Math.min(MISSING_ID_MAX, schema.maximum ?? MISSING_ID_MAX) })
              .map(String)
          : valueArbitrary(doc, schema, { headerSafe: false })
              .map(asParameterString)
              .filter((v) => v.length > 0)
              .map(encodeURIComponent);
    } else if (parameter.in === "query") {
      query[parameter.name] = propertyArbitrary(doc, parameter.name, schema, { hints: options.hints }).map(
        (v): [string, string] => [parameter.name, asParameterString(v)],
      );
      if (parameter.required) requiredQuery.push(parameter.name);
    } else if (parameter.in === "header") {
      const name = parameter.name.toLowerCase();
      const generated = valueArbitrary(doc, schema, { headerSafe: true }).map(asParameterString);
      const hint = options.headers?.[name];
      headers[name] = hint ? fc.oneof({ weight: 6, arbitrary: hint }, { weight: 1, arbitrary: generated }) : generated;
      // A hinted header (the academy) is what a real client sends; keep it on every valid request.
      if (parameter.required || hint) requiredHeaders.push(name);
    }
  }
  const bodySchema = jsonBodySchema(operation);
  const content = operation.op.requestBody?.content ?? {};
  let body: fc.Arbitrary<BodyPart | undefined> = fc.constant(undefined);
  if (bodySchema) {
    const json = valueArbitrary(doc, bodySchema, { hints: options.hints }).map(
      (value): BodyPart => ({ kind: "json", value }),
    );
    const formSchema = content["application/x-www-form-urlencoded"]?.schema;
    const form = formSchema
      ? valueArbitrary(doc, formSchema, { hints: options.hints })
          .map(formEncoded)
          .filter((text): text is string => text !== undefined)
          .map((text): BodyPart => ({ kind: "raw", text, contentType: "application/x-www-form-urlencoded" }))
      : undefined;
    body = form ? fc.oneof(json, form) : json;
    if (!operation.op.requestBody?.required) body = fc.option(body, { nil: undefined, freq: 6 });
  }
  return fc
    .record({
      path: fc.record(path),
      query: fc.record(query, { requiredKeys: requiredQuery }),
      headers: fc.record(headers, { requiredKeys: requiredHeaders }),
      body,
    })
    .map(({ path, query, headers, body }) => ({
      path,
      query: Object.values(query),
      headers: Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string>,
      body,
    }));
}

export interface MinimalOptions {
  /** Values by property name, used whenever the schema has that property (required or not). */
  overrides?: Record<string, () => unknown>;
  /** A unique string (slugs, names, emails are made from it). */
  unique: () => string;
}

/**
 * One deterministic, minimal valid value: required properties only (plus overridden ones), the lowest
 * bounds, first enum members, unique strings where uniqueness may matter.
 */
export function minimalValue(doc: OpenApiDocument, raw: JsonSchema, options: MinimalOptions): unknown {
  const schema = flatten(doc, raw);
  if (schema.const !== undefined) return schema.const;
  if (schema.default !== undefined) return structuredClone(schema.default);
  if (schema.enum) return schema.enum[0];
  const type = typesOf(schema).find((t) => t !== "null") ?? "null";
  switch (type) {
    case "string": {
      if (schema.format === "email") return `${options.unique()}@example.com`;
      if (schema.format === "uri") return "https://example.com/picture.png";
      if (schema.format === "date-time") return "2099-01-01T00:00:00.000Z";
      const base = options.unique().toLowerCase();
      const padded = base.padEnd(schema.minLength ?? 0, "x").slice(0, schema.maxLength ?? base.length + 64);
      if (fitsString(schema, padded)) return padded;
      if (typeof schema.example === "string" && fitsString(schema, schema.example)) return schema.example;
      const pattern = schema.pattern ? patternArbitrary(schema.pattern) : undefined;
      if (pattern)
        return fc.sample(
          pattern.filter((v) => fitsString(schema, v)),
          { numRuns: 1, seed: 1 },
        )[0];
      throw new Error(`No minimal string for ${JSON.stringify(schema)}`);
    }
    case "integer":
    case "number": {
      const { min, max } = integerBounds(schema);
      return Number.isFinite(min) ? min : Number.isFinite(max) ? Math.min(max, 0) : 0;
    }
    case "boolean":
      return false;
    case "null":
      return null;
    case "array":
      return Array.from({ length: schema.minItems ?? 0 }, () =>
        minimalValue(doc, schema.items ?? { type: "string" }, options),
      );
    case "object": {
      const out: Record<string, unknown> = {};
      const required = new Set(schema.required ?? []);
      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        const override = options.overrides?.[name];
        if (override) out[name] = override();
        else if (required.has(name)) out[name] = minimalValue(doc, property, options);
      }
      return out;
    }
    default:
      throw new Error(`Unknown JSON Schema type ${type}`);
  }
}
