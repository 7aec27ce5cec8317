/**
 * The media library on R2 MEDIA: single-request and multipart uploads (streamed, sniffed, under quota), the
 * library API, usages and guarded delete, signed downloads with Range / If-None-Match, learners' signed URLs.
 * Everything runs on the real local R2 and D1 through the Worker's fetch handler.
 */
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../src/index";
import { r2KeyOf, sweepExpiredUploads } from "../src/modules/media/service";
import { signedMediaPath } from "../src/modules/media/signing";
import { createDb } from "../src/platform/db";
import { type ApiResponse, api, expectProblem, expectStatus, platformToken } from "./helpers/api";
import {
  createTenant,
  keyWithout,
  lastEvent,
  learnerSession,
  staffSession,
  type TestTenant,
  unique,
} from "./helpers/factories";
import { type Recorded, recordingD1 } from "./helpers/recording-d1";

const MiB = 1024 * 1024;

// ---- file fixtures -----------------------------------------------------------------------------------------------

const PNG_HEAD = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52];
/** An MP4 file's first box: `ftyp` with brand isom. */
const MP4_HEAD = [
  0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 2, 0, 0x69, 0x73, 0x6f, 0x6d, 0x6d, 0x70, 0x34,
  0x31,
];

/** `size` bytes starting with `head`, the rest a pattern that depends on the position. */
function fileBytes(head: number[], size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + (i >>> 8)) & 255;
  bytes.set(head.slice(0, size));
  return bytes;
}
const png = (size = 2000) => fileBytes(PNG_HEAD, size);

/** A Windows executable (MZ header) as an attacker would rename it. */
const exe = () => fileBytes([0x4d, 0x5a, 0x90, 0x00, 0x03, 0x00, 0x00, 0x00], 3000);

/** Sends a raw body (the file) through the Worker's fetch handler. */
async function raw(
  method: string,
  path: string,
  body: BodyInit | null,
  initialHeaders: Record<string, string> = {},
): Promise<ApiResponse & { bytes: Uint8Array }> {
  // What an HTTP client sends on the wire (a Request built in the isolate does not add it itself).
  let headers = initialHeaders;
  if (body instanceof Uint8Array) headers = { "content-length": String(body.byteLength), ...headers };
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://lectern.test${path}`, { method, headers, body }), env, ctx);
  const bytes = new Uint8Array(await res.arrayBuffer());
  await waitOnExecutionContext(ctx);
  const text = new TextDecoder().decode(bytes.subarray(0, 64 * 1024));
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, body: parsed as any, text, bytes };
}

function upload(t: TestTenant | string, bytes: Uint8Array, type: string, query: string, token?: string) {
  return raw("POST", `/v1/admin/media?${query}`, bytes, {
    authorization: `Bearer ${token ?? (t as TestTenant).key}`,
    "content-type": type,
  });
}

async function uploadPng(t: TestTenant, name = `${unique("pic")}.png`, size = 2000) {
  const res = await upload(t, png(size), "image/png", `name=${encodeURIComponent(name)}`);
  expectStatus(res, 201);
  return res.body as { id: number; name: string; size: number; etag: string };
}

async function signedUrl(t: TestTenant, id: number, body?: unknown) {
  const res = await api("POST", `/v1/admin/media/${id}/download-url`, { token: t.key, body });
  expectStatus(res, 200);
  return new URL(res.body.url as string);
}

const get = (url: URL | string, headers: Record<string, string> = {}, method = "GET") =>
  raw(method, typeof url === "string" ? url : url.pathname + url.search, null, headers);

async function setLimits(t: TestTenant, media: Record<string, number>) {
  expectStatus(
    await api("PATCH", `/v1/platform/tenants/${t.id}`, { token: platformToken(), body: { settings: { media } } }),
    200,
  );
}

let a: TestTenant;
let b: TestTenant;

beforeAll(async () => {
  a = await createTenant();
  b = await createTenant();
});

// ---- single-request upload ---------------------------------------------------------------------------------------

describe("single-request upload", () => {
  it("streams the file to R2 under t/<tenant>/media/<id>/<name>, lists it and emits media.created", async () => {
    const bytes = png(5000);
    const res = await upload(a, bytes, "image/png", "name=diagram.png&title=The%20diagram&alt=A%20diagram");
    expectStatus(res, 201);
    expect(res.headers.get("location")).toBe(`/v1/admin/media/${res.body.id}`);
    expect(res.body).toMatchObject({
      name: "diagram.png",
      title: "The diagram",
      alt: "A diagram",
      content_type: "image/png",
      kind: "image",
      size: 5000,
      visibility: "private",
      duration_seconds: null,
    });
    expect(res.body.etag).toMatch(/^".+"$/);
    const object = await env.MEDIA.get(`t/${a.id}/media/${res.body.id}/diagram.png`);
    expect(new Uint8Array(await object!.arrayBuffer())).toEqual(bytes);
    expect(object!.httpMetadata?.contentType).toBe("image/png");
    expect(await lastEvent(a.id, "media.created")).toMatchObject({ id: res.body.id, source: "single" });

    const got = await api("GET", `/v1/admin/media/${res.body.id}`, { token: a.key });
    expect(got.body).toEqual(res.body);
    const list = await api("GET", "/v1/admin/media?kind=image&q=diagram", { token: a.key });
    expect(list.body.data.map((m: { id: number }) => m.id)).toContain(res.body.id);
  });

  it("refuses an executable renamed .png (sniffing), and stores nothing", async () => {
    const t = await createTenant();
    const problem = expectProblem(await upload(t, exe(), "image/png", "name=holiday.png"), 415);
    expect(problem.type).toContain("content-type-mismatch");
    expect((await env.MEDIA.list({ prefix: `t/${t.id}/` })).objects).toHaveLength(0);
    const usage = await api("GET", "/v1/admin/media/usage", { token: t.key });
    expect(usage.body).toMatchObject({ used_bytes: 0, reserved_bytes: 0, file_count: 0 });
  });

  it("refuses types outside the allow list (415) and names that do not fit the type (422)", async () => {
    expectProblem(await upload(a, exe(), "application/x-msdownload", "name=setup.exe"), 415);
    expectProblem(await upload(a, png(), "text/html", "name=page.html"), 415);
    const body = expectProblem(await upload(a, png(), "image/png", "name=picture.exe"), 422);
    expect(body.errors?.[0]?.path).toBe("name");
    expectProblem(await upload(a, png(), "image/png", ""), 422); // no name
    expectProblem(await upload(a, new Uint8Array(0), "image/png", "name=empty.png"), 422);
  });

  it("accepts the other kinds when their bytes match: pdf, mp3, vtt captions, docx (zip)", async () => {
    const cases: [string, string, number[] | string][] = [
      ["application/pdf", "notes.pdf", "%PDF-1.7\n"],
      ["audio/mpeg", "talk.mp3", "ID3\u0004\u0000"],
      ["text/vtt", "captions.vtt", "WEBVTT\n\n00:00.000 --> 00:02.000\nHello\n"],
      ["application/vnd.openxmlformats-officedocument.wordprocessingml.document", "essay.docx", [0x50, 0x4b, 3, 4]],
      ["application/x-subrip", "captions.srt", "1\n00:00:00,000 --> 00:00:02,000\nHello\n"],
    ];
    for (const [type, name, head] of cases) {
      const bytes = typeof head === "string" ? new TextEncoder().encode(head.padEnd(300, " ")) : fileBytes(head, 300);
      const res = await upload(a, bytes, type, `name=${name}`);
      expect(res.status, `${type}: ${res.text}`).toBe(201);
    }
    // A PDF declared as a PNG is a mismatch too.
    expectProblem(await upload(a, new TextEncoder().encode("%PDF-1.7 ......"), "image/png", "name=x.png"), 415);
  });

  it("needs Content-Length (411) and stays under the academy's single-upload limit (413)", async () => {
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(png(100));
        controller.close();
      },
    });
    const res = await raw("POST", "/v1/admin/media?name=x.png", stream, {
      authorization: `Bearer ${a.key}`,
      "content-type": "image/png",
    });
    expectProblem(res, 411);

    const t = await createTenant();
    await setLimits(t, { max_upload_bytes: 1000 });
    const big = expectProblem(await upload(t, png(1001), "image/png", "name=big.png"), 413);
    expect(big.max_upload_bytes).toBe(1000);
    expectStatus(await upload(t, png(1000), "image/png", "name=fits.png"), 201);
  });

  it("refuses a file over the quota with a 409 quota-exceeded problem, counting files already stored", async () => {
    const t = await createTenant();
    await setLimits(t, { quota_bytes: 5000 });
    expectStatus(await upload(t, png(3000), "image/png", "name=one.png"), 201);
    const problem = expectProblem(await upload(t, png(2001), "image/png", "name=two.png"), 409);
    expect(problem.type).toContain("quota-exceeded");
    expectStatus(await upload(t, png(2000), "image/png", "name=three.png"), 201);
    const usage = await api("GET", "/v1/admin/media/usage", { token: t.key });
    expect(usage.body).toMatchObject({ used_bytes: 5000, quota_bytes: 5000, available_bytes: 0, file_count: 2 });
  });

  it("answers 401 without a credential, 403 without media:write or with a learner token", async () => {
    expectProblem(await raw("POST", "/v1/admin/media?name=a.png", png(), { "content-type": "image/png" }), 401);
    const noWrite = await keyWithout(a, "media:write");
    const denied = expectProblem(await upload(a, png(), "image/png", "name=a.png", noWrite), 403);
    expect(denied.required_permission).toBe("media:write");
    const learner = await learnerSession(a);
    expectProblem(await upload(a, png(), "image/png", "name=a.png", learner.token), 403);
  });
});

// ---- downloads -----------------------------------------------------------------------------------------------------

describe("downloads", () => {
  let file: { id: number; name: string; size: number; etag: string };
  let bytes: Uint8Array;
  let url: URL;

  beforeAll(async () => {
    bytes = png(10_000);
    const res = await upload(a, bytes, "image/png", "name=R%C3%A9sum%C3%A9%20chart.png");
    expectStatus(res, 201);
    file = res.body;
    url = await signedUrl(a, file.id);
  });

  it("serves the whole file with its type, ETag and Content-Disposition", async () => {
    expect(url.pathname).toBe(`/media/${a.id}/${file.id}/R%C3%A9sum%C3%A9%20chart.png`);
    const res = await get(url);
    expectStatus(res, 200);
    expect(res.bytes).toEqual(bytes);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("content-length")).toBe("10000");
    expect(res.headers.get("etag")).toBe(file.etag);
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-disposition")).toBe(
      `inline; filename="R_sum_ chart.png"; filename*=UTF-8''R%C3%A9sum%C3%A9%20chart.png`,
    );
    const attachment = await get(`${url.pathname}${url.search}&download=1`);
    expect(attachment.headers.get("content-disposition")).toMatch(/^attachment; /);
  });

  it("answers 304 to If-None-Match with the current ETag", async () => {
    const res = await get(url, { "if-none-match": file.etag });
    expect(res.status).toBe(304);
    expect(res.bytes).toHaveLength(0);
    expect(res.headers.get("etag")).toBe(file.etag);
    expectStatus(await get(url, { "if-none-match": '"something-else"' }), 200);
    expect((await get(url, { "if-none-match": `W/${file.etag}` })).status).toBe(304);
  });

  it("serves byte ranges: closed, open-ended, suffix, clamped, and 416 past the end", async () => {
    const range = async (header: string, status: number, from?: number, to?: number) => {
      const res = await get(url, { range: header });
      expect(res.status, `${header}: ${res.text.slice(0, 200)}`).toBe(status);
      if (status === 206 && from !== undefined && to !== undefined) {
        expect(res.headers.get("content-range")).toBe(`bytes ${from}-${to}/10000`);
        expect(res.headers.get("content-length")).toBe(String(to - from + 1));
        expect(res.bytes).toEqual(bytes.subarray(from, to + 1));
      }
      return res;
    };
    await range("bytes=0-0", 206, 0, 0);
    await range("bytes=0-99", 206, 0, 99);
    await range("bytes=9000-", 206, 9000, 9999);
    await range("bytes=-500", 206, 9500, 9999);
    await range("bytes=-20000", 206, 0, 9999); // suffix longer than the file: all of it
    await range("bytes=9990-20000", 206, 9990, 9999); // end past the file: clamped
    await range("bytes=9999-9999", 206, 9999, 9999);
    for (const unsatisfiable of ["bytes=10000-", "bytes=10000-10005", "bytes=-0"]) {
      const res = await range(unsatisfiable, 416);
      expectProblem(res, 416);
      expect(res.headers.get("content-range")).toBe("bytes */10000");
    }
    // Not honoured (the whole file, 200): several ranges, another unit, nonsense, an inverted range.
    for (const ignored of ["bytes=0-1,5-6", "items=0-1", "bytes=abc", "bytes=50-10", "bytes=-"]) {
      const res = await range(ignored, 200);
      expect(res.bytes).toEqual(bytes);
    }
    // If-Range: the range only applies to the same version.
    await range("bytes=0-9", 206, 0, 9);
    expect((await get(url, { range: "bytes=0-9", "if-range": file.etag })).status).toBe(206);
    expect((await get(url, { range: "bytes=0-9", "if-range": '"old"' })).status).toBe(200);
  });

  it("answers HEAD with the headers and no body", async () => {
    const res = await get(url, { range: "bytes=0-9" }, "HEAD");
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe("bytes 0-9/10000");
    expect(res.bytes).toHaveLength(0);
  });

  it("refuses an expired signed URL (403 url-expired) and a forged one (403 invalid-signature)", async () => {
    const expired = await signedMediaPath(env, a.id, file.id, file.name, 60, Date.now() - 3600_000);
    expect(expectProblem(await get(expired.path), 403).type).toContain("url-expired");
    const forged = `${url.pathname}?expires=${url.searchParams.get("expires")}&signature=${"A".repeat(43)}`;
    expect(expectProblem(await get(forged), 403).type).toContain("invalid-signature");
    // A signature of this file does not open another id or another academy's file with the same id.
    const other = await uploadPng(b);
    const moved = `/media/${b.id}/${other.id}/x.png${url.search}`;
    expectProblem(await get(moved), 403);
    // A longer expiry the client picks.
    const custom = await signedUrl(a, file.id, { expires_in: 60 });
    const expires = Number(custom.searchParams.get("expires"));
    expect(expires - Date.now() / 1000).toBeGreaterThan(50);
    expect(expires - Date.now() / 1000).toBeLessThanOrEqual(60);
    expectProblem(
      await api("POST", `/v1/admin/media/${file.id}/download-url`, { token: a.key, body: { expires_in: 1 } }),
      422,
    );
  });

  it("serves private files only with a signature; public files without one", async () => {
    const plain = `/media/${a.id}/${file.id}/${file.name}`;
    expectProblem(await get(plain), 404);
    expectStatus(
      await api("PATCH", `/v1/admin/media/${file.id}`, { token: a.key, body: { visibility: "public" } }),
      200,
    );
    const res = await get(plain);
    expectStatus(res, 200);
    expect(res.headers.get("cache-control")).toContain("public");
    expectStatus(
      await api("PATCH", `/v1/admin/media/${file.id}`, { token: a.key, body: { visibility: "private" } }),
      200,
    );
    expectProblem(await get(plain), 404);
    expectProblem(await get(`/media/${a.id}/99999999/x.png`), 404);
  });

  it("issues download URLs only to media:read, and only for the caller's academy", async () => {
    expectProblem(await api("POST", `/v1/admin/media/${file.id}/download-url`), 401);
    const noRead = await keyWithout(a, "media:read");
    expectProblem(await api("POST", `/v1/admin/media/${file.id}/download-url`, { token: noRead }), 403);
    expectProblem(await api("POST", `/v1/admin/media/${file.id}/download-url`, { token: b.key }), 404);
  });
});

// ---- multipart upload ---------------------------------------------------------------------------------------------

/**
 * A generated file too big to hold: block k (1 MiB) is a fixed pattern with k written in its first 4 bytes,
 * and the first block starts with an MP4 `ftyp` box. `bytesAt` reproduces any slice.
 */
const BLOCK = (() => {
  const block = new Uint8Array(MiB);
  for (let i = 0; i < MiB; i++) block[i] = (i * 13 + (i >>> 10)) & 255;
  return block;
})();
function blockOf(k: number): Uint8Array {
  const out = BLOCK.slice();
  new DataView(out.buffer).setUint32(0, k);
  if (k === 0) out.set(MP4_HEAD);
  return out;
}
function bytesAt(offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let written = 0;
  while (written < length) {
    const at = offset + written;
    const k = Math.floor(at / MiB);
    const block = blockOf(k);
    const from = at - k * MiB;
    const take = Math.min(MiB - from, length - written);
    out.set(block.subarray(from, from + take), written);
    written += take;
  }
  return out;
}
interface Sized {
  stream: ReadableStream;
  length: number;
}
/** The bytes [offset, offset + length) of the generated file as a fixed-length stream (never all in memory). */
function streamOf(offset: number, length: number): Sized {
  const { readable, writable } = new FixedLengthStream(length);
  (async () => {
    const writer = writable.getWriter();
    for (let at = offset; at < offset + length; at += MiB) {
      await writer.write(bytesAt(at, Math.min(MiB, offset + length - at)));
    }
    await writer.close();
  })();
  return { stream: readable, length };
}

async function createUpload(t: TestTenant, body: Record<string, unknown>) {
  const res = await api("POST", "/v1/admin/media/uploads", { token: t.key, body });
  expectStatus(res, 201);
  return res.body as {
    upload_id: number;
    media_id: number;
    part_size: number;
    part_count: number;
    last_part_size: number;
  };
}

function putPart(t: TestTenant, uploadId: number, n: number, body: Uint8Array | Sized, token = t.key) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (!(body instanceof Uint8Array)) headers["content-length"] = String(body.length);
  return raw(
    "PUT",
    `/v1/admin/media/uploads/${uploadId}/parts/${n}`,
    body instanceof Uint8Array ? body : body.stream,
    headers,
  );
}

/** Sends every part of the generated file of `size` bytes; returns the completed file. */
async function uploadInParts(t: TestTenant, size: number, partSize?: number) {
  const up = await createUpload(t, {
    name: `${unique("lecture")}.mp4`,
    content_type: "video/mp4",
    size,
    ...(partSize ? { part_size: partSize } : {}),
  });
  for (let n = 1; n <= up.part_count; n++) {
    const offset = (n - 1) * up.part_size;
    const length = n < up.part_count ? up.part_size : up.last_part_size;
    const res = await putPart(t, up.upload_id, n, streamOf(offset, length));
    expectStatus(res, 200);
  }
  const done = await api("POST", `/v1/admin/media/uploads/${up.upload_id}/complete`, { token: t.key });
  expectStatus(done, 201);
  return { upload: up, file: done.body as { id: number; size: number; etag: string; name: string } };
}

describe("multipart upload", () => {
  it("lays out parts by R2's rules, takes parts in any order and retried, completes, and downloads with Range", async () => {
    const t = await createTenant();
    const size = 2 * 5 * MiB + 12_345;
    const up = await createUpload(t, { name: "lecture.mp4", content_type: "video/mp4", size, part_size: 5 * MiB });
    expect(up).toMatchObject({ part_size: 5 * MiB, part_count: 3, last_part_size: 12_345 });
    const usage = await api("GET", "/v1/admin/media/usage", { token: t.key });
    expect(usage.body).toMatchObject({ used_bytes: 0, reserved_bytes: size });
    // Not listed while it uploads.
    expect((await api("GET", "/v1/admin/media", { token: t.key })).body.meta.total).toBe(0);

    // The last part first; a wrong size is refused; a part number past the end too.
    expectStatus(await putPart(t, up.upload_id, 3, streamOf(2 * 5 * MiB, 12_345)), 200);
    expectProblem(await putPart(t, up.upload_id, 2, bytesAt(5 * MiB, 1000)), 422);
    expectProblem(await putPart(t, up.upload_id, 4, bytesAt(0, 10)), 422);
    // Part 1 must carry the declared type's signature.
    const fake = bytesAt(0, 5 * MiB);
    fake.set(exe().subarray(0, 64));
    expect(expectProblem(await putPart(t, up.upload_id, 1, fake), 415).type).toContain("content-type-mismatch");

    // Completing early names what is missing.
    const early = expectProblem(
      await api("POST", `/v1/admin/media/uploads/${up.upload_id}/complete`, { token: t.key }),
      409,
    );
    expect(early.missing_parts).toEqual([1, 2]);

    expectStatus(await putPart(t, up.upload_id, 2, streamOf(5 * MiB, 5 * MiB)), 200);
    expectStatus(await putPart(t, up.upload_id, 1, streamOf(0, 5 * MiB)), 200);
    // A retried part replaces the first copy.
    const retried = await putPart(t, up.upload_id, 2, streamOf(5 * MiB, 5 * MiB));
    expectStatus(retried, 200);
    const state = await api("GET", `/v1/admin/media/uploads/${up.upload_id}`, { token: t.key });
    expect(state.body.missing_parts).toEqual([]);
    expect(state.body.parts.map((p: { part_number: number }) => p.part_number)).toEqual([1, 2, 3]);
    expect(state.body.parts[1].etag).toBe(retried.body.etag);

    const done = await api("POST", `/v1/admin/media/uploads/${up.upload_id}/complete`, { token: t.key });
    expectStatus(done, 201);
    expect(done.body).toMatchObject({ id: up.media_id, size, content_type: "video/mp4", kind: "video" });
    expect(await lastEvent(t.id, "media.created")).toMatchObject({ id: up.media_id, source: "multipart" });
    expectProblem(await api("GET", `/v1/admin/media/uploads/${up.upload_id}`, { token: t.key }), 404);
    // A retried complete (its answer was lost) answers the same file and records nothing more; the upload
    // takes no more parts and can no longer be aborted.
    const again = await api("POST", `/v1/admin/media/uploads/${up.upload_id}/complete`, { token: t.key });
    expectStatus(again, 201);
    expect(again.body).toEqual(done.body);
    expectProblem(await putPart(t, up.upload_id, 3, streamOf(2 * 5 * MiB, 12_345)), 409);
    expectProblem(await api("DELETE", `/v1/admin/media/uploads/${up.upload_id}`, { token: t.key }), 409);
    const created = await env.DB.prepare(
      "SELECT count(*) AS n FROM outbox WHERE tenant_id = ? AND type = 'media.created' AND json_extract(data, '$.id') = ?",
    )
      .bind(t.id, up.media_id)
      .first<{ n: number }>();
    expect(created?.n).toBe(1);
    expect((await api("GET", "/v1/admin/media/usage", { token: t.key })).body).toMatchObject({
      used_bytes: size,
      reserved_bytes: 0,
    });

    const url = await signedUrl(t, up.media_id);
    // A range across the boundary of parts 1 and 2, and the tail of the last part.
    const across = await get(url, { range: `bytes=${5 * MiB - 100}-${5 * MiB + 99}` });
    expectStatus(across, 206);
    expect(across.bytes).toEqual(bytesAt(5 * MiB - 100, 200));
    const tail = await get(url, { range: "bytes=-1000" });
    expect(tail.headers.get("content-range")).toBe(`bytes ${size - 1000}-${size - 1}/${size}`);
    expect(tail.bytes).toEqual(bytesAt(size - 1000, 1000));
    const head = await get(url, { range: "bytes=0-23" });
    expect(Array.from(head.bytes)).toEqual(MP4_HEAD);
  });

  it("completes once when two completes race: both answer the file, one media.created", async () => {
    const t = await createTenant();
    const up = await createUpload(t, { name: "race.mp4", content_type: "video/mp4", size: 6 * MiB });
    expectStatus(await putPart(t, up.upload_id, 1, streamOf(0, 6 * MiB)), 200);
    const complete = () => api("POST", `/v1/admin/media/uploads/${up.upload_id}/complete`, { token: t.key });
    const [first, second] = await Promise.all([complete(), complete()]);
    expectStatus(first, 201);
    expectStatus(second, 201);
    expect(second.body.id).toBe(first.body.id);
    const created = await env.DB.prepare(
      "SELECT count(*) AS n FROM outbox WHERE tenant_id = ? AND type = 'media.created'",
    )
      .bind(t.id)
      .first<{ n: number }>();
    expect(created?.n).toBe(1);
    const download = await get(await signedUrl(t, up.media_id), { range: "bytes=-10" });
    expect(download.bytes).toEqual(bytesAt(6 * MiB - 10, 10));
  });

  it("aborts: parts dropped, reservation released, the upload gone", async () => {
    const t = await createTenant();
    const up = await createUpload(t, { name: "draft.mp4", content_type: "video/mp4", size: 6 * MiB });
    expect(up).toMatchObject({ part_size: 8 * MiB, part_count: 1, last_part_size: 6 * MiB });
    expectStatus(await putPart(t, up.upload_id, 1, streamOf(0, 6 * MiB)), 200);
    expectStatus(await api("DELETE", `/v1/admin/media/uploads/${up.upload_id}`, { token: t.key }), 204);
    expectProblem(await api("GET", `/v1/admin/media/uploads/${up.upload_id}`, { token: t.key }), 404);
    expectProblem(await putPart(t, up.upload_id, 1, streamOf(0, 6 * MiB)), 404);
    expect((await api("GET", "/v1/admin/media/usage", { token: t.key })).body.reserved_bytes).toBe(0);
    expect((await env.MEDIA.list({ prefix: `t/${t.id}/` })).objects).toHaveLength(0);
  });

  it("validates the request: type, name, part size; size limit 413; quota 409", async () => {
    const t = await createTenant();
    await setLimits(t, { quota_bytes: 20 * MiB, max_file_bytes: 30 * MiB });
    const create = (body: Record<string, unknown>) => api("POST", "/v1/admin/media/uploads", { token: t.key, body });
    const base = { name: "a.mp4", content_type: "video/mp4", size: 10 * MiB };
    expect(
      expectProblem(await create({ ...base, content_type: "application/x-msdownload" }), 422).errors?.[0]?.path,
    ).toBe("content_type");
    expect(expectProblem(await create({ ...base, name: "a.exe" }), 422).errors?.[0]?.path).toBe("name");
    expect(expectProblem(await create({ ...base, part_size: 1024 }), 422).errors?.[0]?.path).toBe("part_size");
    expect(expectProblem(await create({ ...base, size: -1 }), 422).errors?.[0]?.path).toBe("size");
    expect(expectProblem(await create({ ...base, owner: 1 }), 422).errors?.[0]?.message).toBe("Unknown field.");
    expectProblem(await create({ ...base, size: 31 * MiB }), 413);
    await createUpload(t, { ...base, size: 15 * MiB });
    // The first upload's reservation counts: 15 + 10 > 20.
    expect(expectProblem(await create(base), 409).type).toContain("quota-exceeded");
  });

  it("keeps uploads to their academy and to media:write", async () => {
    const up = await createUpload(a, { name: "mine.mp4", content_type: "video/mp4", size: 6 * MiB });
    expectProblem(await api("GET", `/v1/admin/media/uploads/${up.upload_id}`, { token: b.key }), 404);
    expectProblem(await putPart(b, up.upload_id, 1, streamOf(0, 6 * MiB)), 404);
    expectProblem(await api("POST", `/v1/admin/media/uploads/${up.upload_id}/complete`, { token: b.key }), 404);
    expectProblem(await api("DELETE", `/v1/admin/media/uploads/${up.upload_id}`, { token: b.key }), 404);
    expectProblem(await api("GET", `/v1/admin/media/uploads/${up.upload_id}`), 401);
    const noWrite = await keyWithout(a, "media:write");
    expectProblem(await putPart(a, up.upload_id, 1, streamOf(0, 6 * MiB), noWrite), 403);
    expectProblem(
      await api("POST", "/v1/admin/media/uploads", {
        token: noWrite,
        body: { name: "a.mp4", content_type: "video/mp4", size: 1 },
      }),
      403,
    );
    expectStatus(await api("DELETE", `/v1/admin/media/uploads/${up.upload_id}`, { token: a.key }), 204);
  });

  it("uploads a 200 MiB file in parts and downloads ranges of it (the issue's done-when)", async () => {
    const t = await createTenant();
    const size = 200 * MiB;
    const { upload: up, file } = await uploadInParts(t, size, 25 * MiB);
    expect(up.part_count).toBe(8);
    expect(file.size).toBe(size);
    const object = await env.MEDIA.head(`t/${t.id}/media/${file.id}/${file.name}`);
    expect(object?.size).toBe(size);
    const url = await signedUrl(t, file.id);
    for (const [from, length] of [
      [0, 4096],
      [25 * MiB - 10, 20],
      [137 * MiB + 5, 70_000],
      [size - 3000, 3000],
    ] as const) {
      const res = await get(url, { range: `bytes=${from}-${from + length - 1}` });
      expectStatus(res, 206);
      expect(res.headers.get("content-range")).toBe(`bytes ${from}-${from + length - 1}/${size}`);
      expect(res.bytes).toEqual(bytesAt(from, length));
    }
    expectProblem(await get(url, { range: `bytes=${size}-` }), 416);
  }, 180_000);
});

// ---- library: list, get, update, delete, usages ---------------------------------------------------------------------

describe("library", () => {
  it("lists with filters, search, sort and pagination, never another academy's files", async () => {
    const t = await createTenant();
    const names = ["b-chart.png", "a-photo.png", "c-shot.png"];
    for (const [i, name] of names.entries()) await uploadPng(t, name, 1000 + i * 100);
    await upload(t, new TextEncoder().encode("%PDF-1.4 hello"), "application/pdf", "name=guide.pdf");
    await uploadPng(b, "a-photo.png");

    const list = await api("GET", "/v1/admin/media?sort=name&per_page=2", { token: t.key });
    expect(list.body.meta).toMatchObject({ page: 1, per_page: 2, total: 4, last_page: 2 });
    expect(list.body.data.map((m: { name: string }) => m.name)).toEqual(["a-photo.png", "b-chart.png"]);
    const bySize = await api("GET", "/v1/admin/media?kind=image&sort=-size", { token: t.key });
    expect(bySize.body.data.map((m: { size: number }) => m.size)).toEqual([1200, 1100, 1000]);
    const docs = await api("GET", "/v1/admin/media?kind=document", { token: t.key });
    expect(docs.body.data.map((m: { name: string }) => m.name)).toEqual(["guide.pdf"]);
    const typed = await api("GET", "/v1/admin/media?content_type=application/pdf", { token: t.key });
    expect(typed.body.meta.total).toBe(1);
    const search = await api("GET", "/v1/admin/media?q=PHOTO", { token: t.key });
    expect(search.body.data.map((m: { name: string }) => m.name)).toEqual(["a-photo.png"]);
    expectProblem(await api("GET", "/v1/admin/media?kind=executable", { token: t.key }), 422);
    expectProblem(await api("GET", "/v1/admin/media?sort=secret", { token: t.key }), 422);
    expectProblem(await api("GET", "/v1/admin/media"), 401);
    expectProblem(await api("GET", "/v1/admin/media", { token: await keyWithout(t, "media:read") }), 403);
    const types = await api("GET", "/v1/admin/media/types", { token: t.key });
    expect(types.body.data).toContainEqual({ content_type: "image/png", kind: "image", extensions: ["png"] });
  });

  it("updates title, alt, visibility and duration (audio/video only), emitting media.updated", async () => {
    const file = await uploadPng(a);
    const res = await api("PATCH", `/v1/admin/media/${file.id}`, {
      token: a.key,
      body: { title: "Cover", alt: "A cover image" },
    });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({ title: "Cover", alt: "A cover image" });
    expect(await lastEvent(a.id, "media.updated")).toMatchObject({ id: file.id, changed: ["title", "alt"] });
    expect(
      expectProblem(
        await api("PATCH", `/v1/admin/media/${file.id}`, { token: a.key, body: { duration_seconds: 12 } }),
        422,
      ).errors?.[0]?.path,
    ).toBe("duration_seconds");
    expectProblem(await api("PATCH", `/v1/admin/media/${file.id}`, { token: a.key, body: { size: 1 } }), 422);
    expectProblem(await api("PATCH", `/v1/admin/media/${file.id}`, { token: a.key, body: { title: "" } }), 422);
    expectProblem(await api("PATCH", `/v1/admin/media/${file.id}`, { token: b.key, body: { title: "x" } }), 404);
    expectProblem(await api("GET", `/v1/admin/media/${file.id}`, { token: b.key }), 404);

    const { file: video } = await uploadInParts(a, 5 * MiB + 10);
    const timed = await api("PATCH", `/v1/admin/media/${video.id}`, { token: a.key, body: { duration_seconds: 312 } });
    expect(timed.body.duration_seconds).toBe(312);
  });

  it("refuses to delete a file a module or a certificate template uses (409 naming them) unless forced", async () => {
    const t = await createTenant();
    const file = await uploadPng(t, "cover.png");
    const video = await upload(t, bytesAt(0, 4000), "video/mp4", "name=intro.mp4");
    expectStatus(video, 201);

    const module = await api("POST", "/v1/admin/modules", {
      token: t.key,
      body: { type: "video", name: "Intro", settings: { provider: "upload", media_id: video.body.id } },
    });
    expectStatus(module, 201);
    const template = await api("POST", "/v1/admin/certificate-templates", {
      token: t.key,
      body: { name: "Diploma", background_media_id: file.id },
    });
    expectStatus(template, 201);
    // Another academy's module naming the same id does not count.
    await api("POST", "/v1/admin/modules", {
      token: b.key,
      body: { type: "video", name: "Theirs", settings: { provider: "upload", media_id: file.id } },
    });

    const usages = await api("GET", `/v1/admin/media/${video.body.id}/usages`, { token: t.key });
    expect(usages.body.data).toEqual([{ type: "module", id: module.body.id, name: "Intro" }]);
    const inUse = expectProblem(await api("DELETE", `/v1/admin/media/${video.body.id}`, { token: t.key }), 409);
    expect(inUse.used_by).toEqual([{ type: "module", id: module.body.id, name: "Intro" }]);
    const inTemplate = expectProblem(await api("DELETE", `/v1/admin/media/${file.id}`, { token: t.key }), 409);
    expect(inTemplate.used_by).toEqual([{ type: "certificate_template", id: template.body.id, name: "Diploma" }]);

    expectProblem(await api("DELETE", `/v1/admin/media/${file.id}?force=true`, { token: b.key }), 404);
    expectStatus(await api("DELETE", `/v1/admin/media/${file.id}?force=true`, { token: t.key }), 204);
    expect(await lastEvent(t.id, "media.deleted")).toMatchObject({
      id: file.id,
      forced: true,
      used_by: [{ type: "certificate_template", id: template.body.id }],
    });
    expectProblem(await api("GET", `/v1/admin/media/${file.id}`, { token: t.key }), 404);
    expect((await env.MEDIA.list({ prefix: `t/${t.id}/media/${file.id}/` })).objects).toHaveLength(0);

    // A question of the bank showing a file (written straight to D1: the question API is another module's).
    const figure = await uploadPng(t, "figure.png");
    const now = new Date().toISOString();
    const question = await env.DB.prepare(
      "INSERT INTO questions (tenant_id, type, title, media_ids, answer_key, created_at, updated_at) VALUES (?, 'essay', 'Explain the figure', ?, '{}', ?, ?) RETURNING id",
    )
      .bind(t.id, JSON.stringify([figure.id + 1000, figure.id]), now, now)
      .first<{ id: number }>();
    const byQuestion = expectProblem(await api("DELETE", `/v1/admin/media/${figure.id}`, { token: t.key }), 409);
    expect(byQuestion.used_by).toEqual([{ type: "question", id: question?.id, name: "Explain the figure" }]);
    expectStatus(await api("DELETE", `/v1/admin/media/${figure.id}?force=true`, { token: t.key }), 204);

    // Unused: deleted at once; the quota is free again.
    const spare = await uploadPng(t, "spare.png", 1500);
    expectStatus(await api("DELETE", `/v1/admin/media/${spare.id}`, { token: t.key }), 204);
    expect((await api("GET", "/v1/admin/media/usage", { token: t.key })).body.used_bytes).toBe(4000);
    expectProblem(await api("DELETE", `/v1/admin/media/${spare.id}`, { token: t.key }), 404);
    expectProblem(
      await api("DELETE", `/v1/admin/media/${video.body.id}`, { token: await keyWithout(t, "media:write") }),
      403,
    );
  });
});

// ---- learners ---------------------------------------------------------------------------------------------------------

describe("learner media URLs", () => {
  it("gives an enrolled learner a signed URL for the file of a module in their course", async () => {
    const t = await createTenant();
    const file = await upload(t, bytesAt(0, 3000), "video/mp4", "name=welcome.mp4");
    expectStatus(file, 201);
    const course = await api("POST", "/v1/admin/courses", { token: t.key, body: { name: unique("Course") } });
    const section = await api("POST", `/v1/admin/courses/${course.body.id}/sections`, {
      token: t.key,
      body: { name: "Week 1" },
    });
    const placementOf = async (settings: Record<string, unknown>) => {
      const module = await api("POST", "/v1/admin/modules", {
        token: t.key,
        body: { type: "video", name: unique("Video"), settings },
      });
      expectStatus(module, 201);
      const placement = await api(
        "POST",
        `/v1/admin/courses/${course.body.id}/sections/${section.body.id}/placements`,
        {
          token: t.key,
          body: { module_id: module.body.id, required: false },
        },
      );
      expectStatus(placement, 201);
      return placement.body.id as number;
    };
    const withFile = await placementOf({ provider: "upload", media_id: file.body.id });
    const withoutFile = await placementOf({ provider: "youtube", url: "https://www.youtube.com/watch?v=x" });
    expectStatus(await api("POST", `/v1/admin/courses/${course.body.id}/publish`, { token: t.key }), 200);
    const learner = await learnerSession(t);
    const stranger = await learnerSession(t);
    expectStatus(
      await api("POST", `/v1/admin/courses/${course.body.id}/enrollments`, {
        token: t.key,
        body: { learner_ids: [learner.id] },
      }),
      201,
    );

    const path = (placement: number) => `/v1/learner/courses/${course.body.id}/modules/${placement}/media-url`;
    const res = await api("POST", path(withFile), { token: learner.token });
    expectStatus(res, 200);
    expect(res.body.media).toMatchObject({ id: file.body.id, content_type: "video/mp4" });
    const download = await get(new URL(res.body.url), { range: "bytes=0-23" });
    expectStatus(download, 206);
    expect(Array.from(download.bytes)).toEqual(MP4_HEAD);

    expectProblem(await api("POST", path(withoutFile), { token: learner.token }), 404);
    expectProblem(await api("POST", path(withFile), { token: stranger.token }), 403);
    expectProblem(await api("POST", path(withFile)), 401);
    expectProblem(await api("POST", path(withFile), { token: t.key }), 403); // an admin credential: wrong surface
    const otherAcademyLearner = await learnerSession(b);
    expectProblem(await api("POST", path(withFile), { token: otherAcademyLearner.token }), 404);
  });
});

// ---- expired multipart uploads -----------------------------------------------------------------------------------------

/** One run of the Worker's scheduled handler (every sweep of it, this one included), waited for. */
async function scheduledRun() {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }), env, ctx);
  await waitOnExecutionContext(ctx);
}

/** Moves an upload (and its reservation) into the past, as 7 days of waiting would. */
async function expire(uploadId: number, mediaId: number) {
  const past = new Date(Date.now() - 60_000).toISOString();
  await env.DB.batch([
    env.DB.prepare("UPDATE media_uploads SET expires_at = ? WHERE id = ?").bind(past, uploadId),
    env.DB.prepare("UPDATE media SET expires_at = ? WHERE id = ? AND status = 'uploading'").bind(past, mediaId),
  ]);
}

const countOf = async (query: string, ...bind: unknown[]) =>
  (
    await env.DB.prepare(query)
      .bind(...bind)
      .first<{ n: number }>()
  )?.n;

describe("expired multipart uploads (scheduled sweep)", () => {
  it("aborts the R2 upload, deletes the rows and gives the reservation back; live and completed files stay", async () => {
    const t = await createTenant();
    await setLimits(t, { quota_bytes: 20 * MiB, max_file_bytes: 30 * MiB });
    const stale = await createUpload(t, { name: "stale.mp4", content_type: "video/mp4", size: 15 * MiB });
    expectStatus(await putPart(t, stale.upload_id, 1, streamOf(0, stale.part_size)), 200);
    const live = await createUpload(t, { name: "live.mp4", content_type: "video/mp4", size: 2 * MiB });
    const done = await uploadInParts(t, 3 * MiB);
    // 15 + 2 reserved, 3 stored: a 10 MiB upload does not fit.
    expect((await api("GET", "/v1/admin/media/usage", { token: t.key })).body).toMatchObject({
      used_bytes: 3 * MiB,
      reserved_bytes: 17 * MiB,
    });
    expectProblem(
      await api("POST", "/v1/admin/media/uploads", {
        token: t.key,
        body: { name: "big.mp4", content_type: "video/mp4", size: 10 * MiB },
      }),
      409,
    );
    const [{ r2_key: key, r2_upload_id: r2UploadId }] = (
      await env.DB.prepare(
        "SELECT m.r2_key, u.r2_upload_id FROM media_uploads u JOIN media m ON m.id = u.media_id WHERE u.id = ?",
      )
        .bind(stale.upload_id)
        .all<{ r2_key: string; r2_upload_id: string }>()
    ).results;
    await expire(stale.upload_id, stale.media_id);
    await expire(done.upload.upload_id, done.file.id);

    await scheduledRun();

    // The stale upload: rows gone (file, upload, parts), 404 to the API, R2's multipart upload aborted.
    expect(await countOf("SELECT count(*) AS n FROM media WHERE id = ?", stale.media_id)).toBe(0);
    expect(await countOf("SELECT count(*) AS n FROM media_uploads WHERE id = ?", stale.upload_id)).toBe(0);
    expect(await countOf("SELECT count(*) AS n FROM media_upload_parts WHERE upload_id = ?", stale.upload_id)).toBe(0);
    expectProblem(await api("GET", `/v1/admin/media/uploads/${stale.upload_id}`, { token: t.key }), 404);
    await expect(env.MEDIA.resumeMultipartUpload(key, r2UploadId).uploadPart(2, new Uint8Array(10))).rejects.toThrow();
    expect((await env.MEDIA.list({ prefix: `t/${t.id}/media/${stale.media_id}/` })).objects).toHaveLength(0);
    // The live upload is untouched; the completed file stays (only its finished upload row went).
    expectStatus(await api("GET", `/v1/admin/media/uploads/${live.upload_id}`, { token: t.key }), 200);
    expect(await countOf("SELECT count(*) AS n FROM media_uploads WHERE id = ?", done.upload.upload_id)).toBe(0);
    const file = await api("GET", `/v1/admin/media/${done.file.id}`, { token: t.key });
    expect(file.body).toMatchObject({ id: done.file.id, size: 3 * MiB });
    const tail = await get(await signedUrl(t, done.file.id), { range: "bytes=-10" });
    expect(tail.bytes).toEqual(bytesAt(3 * MiB - 10, 10));
    // The quota has the stale upload's 15 MiB back: the 10 MiB upload fits now.
    expect((await api("GET", "/v1/admin/media/usage", { token: t.key })).body).toMatchObject({
      used_bytes: 3 * MiB,
      reserved_bytes: 2 * MiB,
    });
    await createUpload(t, { name: "big.mp4", content_type: "video/mp4", size: 10 * MiB });
    // A second run finds nothing more of this academy to do.
    await scheduledRun();
    expectStatus(await api("GET", `/v1/admin/media/uploads/${live.upload_id}`, { token: t.key }), 200);
    expect(await countOf("SELECT count(*) AS n FROM media WHERE tenant_id = ?", t.id)).toBe(3);
  });
});

describe("abandoned single-request uploads (scheduled sweep)", () => {
  it("deletes an expired reservation's row and any bytes stored for it; a live reservation stays", async () => {
    const t = await createTenant();
    // What a request that died leaves: the reserved row (and here the bytes R2 had taken before the crash).
    const insert = (expires: string) =>
      env.DB.prepare(
        "INSERT INTO media (tenant_id, status, name, title, content_type, kind, size, visibility, r2_key, expires_at, created_at, updated_at) VALUES (?, 'uploading', 'dead.png', 'dead.png', 'image/png', 'image', 2000, 'private', '', ?, ?, ?) RETURNING id",
      )
        .bind(t.id, expires, expires, expires)
        .first<{ id: number }>();
    const dead = (await insert(new Date(Date.now() - 60_000).toISOString()))?.id as number;
    const live = (await insert(new Date(Date.now() + 3_600_000).toISOString()))?.id as number;
    await env.MEDIA.put(r2KeyOf(t.id, dead, "dead.png"), png());
    await env.MEDIA.put(r2KeyOf(t.id, live, "dead.png"), png());
    expect((await api("GET", "/v1/admin/media/usage", { token: t.key })).body.reserved_bytes).toBe(2000);

    await scheduledRun();

    expect(await countOf("SELECT count(*) AS n FROM media WHERE id = ?", dead)).toBe(0);
    expect(await env.MEDIA.head(r2KeyOf(t.id, dead, "dead.png"))).toBeNull();
    expect(await countOf("SELECT count(*) AS n FROM media WHERE id = ?", live)).toBe(1);
    expect(await env.MEDIA.head(r2KeyOf(t.id, live, "dead.png"))).not.toBeNull();
    expect((await api("GET", "/v1/admin/media/usage", { token: t.key })).body.reserved_bytes).toBe(2000);
  });

  it("finds expired uploads through the expiry indexes, never by reading every file", async () => {
    const log: Recorded[] = [];
    await sweepExpiredUploads(env, createDb(recordingD1(log)), 10, "2000-01-01T00:00:00.000Z");
    expect(log).toHaveLength(2);
    const plans = await Promise.all(
      log.map(async (entry) =>
        (
          await env.DB.prepare(`EXPLAIN QUERY PLAN ${entry.sql}`)
            .bind(...entry.params)
            .all<{ detail: string }>()
        ).results
          .map((r) => r.detail)
          .join("\n"),
      ),
    );
    expect(plans[0]).toContain("media_uploads_expiry_idx");
    expect(plans[1]).toContain("media_uploading_expiry_idx");
    for (const plan of plans) expect(plan).not.toMatch(/SCAN (media|media_uploads)\b(?! USING)/);
  });
});

// ---- discussion attachments ------------------------------------------------------------------------------------------

describe("discussion attachments make a file used", () => {
  it("refuses to delete a file a discussion post attaches (409 naming the post) unless forced; a deleted post no longer counts", async () => {
    const t = await createTenant();
    const course = await api("POST", "/v1/admin/courses", { token: t.key, body: { name: unique("Course") } });
    expectStatus(course, 201);
    const thread = await api("POST", "/v1/admin/discussions", {
      token: t.key,
      body: { course_id: course.body.id, title: "Show and tell" },
    });
    expectStatus(thread, 201);
    const shared = await uploadPng(t, "shared.png", 1000);
    const other = await uploadPng(t, "other.png", 1000);
    const staff = await staffSession(t, "admin");
    const postWith = async (ids: number[]) => {
      const res = await api("POST", `/v1/admin/discussions/${thread.body.id}/posts`, {
        token: staff.token,
        body: { body: "See attached", attachment_media_ids: ids },
      });
      expectStatus(res, 201);
      return res.body.id as number;
    };
    const first = await postWith([shared.id]);
    const second = await postWith([shared.id, other.id]);

    const usages = await api("GET", `/v1/admin/media/${shared.id}/usages`, { token: t.key });
    expectStatus(usages, 200);
    expect(usages.body.data).toEqual([
      { type: "discussion_post", id: first, name: "Show and tell" },
      { type: "discussion_post", id: second, name: "Show and tell" },
    ]);
    const refused = expectProblem(await api("DELETE", `/v1/admin/media/${other.id}`, { token: t.key }), 409);
    expect(refused.used_by).toEqual([{ type: "discussion_post", id: second, name: "Show and tell" }]);
    // Another academy cannot see or delete it.
    expectProblem(await api("GET", `/v1/admin/media/${shared.id}/usages`, { token: b.key }), 404);

    // Attachments never count toward the quota twice: each file's bytes once, however many posts show it.
    expect((await api("GET", "/v1/admin/media/usage", { token: t.key })).body).toMatchObject({
      used_bytes: 2000,
      file_count: 2,
    });

    // A deleted post's attachments are gone with its body: the file is free of it.
    expectStatus(await api("DELETE", `/v1/admin/discussions/${thread.body.id}/posts/${second}`, { token: t.key }), 204);
    expectStatus(await api("DELETE", `/v1/admin/media/${other.id}`, { token: t.key }), 204);
    // Forced: deleted even though a post still attaches it; the event names the post.
    expectStatus(await api("DELETE", `/v1/admin/media/${shared.id}?force=true`, { token: t.key }), 204);
    expect(await lastEvent(t.id, "media.deleted")).toMatchObject({
      id: shared.id,
      forced: true,
      used_by: [{ type: "discussion_post", id: first }],
    });
    expect((await api("GET", "/v1/admin/media/usage", { token: t.key })).body).toMatchObject({ used_bytes: 0 });
  });
});
