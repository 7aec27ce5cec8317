/** multipart/mixed for statements with attachments (xAPI 1.0.3 Data 2.4.11, Communication 1.5.2). */
import { ApiError } from "../../platform/errors";

export interface Part {
  headers: Record<string, string>;
  body: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function boundaryOf(contentType: string): string | null {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : null;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  const last = haystack.length - needle.length;
  outer: for (let i = from; i <= last; i++) {
    if (haystack[i] !== first) continue;
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Splits a multipart body into parts with lower-cased header names; 400 when it is not well formed. */
export function parseMultipart(body: Uint8Array, boundary: string): Part[] {
  const bad = (why: string) => ApiError.badRequest(`The multipart/mixed body is malformed: ${why}.`);
  const delimiter = encoder.encode(`--${boundary}`);
  let pos = indexOf(body, delimiter, 0);
  if (pos < 0) throw bad("no boundary delimiter");
  const parts: Part[] = [];
  for (;;) {
    pos += delimiter.length;
    if (body[pos] === 45 && body[pos + 1] === 45) break; // "--": the close delimiter
    // Skip transport padding and the CRLF after the delimiter.
    while (body[pos] === 32 || body[pos] === 9) pos++;
    if (body[pos] === 13 && body[pos + 1] === 10) pos += 2;
    else throw bad("a boundary is not followed by CRLF");
    const headerEnd = indexOf(body, encoder.encode("\r\n\r\n"), pos);
    const next = indexOf(body, encoder.encode(`\r\n--${boundary}`), pos);
    if (next < 0) throw bad("the closing boundary is missing");
    const headers: Record<string, string> = {};
    let start: number;
    if (headerEnd >= 0 && headerEnd < next) {
      for (const line of decoder.decode(body.subarray(pos, headerEnd)).split("\r\n")) {
        const colon = line.indexOf(":");
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      start = headerEnd + 4;
    } else if (body[pos] === 13 && body[pos + 1] === 10) {
      start = pos + 2; // a part without headers
    } else throw bad("a part's headers do not end with an empty line");
    parts.push({ headers, body: body.subarray(start, next) });
    pos = next + 2;
  }
  return parts;
}

/** Builds a multipart/mixed body; returns it with its Content-Type. */
export function buildMultipart(parts: { headers: Record<string, string>; body: Uint8Array | string }[]) {
  const boundary = `xapi-${crypto.randomUUID()}`;
  const chunks: Uint8Array[] = [];
  for (const part of parts) {
    const head = Object.entries(part.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    chunks.push(encoder.encode(`--${boundary}\r\n${head}\r\n`));
    chunks.push(typeof part.body === "string" ? encoder.encode(part.body) : part.body);
    chunks.push(encoder.encode("\r\n"));
  }
  chunks.push(encoder.encode(`--${boundary}--\r\n`));
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return { body: out, contentType: `multipart/mixed; boundary=${boundary}` };
}

/** Hex SHA-2 of bytes; the algorithm follows the length of the expected hash (256, 384 or 512 bits). */
export async function sha2Hex(bytes: Uint8Array, hexLength = 64): Promise<string> {
  const algorithm = hexLength === 128 ? "SHA-512" : hexLength === 96 ? "SHA-384" : "SHA-256";
  const digest = await crypto.subtle.digest(algorithm, bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
