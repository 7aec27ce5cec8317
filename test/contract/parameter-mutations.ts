/**
 * Invalid and hostile query, path and header values. The oracle is the parameter's schema, applied to the value
 * the way the API reads it (decoded, numbers coerced).
 */
import fc from "fast-check";
import { typesOf } from "./arbitraries";
import type { MutationContext, MutationKind } from "./mutations";
import { flatten, type JsonSchema, type Parameter } from "./openapi";
import { INJECTION_STRINGS, LIMIT_FILLS, UNICODE_EDGE_CASES } from "./payloads";

/** What a string parameter means under its schema, the way the API coerces it (numbers and booleans). */
function coerce(schema: JsonSchema, value: string): unknown {
  const types = typesOf(schema);
  if ((types.includes("integer") || types.includes("number")) && value.trim() !== "") {
    const n = Number(value);
    if (!Number.isNaN(n)) return n;
  }
  if (types.includes("boolean") && (value === "true" || value === "false")) return value === "true";
  return value;
}

function paramValid(ctx: MutationContext, parameter: Parameter, decoded: string | undefined): boolean | undefined {
  if (decoded === undefined) return undefined;
  const schema = flatten(ctx.doc, parameter.schema ?? {});
  return ctx.validators.check(schema, coerce(schema, decoded)).valid;
}

/** A query or path value: the text sent (percent-encoded) and what the API decodes (undefined: not decodable). */
interface Encoded {
  sent: string;
  decoded: string | undefined;
}

const plain = (value: string): Encoded => {
  try {
    return { sent: encodeURIComponent(value), decoded: value };
  } catch {
    // Lone surrogates: sent as their (invalid) UTF-8 bytes.
    const sent = [...value]
      .map((ch) => {
        const code = ch.charCodeAt(0);
        if (code < 0xd800 || code > 0xdfff) return encodeURIComponent(ch);
        return [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
          .map((b) => `%${b.toString(16).toUpperCase()}`)
          .join("");
      })
      .join("");
    return { sent, decoded: undefined };
  }
};

const HAND_ENCODED: Encoded[] = [
  { sent: "%ED%A0%80", decoded: undefined },
  { sent: "%E0%A4%A", decoded: undefined },
  { sent: "%", decoded: undefined },
  { sent: "%FF%FE", decoded: undefined },
  { sent: "..%2F..%2Fetc%2Fpasswd", decoded: "../../etc/passwd" },
  { sent: "%2E%2E", decoded: ".." },
];

function queryValues(parameter: Parameter, ctx: MutationContext, kind: string): Encoded[] {
  const schema = flatten(ctx.doc, parameter.schema ?? {});
  const types = typesOf(schema);
  const numeric = types.includes("integer") || types.includes("number");
  switch (kind) {
    case "wrong type":
      return (
        numeric
          ? ["abc", "1.5", "", "true", "[]", "1,2", "0x", "NaN"]
          : schema.enum || schema.pattern || schema.format
            ? ["bogus", "", "ACTIVE", "null", "-"]
            : ["", "[]", "null"]
      ).map(plain);
    case "oversized":
      if (schema.maxLength !== undefined) return [plain("x".repeat(schema.maxLength + 1))];
      if (schema.maximum !== undefined) return [plain(String(schema.maximum + 1))];
      return [];
    case "injection":
      return INJECTION_STRINGS.map(plain);
    case "unicode":
      return [...UNICODE_EDGE_CASES.map(plain), ...HAND_ENCODED];
    case "huge number":
      return numeric ? ["1e308", "-1", "9223372036854775808", "1e400", "-0", "0", "9".repeat(400)].map(plain) : [];
    case "at its limits": {
      if (numeric) return [schema.minimum, schema.maximum].filter((n) => n !== undefined).map((n) => plain(String(n)));
      if (schema.enum || schema.pattern || schema.format) return [];
      return LIMIT_FILLS.map((fill) => plain(fill.repeat(schema.maxLength ?? 2_000)));
    }
    default:
      return [];
  }
}

function queryKind(kind: string): MutationKind {
  const name = `query: ${kind}`;
  return {
    name,
    build(operation, valid, ctx) {
      const targets = operation.parameters
        .filter((p) => p.in === "query")
        .map((parameter) => ({ parameter, values: queryValues(parameter, ctx, kind) }))
        .filter((t) => t.values.length > 0);
      if (targets.length === 0) return undefined;
      return fc
        .tuple(
          valid,
          fc.constantFrom(...targets).chain((t) => fc.constantFrom(...t.values).map((v) => ({ ...t, value: v }))),
        )
        .map(([parts, { parameter, value }]) => {
          const verdict = paramValid(ctx, parameter, value.decoded);
          return {
            kind: name,
            detail: `?${parameter.name}=${value.sent.length > 60 ? `${value.sent.slice(0, 40)}...` : value.sent}`,
            parts: {
              ...parts,
              query: parts.query.filter(([k]) => k !== parameter.name),
              rawQuery: `${encodeURIComponent(parameter.name)}=${value.sent}`,
            },
            mustReject: verdict === false,
          };
        });
    },
  };
}

const missingQuery: MutationKind = {
  name: "query: missing required parameter",
  build(operation, valid) {
    const required = operation.parameters.filter((p) => p.in === "query" && p.required);
    if (required.length === 0) return undefined;
    return fc.tuple(valid, fc.constantFrom(...required)).map(([parts, parameter]) => ({
      kind: this.name,
      detail: `without ?${parameter.name}`,
      parts: { ...parts, query: parts.query.filter(([k]) => k !== parameter.name) },
      mustReject: true,
    }));
  },
};

/** Unknown and duplicated query parameters: acceptable (ignored), but never a 5xx. Applies to every operation. */
const unknownQuery: MutationKind = {
  name: "query: unknown or repeated parameter",
  build(_operation, valid) {
    const names = ["zz_unknown", "tenant_id", "__proto__", "page[size]", "sort[]", "filter[status]", ""];
    return fc
      .tuple(valid, fc.constantFrom(...names), fc.constantFrom(...INJECTION_STRINGS, "1", "-1"), fc.boolean())
      .map(([parts, name, value, repeat]) => {
        const first = parts.query[0];
        const extra: [string, string][] = repeat && first ? [[first[0], value]] : [[name, value]];
        return {
          kind: this.name,
          detail: `+ ?${extra[0][0]}=${extra[0][1]}`,
          parts: { ...parts, query: [...parts.query, ...extra] },
          mustReject: false,
        };
      });
  },
};

// Never a value the API could read as a small positive id: a real resource must never be hit.
const PATH_VALUES: Encoded[] = [
  ...["abc", "-1", "0", "-0", "1.5", "1e308", "1e400", "9223372036854775808", "9".repeat(400), "NaN", "Infinity"].map(
    plain,
  ),
  ...["9e8", " 900000001 ", "900000001.0"].map(plain),
  ...INJECTION_STRINGS.map(plain),
  ...UNICODE_EDGE_CASES.map(plain),
  ...HAND_ENCODED,
  { sent: "%00", decoded: "\u0000" },
  { sent: "x".repeat(300), decoded: "x".repeat(300) },
];

const pathKind: MutationKind = {
  name: "path: invalid parameter",
  build(operation, valid, ctx) {
    const params = operation.parameters.filter((p) => p.in === "path");
    if (params.length === 0) return undefined;
    return fc.tuple(valid, fc.constantFrom(...params), fc.constantFrom(...PATH_VALUES)).map(([parts, param, value]) => {
      const verdict = paramValid(ctx, param, value.decoded);
      return {
        kind: this.name,
        detail: `{${param.name}} = ${value.sent.length > 60 ? `${value.sent.slice(0, 40)}...` : value.sent}`,
        parts: { ...parts, path: { ...parts.path, [param.name]: value.sent } },
        mustReject: verdict === false,
      };
    });
  },
};

const HEADER_VALUES = ["", "x".repeat(65), "x".repeat(5000), ...INJECTION_STRINGS, "UPPER", "no-such-academy-zz"];

const headerKind: MutationKind = {
  name: "header: invalid parameter",
  build(operation, valid, ctx) {
    const params = operation.parameters.filter((p) => p.in === "header");
    if (params.length === 0) return undefined;
    return fc
      .tuple(valid, fc.constantFrom(...params), fc.constantFrom(...HEADER_VALUES))
      .map(([parts, param, value]) => ({
        kind: this.name,
        detail: `${param.name}: ${value.length > 60 ? `${value.slice(0, 40)}...` : value}`,
        parts: { ...parts, headers: { ...parts.headers, [param.name.toLowerCase()]: value } },
        // Headers are trimmed in transit; judge what arrives.
        mustReject: paramValid(ctx, param, value.trim()) === false,
      }));
  },
};

export const PARAMETER_KINDS: MutationKind[] = [
  queryKind("wrong type"),
  queryKind("oversized"),
  queryKind("injection"),
  queryKind("unicode"),
  queryKind("huge number"),
  queryKind("at its limits"),
  missingQuery,
  unknownQuery,
  pathKind,
  headerKind,
];
