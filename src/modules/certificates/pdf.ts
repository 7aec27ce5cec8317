import { PDFDocument, type PDFFont, rgb, StandardFonts } from "pdf-lib";
import type { CertificateField } from "./tables";

/** What a certificate prints for each field key (everything but `text`, which carries its own). */
export interface CertificateValues {
  recipient_name: string;
  course_name: string;
  issued_at: string;
  expires_at: string;
  code: string;
  verify_url: string;
}

export interface PdfInput {
  width: number;
  height: number;
  fields: CertificateField[];
  /** PNG or JPEG bytes drawn over the whole page under the texts, or nothing. */
  background: Uint8Array | null;
  values: CertificateValues;
  title: string;
  /** The PDF's creation date (the issue time), so the same certificate renders to the same document. */
  issuedAt: string;
}

/** The layout used when a certificate's template was deleted: the essentials, left-aligned on A4 landscape. */
export const DEFAULT_LAYOUT: { width: number; height: number; fields: CertificateField[] } = {
  width: 842,
  height: 595,
  fields: [
    { key: "text", x: 80, y: 140, size: 20, text: "Certificate of completion", color: "#374151" },
    { key: "recipient_name", x: 80, y: 240, size: 40 },
    { key: "course_name", x: 80, y: 310, size: 24 },
    { key: "issued_at", x: 80, y: 380, size: 14 },
    { key: "code", x: 80, y: 520, size: 10, color: "#6b7280" },
    { key: "verify_url", x: 80, y: 540, size: 10, color: "#6b7280" },
  ],
};

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** `2026-11-24T09:30:00.000Z` -> `24 November 2026` (UTC; the same whatever the runtime's locale data). */
export function printableDate(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

/**
 * The text as the standard Helvetica font can draw it: the 14 standard PDF fonts encode WinAnsi only, and
 * pdf-lib throws on anything else, so other characters become `?` (accents of Latin-1 survive), and control
 * characters (line breaks included) become spaces.
 */
function drawable(text: string, font: PDFFont, charset: Set<number>): string {
  let out = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 63;
    if (cp < 32 || cp === 127) out += " ";
    else out += charset.has(cp) ? ch : "?";
  }
  // Keeps pdf-lib's own encoder from ever seeing a glyph it cannot encode.
  try {
    font.encodeText(out);
    return out;
  } catch {
    return out.replace(/[^\x20-\x7e]/g, "?");
  }
}

function hexColor(color: string | undefined) {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color ?? "");
  if (!m) return rgb(0, 0, 0);
  return rgb(Number.parseInt(m[1], 16) / 255, Number.parseInt(m[2], 16) / 255, Number.parseInt(m[3], 16) / 255);
}

async function drawBackground(doc: PDFDocument, bytes: Uint8Array, width: number, height: number) {
  const isPng = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  if (!isPng && !isJpeg) return;
  try {
    const image = isPng ? await doc.embedPng(bytes) : await doc.embedJpg(bytes);
    doc.getPage(0).drawImage(image, { x: 0, y: 0, width, height });
  } catch {
    // A damaged image is left out rather than failing the certificate.
  }
}

/**
 * Renders a certificate: one page of the template's size, its background (when given), and each field's text
 * at its place (x from the left, y from the top to the baseline), in Helvetica. A text longer than the room to
 * the right edge is drawn smaller so it stays on the page.
 */
export async function renderCertificatePdf(input: PdfInput): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const issued = new Date(input.issuedAt);
  doc.setTitle(input.title.slice(0, 300));
  doc.setSubject(`Certificate ${input.values.code}`);
  doc.setProducer("Lectern");
  doc.setCreator("Lectern");
  if (!Number.isNaN(issued.getTime())) {
    doc.setCreationDate(issued);
    doc.setModificationDate(issued);
  }
  const page = doc.addPage([input.width, input.height]);
  if (input.background) await drawBackground(doc, input.background, input.width, input.height);
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const charset = new Set(font.getCharacterSet());
  for (const field of input.fields) {
    const raw = field.key === "text" ? (field.text ?? "") : input.values[field.key as keyof CertificateValues];
    if (!raw) continue;
    const text = drawable(raw, font, charset);
    let size = field.size;
    const room = input.width - field.x;
    const width = font.widthOfTextAtSize(text, size);
    if (width > room && room > 0) size = Math.max(2, (size * room) / width);
    page.drawText(text, {
      x: field.x,
      y: input.height - field.y,
      size,
      font,
      color: hexColor(field.color),
    });
  }
  return doc.save();
}
