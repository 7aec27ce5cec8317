/**
 * Serving a media file from R2: single byte ranges (206, RFC 9110 section 14), conditional requests
 * (`If-None-Match` -> 304, `If-Range`), the stored Content-Type and a Content-Disposition with the file name.
 * The body streams from R2; nothing is buffered.
 */
import { ApiError } from "../../platform/errors";
import { servedType, typeInfo } from "./sniff";
import type { media } from "./tables";

type MediaRow = typeof media.$inferSelect;

export type RangeResult =
  | { kind: "none" }
  | { kind: "range"; offset: number; length: number }
  | { kind: "unsatisfiable" };

/**
 * Parses a Range header against a size. Only `bytes` and only one range are honoured; a header that is not
 * valid, names another unit or asks for several ranges is ignored (the whole file, 200), as RFC 9110 allows.
 * `bytes=500-` from 500, `bytes=-500` the last 500, `bytes=0-0` the first byte; a start past the end, or a
 * zero-length suffix, is unsatisfiable (416).
 */
export function parseRange(header: string | null | undefined, size: number): RangeResult {
  if (!header) return { kind: "none" };
  const match = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!match) return { kind: "none" };
  const specs = (match[1] ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (specs.length !== 1) return { kind: "none" };
  const spec = /^(\d*)\s*-\s*(\d*)$/.exec(specs[0] ?? "");
  if (!spec) return { kind: "none" };
  const [, first, last] = spec;
  if (first === "" && last === "") return { kind: "none" };
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    const length = Math.min(suffix, size);
    return { kind: "range", offset: size - length, length };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Number(last);
  if (last !== "" && end < start) return { kind: "none" };
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "range", offset: start, length: Math.min(end, size - 1) - start + 1 };
}

/** `If-None-Match` (weak comparison, `*` matches anything). */
export function etagMatches(header: string | null | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, "");
  return header.split(",").some((tag) => tag.trim() === "*" || bare(tag) === bare(etag));
}

/** `inline; filename="ascii fallback"; filename*=UTF-8''percent-encoded` (RFC 6266). */
export function contentDisposition(name: string, inline: boolean): string {
  const fallback = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${inline ? "inline" : "attachment"}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

export interface ServeOptions {
  range: string | null | undefined;
  ifNoneMatch: string | null | undefined;
  ifRange: string | null | undefined;
  /** `?download=1`: always an attachment. */
  download: boolean;
  /** How long caches may keep the answer. */
  cacheControl: string;
  head: boolean;
}

export async function serveFile(bucket: R2Bucket, row: MediaRow, options: ServeOptions): Promise<Response> {
  const etag = row.etag ?? "";
  const info = typeInfo(row.contentType);
  const headers = new Headers({
    "Content-Type": servedType(row.contentType),
    ETag: etag,
    "Accept-Ranges": "bytes",
    "Cache-Control": options.cacheControl,
    "Content-Disposition": contentDisposition(row.name, info.inline && !options.download),
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "cross-origin",
    // Nothing served here is a page; PDFs are left to the browser's viewer.
    ...(row.contentType === "application/pdf" ? {} : { "Content-Security-Policy": "default-src 'none'; sandbox" }),
    "Referrer-Policy": "no-referrer",
  });
  if (etag && etagMatches(options.ifNoneMatch, etag)) return new Response(null, { status: 304, headers });

  // If-Range: the range applies only to the representation the client already has part of.
  const rangeHeader = options.ifRange && options.ifRange.trim() !== etag ? null : options.range;
  const range = parseRange(rangeHeader, row.size);
  if (range.kind === "unsatisfiable") {
    throw new ApiError(416, `The requested range is outside the file, which has ${row.size} bytes.`, {
      slug: "range-not-satisfiable",
      title: "Range not satisfiable",
      headers: { "Content-Range": `bytes */${row.size}`, "Accept-Ranges": "bytes" },
    });
  }
  if (options.head) {
    const length = range.kind === "range" ? range.length : row.size;
    headers.set("Content-Length", String(length));
    if (range.kind === "range") {
      headers.set("Content-Range", `bytes ${range.offset}-${range.offset + range.length - 1}/${row.size}`);
    }
    return new Response(null, { status: range.kind === "range" ? 206 : 200, headers });
  }
  const object = await bucket.get(
    row.r2Key,
    range.kind === "range" ? { range: { offset: range.offset, length: range.length } } : undefined,
  );
  if (!object) throw ApiError.notFound("The file");
  headers.set("Last-Modified", object.uploaded.toUTCString());
  if (range.kind === "range") {
    headers.set("Content-Length", String(range.length));
    headers.set("Content-Range", `bytes ${range.offset}-${range.offset + range.length - 1}/${row.size}`);
    return new Response(object.body, { status: 206, headers });
  }
  headers.set("Content-Length", String(object.size));
  return new Response(object.body, { status: 200, headers });
}
