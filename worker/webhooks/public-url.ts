/**
 * Webhook receivers are public hosts, checked when a webhook is created or changed AND again on
 * every delivery (a URL stored before these rules, or a rule that got stricter, is caught there):
 * no loopback, private, link-local, shared (CGNAT), multicast, reserved, unspecified or cloud
 * metadata address, however it is written. Every sender of webhook requests (today's deliveries,
 * the Standard Webhooks deliveries) goes through `sendToReceiver`, so none can forget the check.
 *
 * "However written" is the WHATWG URL parser's work, the same one browsers and fetch() use: it
 * turns `2130706433`, `0x7f000001`, `0177.0.0.1` and `127.1` into `127.0.0.1` and compresses IPv6
 * (`[::ffff:127.0.0.1]` → `[::ffff:7f00:1]`), so the range checks below see the one canonical
 * address that fetch() would connect to. Names are judged by their spelling first (localhost,
 * `*.internal` such as metadata.google.internal, `*.local`, `*.svc`, metadata.goog, wildcard-DNS
 * services that answer any embedded address such as `127.0.0.1.nip.io` or `localtest.me`, names
 * that carry a non-public address in their labels, single-label names that a resolver's search
 * list would complete to an internal host); then, at delivery, the name is resolved (resolve.ts)
 * and every A and AAAA answer must be public too. What remains: fetch() resolves again itself, so a
 * receiver whose DNS answers differently within seconds (rebinding) is not caught — see SECURITY.md.
 *
 * What a tenant reads about a failed delivery is a category (`describeFailure`), never the
 * receiver's status line or the runtime's network error: those made the deliveries list a
 * port-scan oracle.
 */

import { type Resolver, resolveOverHttps } from "./resolve";

/** Local development only (`WEBHOOKS_ALLOW_HTTP_LOCALHOST="true"` in .dev.vars): http to this machine. */
export function localHttpAllowed(env: { WEBHOOKS_ALLOW_HTTP_LOCALHOST?: string }): boolean {
  return env.WEBHOOKS_ALLOW_HTTP_LOCALHOST === "true";
}

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

// Names that only mean something inside a network: RFC 6761/6762/8375, cloud metadata services,
// and the usual private suffixes.
const INTERNAL_SUFFIXES = [
  ".localhost",
  ".local",
  ".internal",
  ".localdomain",
  ".home.arpa",
  ".arpa",
  ".lan",
  ".intranet",
  ".corp",
  ".onion",
  ".alt",
  // Kubernetes service names (kubernetes.default.svc, *.svc.cluster.local).
  ".svc",
];

/** Single names of metadata services and of public wildcard-DNS services that answer loopback or any address they carry. */
const INTERNAL_NAMES = new Set(["metadata.goog", "kubernetes.default"]);
const WILDCARD_DNS_DOMAINS = [
  "nip.io",
  "sslip.io",
  "xip.io",
  "nip.direct",
  "localtest.me",
  "lvh.me",
  "vcap.me",
  "lacolhost.com",
  "localhost.direct",
  "fuf.me",
  "traefik.me",
  "1u.ms",
];

/** True when the labels of `host` carry a non-public IPv4 address (`10.0.0.1.example`, `10-0-0-1.example`). */
function carriesInternalAddress(host: string): boolean {
  const labels = host.split(".");
  for (let i = 0; i + 4 <= labels.length; i++) {
    const v4 = ipv4ToInt(labels.slice(i, i + 4).join("."));
    if (v4 !== null && ipv4Blocked(v4)) return true;
  }
  return labels.some((label) => {
    const match = /(?:^|[^0-9])(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})(?:$|[^0-9])/.exec(label);
    const v4 = match && ipv4ToInt(match.slice(1, 5).join("."));
    return v4 !== null && v4 !== undefined && ipv4Blocked(v4);
  });
}

/** IPv4 ranges that are not the public internet (IANA special-purpose registry). */
const IPV4_BLOCKED: [string, number][] = [
  ["0.0.0.0", 8], // "this network", unspecified
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // shared address space (CGNAT)
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, cloud metadata (169.254.169.254)
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.88.99.0", 24], // 6to4 relay anycast
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
];

function ipv4ToInt(address: string): number | null {
  const parts = address.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

function ipv4Blocked(value: number): boolean {
  return IPV4_BLOCKED.some(([base, bits]) => {
    const size = 2 ** (32 - bits);
    const start = ipv4ToInt(base) as number;
    return value >= start && value < start + size;
  });
}

/** The eight 16-bit groups of a canonical IPv6 literal (as the URL parser writes it), or null. */
function ipv6Groups(literal: string): number[] | null {
  const halves = literal.split("::");
  if (halves.length > 2) return null;
  const parse = (s: string) => (s === "" ? [] : s.split(":").map((g) => Number.parseInt(g, 16)));
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const groups = halves.length === 2 ? [...head, ...Array(8 - head.length - tail.length).fill(0), ...tail] : head;
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/**
 * IPv6: the public internet is global unicast, 2000::/3 (IANA IPv6 address space registry);
 * everything outside it — ::, ::1, ::ffff:0:0/96 mapped, ::ffff:0:0:0/96 translated, 64:ff9b::/96
 * NAT64 and 64:ff9b:1::/48, 100::/64 discard, 5f00::/16 SRv6 SIDs, fc00::/7, fe80::/10, ff00::/8 …
 * — is refused whole, and inside it the special-purpose blocks of the IANA registry are refused.
 */
function ipv6Blocked(g: number[]): boolean {
  if ((g[0] & 0xe000) !== 0x2000) return true; // outside 2000::/3
  if (g[0] === 0x2002) return ipv4Blocked(g[1] * 65536 + g[2]); // 6to4: the IPv4 address inside
  if (g[0] === 0x2001 && g[1] < 0x0200) return true; // 2001::/23 IETF protocol assignments (Teredo, benchmarking, ORCHID)
  if (g[0] === 0x2001 && g[1] === 0xdb8) return true; // 2001:db8::/32 documentation
  if (g[0] === 0x3fff && g[1] < 0x1000) return true; // 3fff::/20 documentation (RFC 9637)
  return false;
}

/** Why a host may not receive webhooks, or null for a public host. `host` is URL.hostname. */
function hostProblem(hostname: string): string | null {
  const host = hostname.toLowerCase().replace(/\.+$/, "");
  if (host.startsWith("[")) {
    const groups = ipv6Groups(host.slice(1, -1));
    if (!groups) return "an IPv6 address that cannot be read";
    return ipv6Blocked(groups) ? "a loopback, private, link-local or otherwise non-public IPv6 address" : null;
  }
  const v4 = ipv4ToInt(host);
  if (v4 !== null) {
    return ipv4Blocked(v4)
      ? "a loopback, private, link-local, shared, multicast, reserved or metadata IPv4 address"
      : null;
  }
  if (host === "localhost" || INTERNAL_NAMES.has(host) || INTERNAL_SUFFIXES.some((s) => host.endsWith(s))) {
    return "an internal host name";
  }
  if (WILDCARD_DNS_DOMAINS.some((d) => host === d || host.endsWith(`.${d}`)) || carriesInternalAddress(host)) {
    return "a name that resolves to an address it carries (wildcard DNS)";
  }
  if (!host.includes(".")) return "a single-label host name (it would resolve inside a network)";
  return null;
}

/**
 * Why `value` cannot be a webhook URL, or null when it can: https to a public host; with the
 * development setting, also http to localhost, 127.0.0.1 or [::1] (and only those).
 */
export function webhookUrlProblem(value: string, options: { allowLocalHttp: boolean }): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be an absolute URL";
  }
  if (url.username || url.password) return "may not carry a user name or password";
  const local = LOCAL_HOSTS.has(url.hostname.toLowerCase().replace(/\.+$/, ""));
  if (options.allowLocalHttp && local && (url.protocol === "http:" || url.protocol === "https:")) return null;
  if (url.protocol !== "https:") {
    return options.allowLocalHttp
      ? "must be https (http only to localhost in development)"
      : "must be https (WEBHOOKS_ALLOW_HTTP_LOCALHOST allows http to localhost in development)";
  }
  const problem = hostProblem(url.hostname);
  return problem ? `must point at a public host, not ${problem}` : null;
}

const TIMEOUT_MS = 10_000;

/** What a tenant reads about a failed attempt: a category, never what the receiver said. */
export type DeliveryFailure =
  | "address not allowed"
  | "address not allowed: the name resolves to a non-public address"
  | "name did not resolve"
  | "redirect not followed (HTTP 3xx from receiver)"
  | "HTTP 4xx from receiver"
  | "HTTP 5xx from receiver"
  | "unexpected HTTP status from receiver"
  | "timeout"
  | "connection failed";

function describeFailure(outcome: { status: number } | { error: unknown }): DeliveryFailure {
  if ("status" in outcome) {
    if (outcome.status >= 300 && outcome.status < 400) return "redirect not followed (HTTP 3xx from receiver)";
    if (outcome.status >= 400 && outcome.status < 500) return "HTTP 4xx from receiver";
    if (outcome.status >= 500 && outcome.status < 600) return "HTTP 5xx from receiver";
    return "unexpected HTTP status from receiver";
  }
  const name = outcome.error instanceof Error ? outcome.error.name : "";
  return name === "TimeoutError" || name === "AbortError" ? "timeout" : "connection failed";
}

/** True for an address literal: fetch() connects to it as written, there is nothing to resolve. */
function isAddress(hostname: string): boolean {
  return hostname.startsWith("[") || ipv4ToInt(hostname) !== null;
}

/**
 * Resolves a receiver's name (resolve.ts) and refuses it when any answer is not public; a name
 * that does not resolve, or a resolver that cannot answer, fails the attempt (it is retried).
 */
async function resolvedProblem(
  hostname: string,
  resolve: Resolver,
  allowLocalHttp: boolean,
): Promise<DeliveryFailure | undefined> {
  const host = hostname.toLowerCase().replace(/\.+$/, "");
  if (isAddress(host) || (allowLocalHttp && LOCAL_HOSTS.has(host))) return undefined;
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch {
    return "name did not resolve";
  }
  if (addresses.length === 0) return "name did not resolve";
  const canonical = (address: string) => {
    // The URL parser writes an answer the way hostProblem reads it (IPv6 compressed, lower-case).
    try {
      return new URL(`https://${address.includes(":") ? `[${address}]` : address}/`).hostname;
    } catch {
      return "[::]";
    }
  };
  return addresses.some((address) => hostProblem(canonical(address)) !== null)
    ? "address not allowed: the name resolves to a non-public address"
    : undefined;
}

/** What one POST to a receiver came to: its HTTP status when it answered, and the failure when it was not 2xx. */
export type ReceiverAnswer = { status: number | null; failure?: DeliveryFailure };

/**
 * POSTs one webhook request: the URL is checked again first, redirects are never followed (a
 * public receiver could otherwise bounce the request to an internal one), and the answer is
 * reduced to its status and a failure category (never the receiver's body).
 */
export async function postToReceiver(
  url: string,
  init: { headers: Record<string, string>; body: string },
  env: { WEBHOOKS_ALLOW_HTTP_LOCALHOST?: string },
  resolve: Resolver = resolveOverHttps,
): Promise<ReceiverAnswer> {
  const allowLocalHttp = localHttpAllowed(env);
  if (webhookUrlProblem(url, { allowLocalHttp })) return { status: null, failure: "address not allowed" };
  const refused = await resolvedProblem(new URL(url).hostname, resolve, allowLocalHttp);
  if (refused) return { status: null, failure: refused };
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: init.headers,
      body: init.body,
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    // The receiver's body is not needed; release it.
    await response.body?.cancel();
    const ok = response.status >= 200 && response.status <= 299;
    return ok ? { status: response.status } : { status: response.status, failure: describeFailure(response) };
  } catch (error) {
    return { status: null, failure: describeFailure({ error }) };
  }
}

/** postToReceiver reduced to success (undefined) or its failure category, as deliveries record it. */
export async function sendToReceiver(
  url: string,
  init: { headers: Record<string, string>; body: string },
  env: { WEBHOOKS_ALLOW_HTTP_LOCALHOST?: string },
  resolve: Resolver = resolveOverHttps,
): Promise<DeliveryFailure | undefined> {
  return (await postToReceiver(url, init, env, resolve)).failure;
}
