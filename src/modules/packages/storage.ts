/** Where a package's bytes live in R2 PACKAGES (DESIGN.md section 8), and the content types it is served with. */

export const packagePrefix = (tenantId: number, packageId: number) => `t/${tenantId}/packages/${packageId}/`;

/** The unpacked files of one version: nothing is served from it before the version is ready. */
export const versionPrefix = (tenantId: number, packageId: number, version: number) =>
  `${packagePrefix(tenantId, packageId)}v${version}/`;

/** Uploaded zips wait here (the package row may not exist yet when the upload starts). */
export const uploadKey = (tenantId: number) => `t/${tenantId}/packages/uploads/${crypto.randomUUID()}.zip`;

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  htm: "text/html; charset=utf-8",
  xhtml: "application/xhtml+xml",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  xml: "application/xml",
  xsd: "application/xml",
  dtd: "application/xml-dtd",
  txt: "text/plain; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  ico: "image/x-icon",
  bmp: "image/bmp",
  mp3: "audio/mpeg",
  m4a: "audio/mp4",
  wav: "audio/wav",
  ogg: "audio/ogg",
  oga: "audio/ogg",
  mp4: "video/mp4",
  m4v: "video/mp4",
  webm: "video/webm",
  ogv: "video/ogg",
  vtt: "text/vtt; charset=utf-8",
  srt: "text/plain; charset=utf-8",
  pdf: "application/pdf",
  woff: "font/woff",
  woff2: "font/woff2",
  ttf: "font/ttf",
  otf: "font/otf",
  eot: "application/vnd.ms-fontobject",
  swf: "application/x-shockwave-flash",
  wasm: "application/wasm",
  zip: "application/zip",
};

export function contentTypeOf(path: string): string {
  const dot = path.lastIndexOf(".");
  const ext = dot < 0 ? "" : path.slice(dot + 1).toLowerCase();
  return TYPES[ext] ?? "application/octet-stream";
}

/** Deletes every object under a prefix (1,000 keys per call). */
export async function deletePrefix(bucket: R2Bucket, prefix: string) {
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 });
    if (page.objects.length) await bucket.delete(page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
}

/**
 * A zip uploaded through the media library (multipart, for large packages) is read where it is: its key in the
 * version row is `media:<media key>`.
 */
export const MEDIA_ZIP_PREFIX = "media:";

export function zipSource(
  env: { PACKAGES: R2Bucket; MEDIA: R2Bucket },
  zipKey: string,
): { bucket: R2Bucket; key: string } {
  return zipKey.startsWith(MEDIA_ZIP_PREFIX)
    ? { bucket: env.MEDIA, key: zipKey.slice(MEDIA_ZIP_PREFIX.length) }
    : { bucket: env.PACKAGES, key: zipKey };
}
