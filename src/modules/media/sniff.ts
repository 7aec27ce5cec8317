/**
 * The media types the library accepts, and content sniffing: the first bytes of a file must carry the
 * signature of the type the client declared (an executable renamed `.png` and sent as `image/png` is refused).
 * Nothing here trusts the name or the declared type alone.
 */
import type { MEDIA_KINDS } from "./tables";

export type MediaKind = (typeof MEDIA_KINDS)[number];

/** How many leading bytes sniffing reads (enough for every signature below, including ISO BMFF brands). */
export const SNIFF_BYTES = 4096;

interface AllowedType {
  kind: MediaKind;
  /** File name extensions (lowercase, no dot) that fit the type. */
  extensions: string[];
  /** Whether the leading bytes are a file of this type. */
  sniff: (head: Uint8Array) => boolean;
  /** Served inline (images, audio, video, pdf, captions) or as an attachment (documents, archives). */
  inline: boolean;
}

const ascii = (head: Uint8Array, offset: number, text: string) => {
  if (head.length < offset + text.length) return false;
  for (let i = 0; i < text.length; i++) if (head[offset + i] !== text.charCodeAt(i)) return false;
  return true;
};
const bytes = (head: Uint8Array, offset: number, values: number[]) =>
  head.length >= offset + values.length && values.every((v, i) => head[offset + i] === v);

/** ISO base media file (mp4, m4a, mov, avif...): `ftyp` at offset 4, then the major and compatible brands. */
function isoBrands(head: Uint8Array): string[] | null {
  if (!ascii(head, 4, "ftyp") || head.length < 16) return null;
  const boxSize = ((head[0] ?? 0) << 24) | ((head[1] ?? 0) << 16) | ((head[2] ?? 0) << 8) | (head[3] ?? 0);
  // A real ftyp box: header, major brand, minor version, whole brands, and small.
  if (boxSize < 16 || boxSize > 1024 || boxSize % 4 !== 0) return null;
  const end = Math.min(head.length, boxSize);
  const brands: string[] = [];
  for (let at = 8; at + 4 <= end; at += 4) {
    if (at === 12) continue; // minor version
    brands.push(String.fromCharCode(...head.subarray(at, at + 4)));
  }
  return brands;
}
const hasBrand = (head: Uint8Array, accept: (brand: string) => boolean) => (isoBrands(head) ?? []).some(accept);

const PNG = (h: Uint8Array) => bytes(h, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG = (h: Uint8Array) => bytes(h, 0, [0xff, 0xd8, 0xff]);
const GIF = (h: Uint8Array) => ascii(h, 0, "GIF87a") || ascii(h, 0, "GIF89a");
const RIFF = (form: string) => (h: Uint8Array) => ascii(h, 0, "RIFF") && ascii(h, 8, form);
const EBML = (h: Uint8Array) => bytes(h, 0, [0x1a, 0x45, 0xdf, 0xa3]);
const OGG = (h: Uint8Array) => ascii(h, 0, "OggS");
const ZIP = (h: Uint8Array) => bytes(h, 0, [0x50, 0x4b, 0x03, 0x04]) || bytes(h, 0, [0x50, 0x4b, 0x05, 0x06]);
const OLE = (h: Uint8Array) => bytes(h, 0, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
const MP3 = (h: Uint8Array) => ascii(h, 0, "ID3") || (h.length >= 2 && h[0] === 0xff && ((h[1] ?? 0) & 0xe6) === 0xe2); // MPEG audio frame sync, layer I-III
const ADTS = (h: Uint8Array) => h.length >= 2 && h[0] === 0xff && ((h[1] ?? 0) & 0xf6) === 0xf0;
const MP4_VIDEO = (h: Uint8Array) =>
  hasBrand(h, (b) => /^(isom|iso[2-9]|mp41|mp42|avc1|M4V |M4VP|dash|mmp4|MSNV|3gp\d|3g2\w|f4v )$/.test(b));
const M4A = (h: Uint8Array) => hasBrand(h, (b) => /^(M4A |M4B |mp42|isom|dash)$/.test(b));
const QUICKTIME = (h: Uint8Array) =>
  hasBrand(h, (b) => b === "qt  ") || ["moov", "mdat", "wide", "free", "skip"].some((box) => ascii(h, 4, box));
const AVIF = (h: Uint8Array) => hasBrand(h, (b) => b === "avif" || b === "avis");

/** UTF-8 text without NUL or other binary control bytes (tab, LF, CR and form feed are fine). */
function isText(h: Uint8Array): boolean {
  for (const b of h)
    if (b === 0 || (b < 0x20 && b !== 9 && b !== 10 && b !== 13 && b !== 12) || b === 0x7f) return false;
  try {
    // The head may cut a multi-byte character: drop up to 3 trailing bytes before strict decoding.
    let end = h.length;
    while (end > 0 && h.length - end < 3 && ((h[end - 1] ?? 0) & 0xc0) === 0x80) end--;
    if (end > 0 && ((h[end - 1] ?? 0) & 0xc0) === 0xc0) end--;
    new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(h.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}
const BOM = (h: Uint8Array) => (bytes(h, 0, [0xef, 0xbb, 0xbf]) ? h.subarray(3) : h);
const VTT = (h: Uint8Array) => {
  const body = BOM(h);
  return (
    ascii(body, 0, "WEBVTT") && (body.length === 6 || [0x20, 0x09, 0x0a, 0x0d].includes(body[6] ?? 0)) && isText(h)
  );
};
const SRT = (h: Uint8Array) =>
  isText(h) &&
  /^\s*\d+\r?\n\d{1,2}:\d{2}:\d{2}[,.]\d{3} --> \d{1,2}:\d{2}:\d{2}[,.]\d{3}/.test(
    new TextDecoder().decode(BOM(h)).slice(0, 200),
  );
const PLAIN = (h: Uint8Array) => isText(h);

export const ALLOWED_TYPES: Record<string, AllowedType> = {
  "image/png": { kind: "image", extensions: ["png"], sniff: PNG, inline: true },
  "image/jpeg": { kind: "image", extensions: ["jpg", "jpeg", "jpe", "jfif"], sniff: JPEG, inline: true },
  "image/gif": { kind: "image", extensions: ["gif"], sniff: GIF, inline: true },
  "image/webp": { kind: "image", extensions: ["webp"], sniff: RIFF("WEBP"), inline: true },
  "image/avif": { kind: "image", extensions: ["avif"], sniff: AVIF, inline: true },
  "audio/mpeg": { kind: "audio", extensions: ["mp3", "mpga"], sniff: MP3, inline: true },
  "audio/aac": { kind: "audio", extensions: ["aac"], sniff: ADTS, inline: true },
  "audio/mp4": { kind: "audio", extensions: ["m4a", "m4b", "mp4"], sniff: M4A, inline: true },
  "audio/wav": { kind: "audio", extensions: ["wav"], sniff: RIFF("WAVE"), inline: true },
  "audio/ogg": { kind: "audio", extensions: ["ogg", "oga", "opus"], sniff: OGG, inline: true },
  "audio/flac": { kind: "audio", extensions: ["flac"], sniff: (h) => ascii(h, 0, "fLaC"), inline: true },
  "audio/webm": { kind: "audio", extensions: ["weba", "webm"], sniff: EBML, inline: true },
  "video/mp4": { kind: "video", extensions: ["mp4", "m4v"], sniff: MP4_VIDEO, inline: true },
  "video/webm": { kind: "video", extensions: ["webm"], sniff: EBML, inline: true },
  "video/ogg": { kind: "video", extensions: ["ogv", "ogg"], sniff: OGG, inline: true },
  "video/quicktime": { kind: "video", extensions: ["mov", "qt"], sniff: QUICKTIME, inline: true },
  "application/pdf": { kind: "document", extensions: ["pdf"], sniff: (h) => ascii(h, 0, "%PDF-"), inline: true },
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {
    kind: "document",
    extensions: ["docx"],
    sniff: ZIP,
    inline: false,
  },
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
    kind: "document",
    extensions: ["xlsx"],
    sniff: ZIP,
    inline: false,
  },
  "application/vnd.openxmlformats-officedocument.presentationml.presentation": {
    kind: "document",
    extensions: ["pptx"],
    sniff: ZIP,
    inline: false,
  },
  "application/msword": { kind: "document", extensions: ["doc"], sniff: OLE, inline: false },
  "application/vnd.ms-excel": { kind: "document", extensions: ["xls"], sniff: OLE, inline: false },
  "application/vnd.ms-powerpoint": { kind: "document", extensions: ["ppt"], sniff: OLE, inline: false },
  "application/vnd.oasis.opendocument.text": { kind: "document", extensions: ["odt"], sniff: ZIP, inline: false },
  "application/vnd.oasis.opendocument.presentation": {
    kind: "document",
    extensions: ["odp"],
    sniff: ZIP,
    inline: false,
  },
  "application/vnd.oasis.opendocument.spreadsheet": {
    kind: "document",
    extensions: ["ods"],
    sniff: ZIP,
    inline: false,
  },
  "application/epub+zip": { kind: "document", extensions: ["epub"], sniff: ZIP, inline: false },
  "text/plain": { kind: "document", extensions: ["txt", "text", "md"], sniff: PLAIN, inline: false },
  "text/csv": { kind: "document", extensions: ["csv"], sniff: PLAIN, inline: false },
  "application/zip": { kind: "archive", extensions: ["zip"], sniff: ZIP, inline: false },
  "text/vtt": { kind: "caption", extensions: ["vtt"], sniff: VTT, inline: true },
  "application/x-subrip": { kind: "caption", extensions: ["srt"], sniff: SRT, inline: true },
};

/** Other spellings clients send for an allowed type. */
const ALIASES: Record<string, string> = {
  "image/jpg": "image/jpeg",
  "image/pjpeg": "image/jpeg",
  "audio/mp3": "audio/mpeg",
  "audio/x-wav": "audio/wav",
  "audio/wave": "audio/wav",
  "audio/x-m4a": "audio/mp4",
  "audio/x-flac": "audio/flac",
  "application/x-zip-compressed": "application/zip",
  "text/srt": "application/x-subrip",
};

/** `image/PNG; charset=x` -> `image/png` (the allowed spelling), or null when the type is not allowed. */
export function normalizeType(declared: string | undefined | null): string | null {
  if (!declared) return null;
  const bare = declared.split(";")[0]?.trim().toLowerCase() ?? "";
  const type = ALIASES[bare] ?? bare;
  return ALLOWED_TYPES[type] ? type : null;
}

export function extensionOf(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
}

export function typeInfo(type: string): AllowedType {
  const info = ALLOWED_TYPES[type];
  if (!info) throw new Error(`not an allowed type: ${type}`);
  return info;
}

/** Whether the first bytes of a file are a file of the (allowed, normalised) declared type. */
export function sniffMatches(type: string, head: Uint8Array): boolean {
  return head.length > 0 && typeInfo(type).sniff(head);
}

/** Served Content-Type: text types carry their charset. */
export function servedType(type: string): string {
  return type.startsWith("text/") || type === "application/x-subrip" ? `${type}; charset=utf-8` : type;
}
