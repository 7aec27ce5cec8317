/**
 * Reading a zip stored in R2 without holding it in memory: the central directory first (two ranged reads at the
 * end of the object), every entry checked against the limits before anything is written, then one streaming
 * read of the archive, inflated entry by entry with fflate. Limits are counted on the bytes actually inflated, so
 * a lying header cannot smuggle a bomb past them (DESIGN.md section 8).
 */
import { Inflate } from "fflate";

export interface ZipLimits {
  /** File entries (directories not counted). */
  maxEntries: number;
  /** Sum of the inflated sizes. */
  maxTotalBytes: number;
  /** Inflated / compressed size of one entry, checked once an entry passes `ratioFloorBytes`. */
  maxRatio: number;
  ratioFloorBytes: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 10_000,
  maxTotalBytes: 2 * 1024 ** 3,
  maxRatio: 100,
  ratioFloorBytes: 1024 * 1024,
};

/** A zip that cannot be imported; `message` is the reason shown to admins. */
export class ZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ZipError";
  }
}

export interface ZipEntry {
  /** Normalized relative path (forward slashes, no `.` segments). */
  path: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const EOCD64_LOCATOR = 0x07064b50;
const UNIX_HOSTS = new Set([3, 19]); // unix, OS X
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const DOS_REPARSE_POINT = 0x400;

async function range(bucket: R2Bucket, key: string, offset: number, length: number): Promise<Uint8Array> {
  if (length === 0) return new Uint8Array(0);
  const object = await bucket.get(key, { range: { offset, length } });
  if (!object) throw new Error(`R2 object ${key} disappeared while reading it`);
  const bytes = new Uint8Array(await object.arrayBuffer());
  if (bytes.length !== length) throw new ZipError("The zip is truncated.");
  return bytes;
}

const utf8 = new TextDecoder("utf-8", { fatal: true } as TextDecoderConstructorOptions);

function decodeName(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    // Not UTF-8: the zip's legacy code page, read as Latin-1.
    return Array.from(bytes, (b) => String.fromCharCode(b)).join("");
  }
}

/** The entry's path made safe, or the reason it is refused. */
export function safePath(raw: string): string {
  if (raw.includes("\0")) throw new ZipError(`Entry "${raw.replace(/\0/g, "\\0")}" has a NUL byte in its name.`);
  const name = raw.replace(/\\/g, "/");
  if (name.startsWith("/") || /^[a-zA-Z]:/.test(name)) {
    throw new ZipError(`Entry "${raw}" has an absolute path.`);
  }
  const segments = name.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.some((s) => s === "..")) throw new ZipError(`Entry "${raw}" escapes the package (zip slip: "..").`);
  return segments.join("/");
}

/**
 * Reads and checks the central directory: every entry's name (zip slip, absolute paths), type (links refused),
 * method (stored or deflated), encryption, duplicates, and the declared sizes against the limits.
 */
export async function readCentralDirectory(
  bucket: R2Bucket,
  key: string,
  zipSize: number,
  limits: ZipLimits,
): Promise<ZipEntry[]> {
  if (zipSize < 22) throw new ZipError("The file is not a zip archive (too short).");
  const tailLength = Math.min(zipSize, 22 + 0xffff);
  const tail = await range(bucket, key, zipSize - tailLength, tailLength);
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (view.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError("The file is not a zip archive (no end of central directory record).");
  if (eocd >= 20 && view.getUint32(eocd - 20, true) === EOCD64_LOCATOR) {
    throw new ZipError("ZIP64 archives are not supported; packages are limited to 4 GiB and 65,535 entries.");
  }
  const count = view.getUint16(eocd + 10, true);
  const cdSize = view.getUint32(eocd + 12, true);
  const cdOffset = view.getUint32(eocd + 16, true);
  if (view.getUint16(eocd + 4, true) !== 0 || view.getUint16(eocd + 6, true) !== 0) {
    throw new ZipError("Multi-disk (split) zip archives are not supported.");
  }
  if (count > limits.maxEntries) {
    throw new ZipError(`The zip has ${count} entries; packages may have at most ${limits.maxEntries}.`);
  }
  if (cdOffset + cdSize > zipSize - (tail.length - eocd)) throw new ZipError("The zip's central directory is corrupt.");
  const cd = await range(bucket, key, cdOffset, cdSize);
  const cv = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const entries: ZipEntry[] = [];
  const seen = new Set<string>();
  let declaredTotal = 0;
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cv.getUint32(p, true) !== CENTRAL)
      throw new ZipError("The zip's central directory is corrupt.");
    const madeBy = cv.getUint16(p + 4, true);
    const flags = cv.getUint16(p + 8, true);
    const method = cv.getUint16(p + 10, true);
    const crc = cv.getUint32(p + 16, true);
    const compressedSize = cv.getUint32(p + 20, true);
    const size = cv.getUint32(p + 24, true);
    const nameLength = cv.getUint16(p + 28, true);
    const extraLength = cv.getUint16(p + 30, true);
    const commentLength = cv.getUint16(p + 32, true);
    const external = cv.getUint32(p + 38, true);
    const localOffset = cv.getUint32(p + 42, true);
    if (p + 46 + nameLength > cd.length) throw new ZipError("The zip's central directory is corrupt.");
    const raw = decodeName(cd.subarray(p + 46, p + 46 + nameLength));
    p += 46 + nameLength + extraLength + commentLength;

    const path = safePath(raw);
    const host = madeBy >> 8;
    const mode = external >>> 16;
    if ((UNIX_HOSTS.has(host) && (mode & S_IFMT) === S_IFLNK) || (host === 0 && external & DOS_REPARSE_POINT)) {
      throw new ZipError(`Entry "${raw}" is a symbolic link; links are not allowed in packages.`);
    }
    const isDirectory = raw.endsWith("/") || raw.endsWith("\\");
    if (isDirectory || path === "") continue;
    if (flags & 1) throw new ZipError(`Entry "${raw}" is encrypted.`);
    if (method !== 0 && method !== 8) {
      throw new ZipError(
        `Entry "${raw}" uses compression method ${method}; only stored and deflated entries are supported.`,
      );
    }
    if (compressedSize === 0xffffffff || size === 0xffffffff || localOffset === 0xffffffff) {
      throw new ZipError("ZIP64 archives are not supported; packages are limited to 4 GiB and 65,535 entries.");
    }
    if (seen.has(path)) throw new ZipError(`The zip has two entries named "${path}".`);
    seen.add(path);
    if (method === 0 && compressedSize !== size) throw new ZipError(`Entry "${raw}" is corrupt (stored sizes differ).`);
    declaredTotal += size;
    if (declaredTotal > limits.maxTotalBytes) {
      throw new ZipError(`The package unpacks to more than ${limits.maxTotalBytes} bytes, the limit.`);
    }
    checkRatio(raw, size, compressedSize, limits);
    if (localOffset + 30 + compressedSize > cdOffset) throw new ZipError(`Entry "${raw}" lies outside the archive.`);
    entries.push({ path, method, crc, compressedSize, size, localOffset });
  }
  if (entries.length > limits.maxEntries) {
    throw new ZipError(`The zip has ${entries.length} files; packages may have at most ${limits.maxEntries}.`);
  }
  return entries;
}

function checkRatio(name: string, inflated: number, compressed: number, limits: ZipLimits) {
  if (inflated > limits.ratioFloorBytes && inflated > limits.maxRatio * Math.max(compressed, 1)) {
    throw new ZipError(
      `Entry "${name}" inflates more than ${limits.maxRatio} times its compressed size (zip bomb); refused.`,
    );
  }
}

// ---- CRC-32 ------------------------------------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crcUpdate(crc: number, bytes: Uint8Array): number {
  let c = crc ^ 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---- streaming the archive --------------------------------------------------------------------------------------

/** Sequential reads over a stream, with its absolute position. */
class StreamCursor {
  private buffered: Uint8Array[] = [];
  private bufferedBytes = 0;
  position: number;
  constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    start: number,
  ) {
    this.position = start;
  }

  private async fill(min: number) {
    while (this.bufferedBytes < min) {
      const { done, value } = await this.reader.read();
      if (done) throw new ZipError("The zip is truncated.");
      if (value.length) {
        this.buffered.push(value);
        this.bufferedBytes += value.length;
      }
    }
  }

  /** Hands the next `n` bytes to `sink` chunk by chunk, holding at most one stream chunk. */
  async pump(n: number, sink: (chunk: Uint8Array) => void | Promise<void>) {
    let left = n;
    while (left > 0) {
      if (this.bufferedBytes === 0) await this.fill(1);
      const head = this.buffered[0];
      const take = Math.min(left, head.length);
      const piece = head.subarray(0, take);
      if (take === head.length) this.buffered.shift();
      else this.buffered[0] = head.subarray(take);
      this.bufferedBytes -= take;
      this.position += take;
      left -= take;
      await sink(piece);
    }
  }

  async read(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let at = 0;
    await this.pump(n, (chunk) => {
      out.set(chunk, at);
      at += chunk.length;
    });
    return out;
  }

  async skipTo(target: number) {
    if (target < this.position) throw new ZipError("The zip's entries overlap; refused.");
    await this.pump(target - this.position, () => {});
  }

  async cancel() {
    await this.reader.cancel().catch(() => {});
  }
}

export interface EntrySink {
  /** Called once per entry before its data, with its checked size. Returns where the inflated bytes go. */
  open(entry: ZipEntry): Promise<{ write(chunk: Uint8Array): Promise<void>; close(): Promise<void> }>;
}

/**
 * Streams the archive once, in local-header order, inflating each entry into `sink`. Refuses an entry whose
 * inflated bytes exceed its declared size, the ratio limit or the total limit, or whose CRC-32 is wrong.
 */
export async function extractEntries(
  bucket: R2Bucket,
  key: string,
  entries: ZipEntry[],
  limits: ZipLimits,
  sink: EntrySink,
): Promise<{ files: number; bytes: number }> {
  const ordered = [...entries].sort((a, b) => a.localOffset - b.localOffset);
  if (ordered.length === 0) return { files: 0, bytes: 0 };
  const start = ordered[0].localOffset;
  const object = await bucket.get(key, { range: { offset: start } });
  if (!object) throw new Error(`R2 object ${key} disappeared while reading it`);
  const cursor = new StreamCursor(object.body.getReader(), start);
  let total = 0;
  try {
    for (const entry of ordered) {
      await cursor.skipTo(entry.localOffset);
      const header = await cursor.read(30);
      const hv = new DataView(header.buffer);
      if (hv.getUint32(0, true) !== LOCAL)
        throw new ZipError(`Entry "${entry.path}" has no local header (corrupt zip).`);
      const skip = hv.getUint16(26, true) + hv.getUint16(28, true);
      await cursor.read(skip);
      const out = await sink.open(entry);
      let inflated = 0;
      let crc = 0;
      let pending: Uint8Array[] = [];
      const accept = (chunk: Uint8Array) => {
        inflated += chunk.length;
        total += chunk.length;
        if (inflated > entry.size)
          throw new ZipError(`Entry "${entry.path}" inflates past its declared size (corrupt or malicious zip).`);
        if (total > limits.maxTotalBytes)
          throw new ZipError(`The package unpacks to more than ${limits.maxTotalBytes} bytes, the limit.`);
        checkRatio(entry.path, inflated, entry.compressedSize, limits);
        crc = crcUpdate(crc, chunk);
        pending.push(chunk);
      };
      const flush = async () => {
        const chunks = pending;
        pending = [];
        for (const chunk of chunks) await out.write(chunk);
      };
      if (entry.method === 0) {
        await cursor.pump(entry.compressedSize, async (chunk) => {
          accept(chunk);
          await flush();
        });
      } else {
        const inflater = new Inflate((chunk) => accept(chunk));
        let consumed = 0;
        await cursor.pump(entry.compressedSize, async (chunk) => {
          consumed += chunk.length;
          try {
            inflater.push(chunk, consumed === entry.compressedSize);
          } catch (err) {
            if (err instanceof ZipError) throw err;
            throw new ZipError(`Entry "${entry.path}" is not valid deflate data (corrupt zip).`);
          }
          await flush();
        });
        if (entry.compressedSize === 0) throw new ZipError(`Entry "${entry.path}" is corrupt (no data).`);
      }
      if (inflated !== entry.size)
        throw new ZipError(`Entry "${entry.path}" is shorter than its declared size (corrupt zip).`);
      if (crc !== entry.crc) throw new ZipError(`Entry "${entry.path}" fails its CRC-32 check (corrupt zip).`);
      await out.close();
    }
  } finally {
    await cursor.cancel();
  }
  return { files: ordered.length, bytes: total };
}

/** One entry's inflated bytes (manifests), read by range; refuses entries over `maxBytes`. */
export async function readEntry(bucket: R2Bucket, key: string, entry: ZipEntry, maxBytes: number): Promise<Uint8Array> {
  if (entry.size > maxBytes) throw new ZipError(`"${entry.path}" is larger than ${maxBytes} bytes.`);
  const header = await range(bucket, key, entry.localOffset, 30);
  const hv = new DataView(header.buffer);
  if (hv.getUint32(0, true) !== LOCAL) throw new ZipError(`Entry "${entry.path}" has no local header (corrupt zip).`);
  const dataStart = entry.localOffset + 30 + hv.getUint16(26, true) + hv.getUint16(28, true);
  const data = await range(bucket, key, dataStart, entry.compressedSize);
  let out: Uint8Array;
  if (entry.method === 0) out = data;
  else {
    const parts: Uint8Array[] = [];
    let length = 0;
    const inflater = new Inflate((chunk) => {
      length += chunk.length;
      if (length > entry.size) throw new ZipError(`Entry "${entry.path}" inflates past its declared size.`);
      parts.push(chunk);
    });
    try {
      inflater.push(data, true);
    } catch (err) {
      if (err instanceof ZipError) throw err;
      throw new ZipError(`Entry "${entry.path}" is not valid deflate data (corrupt zip).`);
    }
    out = new Uint8Array(length);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
  }
  if (out.length !== entry.size || crcUpdate(0, out) !== entry.crc) {
    throw new ZipError(`Entry "${entry.path}" fails its size or CRC-32 check (corrupt zip).`);
  }
  return out;
}
