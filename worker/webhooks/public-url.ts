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
 * address that fetch() would connect to. Names are judged by their spelling (localhost,
 * `*.internal` such as metadata.google.internal, `*.local`, single-label names that a resolver's
 * search list would complete to an internal host); a public name that resolves to a private
 * address is not resolved here — see SECURITY.md.
 *
 * What a tenant reads about a failed delivery is a category (`describeFailure`), never the
 * receiver's status line or the runtime's network error: those made the deliveries list a
 * port-scan oracle.
 */

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
  ".lan",
  ".intranet",
  ".corp",
];

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

function ipv6Blocked(g: number[]): boolean {
  const embeddedV4 = (hi: number, lo: number) => ipv4Blocked(hi * 65536 + lo);
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeros(8)) return true; // :: unspecified
  if (zeros(7) && g[7] === 1) return true; // ::1 loopback
  if (zeros(5) && g[5] === 0xffff) return true; // ::ffff:a.b.c.d IPv4-mapped: never a public receiver
  if (zeros(6)) return true; // ::a.b.c.d IPv4-compatible (deprecated)
  if (g[0] === 0x64 && g[1] === 0xff9b) return embeddedV4(g[6], g[7]); // NAT64
  if (g[0] === 0x2002) return embeddedV4(g[1], g[2]); // 6to4
  if (g[0] === 0x2001 && g[1] === 0) return true; // Teredo
  if (g[0] === 0x2001 && g[1] === 0xdb8) return true; // documentation
  if (g[0] === 0x100 && g[1] === 0 && g[2] === 0 && g[3] === 0) return true; // discard-only
  if ((g[0] & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local (AWS metadata fd00:ec2::254)
  if ((g[0] & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((g[0] & 0xffc0) === 0xfec0) return true; // fec0::/10 site-local (deprecated)
  if ((g[0] & 0xff00) === 0xff00) return true; // multicast
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
  if (host === "localhost" || INTERNAL_SUFFIXES.some((s) => host.endsWith(s))) return "an internal host name";
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

/**
 * POSTs one webhook request: the URL is checked again first, redirects are never followed (a
 * public receiver could otherwise bounce the request to an internal one), and the answer is
 * reduced to success (undefined) or a failure category.
 */
export async function sendToReceiver(
  url: string,
  init: { headers: Record<string, string>; body: string },
  env: { WEBHOOKS_ALLOW_HTTP_LOCALHOST?: string },
): Promise<DeliveryFailure | undefined> {
  if (webhookUrlProblem(url, { allowLocalHttp: localHttpAllowed(env) })) return "address not allowed";
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
    return response.status >= 200 && response.status <= 299 ? undefined : describeFailure(response);
  } catch (error) {
    return describeFailure({ error });
  }
}
