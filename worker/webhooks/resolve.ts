/**
 * Resolving a webhook receiver's name at delivery time (public-url.ts; SECURITY.md, "Hardening,
 * issue 29 part B"): a public-looking name may point at a private address (`127.0.0.1.nip.io`, a
 * customer's own DNS record), which spelling alone cannot tell. Workers have no resolver API and
 * fetch() does not say which address it connected to, so the name is asked of Cloudflare's DNS over
 * HTTPS resolver (the JSON API: https://developers.cloudflare.com/1.1.1.1/encryption/dns-over-https/make-api-requests/dns-json/),
 * A and AAAA, and every answer must be public.
 *
 * The resolver is a parameter (tests pass their own; there is no network in CI), this is the default.
 */

/** The addresses `name` resolves to (A and AAAA); empty when the name does not exist. */
export type Resolver = (name: string) => Promise<string[]>;

/** The resolver could not answer (network, HTTP or DNS server failure): the delivery is retried. */
class ResolveError extends Error {}

/** @internal Exported for tests; the Worker itself does not import it. */
export const DOH_ENDPOINT = "https://cloudflare-dns.com/dns-query";
const TIMEOUT_MS = 5_000;
/** DNS record types (RFC 1035, RFC 3596) and response codes (RFC 1035, 4.1.1). */
const A = 1;
const AAAA = 28;
const NOERROR = 0;
const NXDOMAIN = 3;

type DnsJson = { Status?: number; Answer?: { type?: number; data?: string }[] };

async function query(name: string, type: "A" | "AAAA"): Promise<string[]> {
  const url = `${DOH_ENDPOINT}?name=${encodeURIComponent(name)}&type=${type}`;
  let answer: DnsJson;
  try {
    const response = await fetch(url, {
      headers: { accept: "application/dns-json" },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (!response.ok) throw new ResolveError(`resolver answered HTTP ${response.status}`);
    answer = (await response.json()) as DnsJson;
  } catch (error) {
    throw error instanceof ResolveError ? error : new ResolveError(String(error));
  }
  if (answer.Status === NXDOMAIN) return [];
  if (answer.Status !== NOERROR) throw new ResolveError(`resolver status ${answer.Status}`);
  // A CNAME chain comes with the addresses it ends in; only those are connected to.
  return (answer.Answer ?? [])
    .filter((record) => record.type === A || record.type === AAAA)
    .map((record) => String(record.data));
}

/** The default resolver: Cloudflare's DNS over HTTPS, both families at once. */
export const resolveOverHttps: Resolver = async (name) => {
  const [v4, v6] = await Promise.all([query(name, "A"), query(name, "AAAA")]);
  return [...v4, ...v6];
};
