/**
 * SSRF guard for webhook targets (DESIGN.md section 7): public https URLs only, checked when an endpoint is
 * saved and again before every attempt. Refused: other schemes, credentials in the URL, IP address literals
 * (loopback, private, link-local and metadata addresses included, in any notation the URL parser accepts),
 * `localhost` and private-use names (`.local`, `.internal`, `.lan`, `.home.arpa`, ... and single-label hosts),
 * and ports outside the https ports Cloudflare proxies. Only where ENVIRONMENT is "development" or "test" may
 * a target be a loopback address (`http://127.0.0.1:<port>`, `localhost`, `[::1]`), so local receivers work.
 *
 * What a check of the text cannot see: a public name whose DNS points at a private address. On Workers a
 * subrequest cannot reach a private network (there is none behind the runtime) nor an IP address directly,
 * so the name check plus the runtime is the guard; redirects are never followed.
 */

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
const LOCAL_ENVIRONMENTS = new Set(["development", "test"]);
const RESERVED_SUFFIXES = [
  ".localhost",
  ".local",
  ".internal",
  ".intranet",
  ".lan",
  ".home",
  ".corp",
  ".private",
  ".home.arpa",
  ".in-addr.arpa",
  ".ip6.arpa",
  ".invalid",
  ".test",
];
/** https ports Cloudflare's network proxies; 443 is the default (no port in the URL). */
const HTTPS_PORTS = new Set(["", "443", "2053", "2083", "2087", "2096", "8443"]);
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export const MAX_URL_LENGTH = 2048;

/** Whether a loopback receiver is allowed in this environment (local development and the tests). */
export function allowsLoopback(environment: string | undefined): boolean {
  return LOCAL_ENVIRONMENTS.has(environment ?? "");
}

export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname.toLowerCase().replace(/\.$/, ""));
}

/** Why `raw` may not be a webhook target here, or undefined when it may. */
export function webhookUrlProblem(raw: string, environment: string | undefined): string | undefined {
  if (raw.length > MAX_URL_LENGTH) return `Use at most ${MAX_URL_LENGTH} characters.`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "Use an absolute https URL such as `https://hooks.example.com/lectern`.";
  }
  if (url.username || url.password) {
    return "Credentials in the URL are refused; put a token in the path or query string instead.";
  }
  if (url.hash) return "Remove the `#fragment`: it is never sent.";
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  if (allowsLoopback(environment) && LOOPBACK_HOSTS.has(host) && /^https?:$/.test(url.protocol)) return undefined;
  if (url.protocol !== "https:") return "Webhook URLs must use https.";
  if (IPV4.test(host) || host.startsWith("[")) {
    return "IP addresses are refused (private, loopback, link-local and metadata addresses among them); use a public hostname.";
  }
  if (host === "localhost" || !host.includes(".") || RESERVED_SUFFIXES.some((suffix) => host.endsWith(suffix))) {
    return "Use a public hostname: local and private-use names are refused.";
  }
  if (!HTTPS_PORTS.has(url.port)) {
    return `Use the default https port or one of ${[...HTTPS_PORTS].filter(Boolean).join(", ")}.`;
  }
  return undefined;
}
