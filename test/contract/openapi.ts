/**
 * The parts of an OpenAPI 3.1 document the contract suites read, and JSON Schema validation against it.
 * Validation uses @cfworker/json-schema, which interprets schemas (ajv compiles code with `new Function`,
 * which workerd forbids).
 */
import { Validator } from "@cfworker/json-schema";

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  allOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  default?: unknown;
  example?: unknown;
  examples?: unknown[];
  description?: string;
}

export interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: JsonSchema;
}

export interface MediaType {
  schema?: JsonSchema;
}

export interface OperationObject {
  operationId?: string;
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, MediaType> };
  responses: Record<string, { content?: Record<string, MediaType> }>;
}

export interface OpenApiDocument {
  openapi: string;
  security?: Record<string, string[]>[];
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchema> };
}

export interface Operation {
  /** `POST /v1/admin/learners` */
  key: string;
  method: string;
  path: string;
  op: OperationObject;
  parameters: Parameter[];
  /** The first security scheme the operation accepts, or "none". */
  scheme: string;
}

const METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

/** Every operation of the document, with path-level parameters merged into each. */
export function operationsOf(doc: OpenApiDocument): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, item]) => {
    const shared = (item.parameters as Parameter[] | undefined) ?? [];
    return Object.entries(item)
      .filter(([method]) => METHODS.has(method))
      .map(([method, value]) => {
        const op = value as OperationObject;
        const own = op.parameters ?? [];
        const parameters = [...shared.filter((p) => !own.some((o) => o.name === p.name && o.in === p.in)), ...own];
        const security = op.security ?? doc.security ?? [];
        const scheme = security.length === 0 ? "none" : (Object.keys(security[0])[0] ?? "none");
        return { key: `${method.toUpperCase()} ${path}`, method, path, op, parameters, scheme };
      });
  });
}

/** Follows `$ref: #/components/schemas/...` (and chains of them). */
export function resolve(doc: OpenApiDocument, schema: JsonSchema): JsonSchema {
  let current = schema;
  for (let hops = 0; current.$ref && hops < 32; hops++) {
    const name = current.$ref.replace(/^#\/components\/schemas\//, "");
    const target = doc.components.schemas[name];
    if (!target) throw new Error(`Unresolvable $ref ${current.$ref}`);
    current = target;
  }
  return current;
}

/** `allOf` folded into one schema (properties and required lists merged), refs resolved on the way. */
export function flatten(doc: OpenApiDocument, schema: JsonSchema): JsonSchema {
  const resolved = resolve(doc, schema);
  if (!resolved.allOf) return resolved;
  const { allOf, ...rest } = resolved;
  const properties: Record<string, JsonSchema> = { ...rest.properties };
  const required = new Set(rest.required ?? []);
  const merged: JsonSchema = { ...rest };
  for (const part of allOf.map((p) => flatten(doc, p))) {
    Object.assign(merged, part);
    Object.assign(properties, part.properties);
    for (const name of part.required ?? []) required.add(name);
  }
  return { ...merged, properties, required: [...required] };
}

/** The JSON request body schema of an operation, if it takes one. */
export function jsonBodySchema(operation: Operation): JsonSchema | undefined {
  return operation.op.requestBody?.content["application/json"]?.schema;
}

export interface SchemaCheck {
  valid: boolean;
  /** The first few errors, for messages. */
  errors: string[];
}

/** Validators keyed by schema, each over a private copy of the components so `$ref`s resolve. */
export class SchemaValidators {
  private readonly cache = new Map<string, Validator>();

  constructor(private readonly doc: OpenApiDocument) {}

  check(schema: JsonSchema, instance: unknown): SchemaCheck {
    const key = JSON.stringify(schema);
    let validator = this.cache.get(key);
    if (!validator) {
      // The validator annotates the schema objects it is given, so it gets its own copy.
      const root = structuredClone({ ...schema, components: this.doc.components });
      validator = new Validator(root as never, "2020-12", false);
      this.cache.set(key, validator);
    }
    const result = validator.validate(instance);
    return {
      valid: result.valid,
      errors: result.errors
        .filter((e) => !/subschema|does not match schema/i.test(e.error))
        .slice(0, 4)
        .map((e) => `${e.instanceLocation}: ${e.error}`),
    };
  }
}
