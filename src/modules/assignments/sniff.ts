/**
 * Content signatures of the file types an assignment accepts (`SUBMISSION_FILE_EXTENSIONS`): a file is accepted
 * only when its first bytes are a file of the type its extension names. A renamed executable is refused.
 */
import type { SUBMISSION_FILE_EXTENSIONS } from "../content-modules/schemas";

export type SubmissionExtension = (typeof SUBMISSION_FILE_EXTENSIONS)[number];

/** Leading bytes the checks read. */
export const SNIFF_BYTES = 1024;

const ascii = (h: Uint8Array, at: number, text: string) =>
  h.length >= at + text.length && [...text].every((ch, i) => h[at + i] === ch.charCodeAt(0));
const bytes = (h: Uint8Array, at: number, values: number[]) =>
  h.length >= at + values.length && values.every((v, i) => h[at + i] === v);

const PDF = (h: Uint8Array) => ascii(h, 0, "%PDF-");
const ZIP = (h: Uint8Array) => bytes(h, 0, [0x50, 0x4b, 0x03, 0x04]) || bytes(h, 0, [0x50, 0x4b, 0x05, 0x06]);
const OLE = (h: Uint8Array) => bytes(h, 0, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
const PNG = (h: Uint8Array) => bytes(h, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG = (h: Uint8Array) => bytes(h, 0, [0xff, 0xd8, 0xff]);
const GIF = (h: Uint8Array) => ascii(h, 0, "GIF87a") || ascii(h, 0, "GIF89a");
const WEBP = (h: Uint8Array) => ascii(h, 0, "RIFF") && ascii(h, 8, "WEBP");
const RTF = (h: Uint8Array) => ascii(h, 0, "{\\rtf");
const MP3 = (h: Uint8Array) => ascii(h, 0, "ID3") || (h.length >= 2 && h[0] === 0xff && ((h[1] ?? 0) & 0xe6) === 0xe2);
const FTYP = (h: Uint8Array) => ascii(h, 4, "ftyp");
const MOV = (h: Uint8Array) => FTYP(h) || ["moov", "mdat", "wide", "free", "skip"].some((box) => ascii(h, 4, box));

/** UTF-8 text without NUL or other binary control bytes (a multi-byte character cut at the end is fine). */
function TEXT(h: Uint8Array): boolean {
  for (const b of h)
    if (b === 0 || (b < 0x20 && b !== 9 && b !== 10 && b !== 13 && b !== 12) || b === 0x7f) return false;
  let end = h.length;
  if (h.length >= SNIFF_BYTES) while (end > 0 && h.length - end < 3 && ((h[end - 1] ?? 0) & 0xc0) === 0x80) end--;
  if (h.length >= SNIFF_BYTES && end > 0 && ((h[end - 1] ?? 0) & 0xc0) === 0xc0) end--;
  try {
    new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(h.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}

export const FILE_TYPES: Record<SubmissionExtension, { contentType: string; sniff: (h: Uint8Array) => boolean }> = {
  pdf: { contentType: "application/pdf", sniff: PDF },
  doc: { contentType: "application/msword", sniff: OLE },
  docx: { contentType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", sniff: ZIP },
  xls: { contentType: "application/vnd.ms-excel", sniff: OLE },
  xlsx: { contentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", sniff: ZIP },
  ppt: { contentType: "application/vnd.ms-powerpoint", sniff: OLE },
  pptx: { contentType: "application/vnd.openxmlformats-officedocument.presentationml.presentation", sniff: ZIP },
  odt: { contentType: "application/vnd.oasis.opendocument.text", sniff: ZIP },
  ods: { contentType: "application/vnd.oasis.opendocument.spreadsheet", sniff: ZIP },
  odp: { contentType: "application/vnd.oasis.opendocument.presentation", sniff: ZIP },
  rtf: { contentType: "application/rtf", sniff: RTF },
  txt: { contentType: "text/plain; charset=utf-8", sniff: TEXT },
  md: { contentType: "text/markdown; charset=utf-8", sniff: TEXT },
  csv: { contentType: "text/csv; charset=utf-8", sniff: TEXT },
  png: { contentType: "image/png", sniff: PNG },
  jpg: { contentType: "image/jpeg", sniff: JPEG },
  jpeg: { contentType: "image/jpeg", sniff: JPEG },
  gif: { contentType: "image/gif", sniff: GIF },
  webp: { contentType: "image/webp", sniff: WEBP },
  zip: { contentType: "application/zip", sniff: ZIP },
  mp3: { contentType: "audio/mpeg", sniff: MP3 },
  mp4: { contentType: "video/mp4", sniff: FTYP },
  mov: { contentType: "video/quicktime", sniff: MOV },
};

/** The lowercase extension of a file name ("" when it has none). */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
}
