/** Secrets, hashes and passwords through WebCrypto (DESIGN.md section 9). */

const encoder = new TextEncoder();

export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(b64 + "===".slice((b64.length + 3) % 4));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

export function randomToken(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** A short lowercase alphanumeric string, for visible key prefixes and client ids. */
export function randomAlnum(length: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Constant-time comparison of two strings (length leaks, content does not). */
export function timingSafeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  let diff = left.length ^ right.length;
  const length = Math.max(left.length, right.length);
  for (let i = 0; i < length; i++) diff |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return diff === 0;
}

/**
 * PBKDF2-SHA256 at 100,000 iterations: the most Cloudflare's production runtime accepts.
 * The stored form carries algorithm and parameters so hashes can be upgraded later:
 * `pbkdf2-sha256$<iterations>$<salt b64url>$<hash b64url>`.
 */
export const PASSWORD_ITERATIONS = 100_000;

async function pbkdf2(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256);
  return new Uint8Array(bits);
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await pbkdf2(password, salt, PASSWORD_ITERATIONS);
  return `pbkdf2-sha256$${PASSWORD_ITERATIONS}$${base64url(salt)}$${base64url(hash)}`;
}

export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  if (!stored) {
    // Spend the same time as a real check so a missing account is not told apart by timing.
    await pbkdf2(password, new Uint8Array(16), PASSWORD_ITERATIONS);
    return false;
  }
  const [algorithm, iterations, salt, hash] = stored.split("$");
  if (algorithm !== "pbkdf2-sha256" || !iterations || !salt || !hash) return false;
  const candidate = await pbkdf2(password, fromBase64url(salt), Number(iterations));
  return timingSafeEqual(base64url(candidate), hash);
}

// ---- secrets kept at rest that must be read back (webhook signing secrets) ----------------------------------

const SEALED_PREFIX = "sealed:v1:";
const sealingKeys = new Map<string, Promise<CryptoKey>>();

/** An AES-256-GCM key derived (HKDF-SHA256) from a deployment secret for one purpose; kept per isolate. */
function sealingKey(deploymentSecret: string, purpose: string): Promise<CryptoKey> {
  const id = `${purpose}\u0000${deploymentSecret}`;
  let key = sealingKeys.get(id);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", encoder.encode(deploymentSecret), "HKDF", false, ["deriveKey"])
      .then((base) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode(purpose) },
          base,
          { name: "AES-GCM", length: 256 },
          false,
          ["encrypt", "decrypt"],
        ),
      );
    sealingKeys.set(id, key);
  }
  return key;
}

/**
 * Encrypts a secret that must be read back later (a webhook signing secret), so a copy of the database alone
 * does not give it away. `context` (for example the tenant) is bound as additional data: a sealed value moved to
 * another row of another context does not open.
 */
export async function sealSecret(deploymentSecret: string, purpose: string, context: string, plaintext: string) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const cipher = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(context) },
    await sealingKey(deploymentSecret, purpose),
    encoder.encode(plaintext),
  );
  return `${SEALED_PREFIX}${base64url(iv)}.${base64url(new Uint8Array(cipher))}`;
}

/** The plaintext of `sealSecret`'s output; a value stored before sealing existed is returned as it is. */
export async function openSecret(deploymentSecret: string, purpose: string, context: string, stored: string) {
  if (!stored.startsWith(SEALED_PREFIX)) return stored;
  const [iv, cipher] = stored.slice(SEALED_PREFIX.length).split(".");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64url(iv ?? ""), additionalData: encoder.encode(context) },
    await sealingKey(deploymentSecret, purpose),
    fromBase64url(cipher ?? ""),
  );
  return new TextDecoder().decode(plain);
}
