/**
 * Load phases driven with autocannon against the workerd the bench started, loopback only,
 * bounded by duration. Each phase rotates through a list of visitors (the `tw_id` cookie) so that
 * requests hit different rows, as real traffic does.
 */
import autocannon, { type Result } from "autocannon";

/** A desktop browser: without a User-Agent, /e would count the request as a bot and store nothing. */
export const BROWSER_UA =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36";

export type LoadOptions = { url: string; connections: number; duration: number };

export type Phase = {
  method?: "GET" | "POST";
  /** Path for the i-th request (visitor rotation happens through `cookies`). */
  path: (i: number) => string;
  cookies?: string[];
  headers?: Record<string, string>;
  body?: string;
  /** Visitors are used once each (first claims): stop rotating when they run out. */
  once?: boolean;
};

export type Figure = {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
  sent: number;
  /** workerd CPU time per answered request, µs (set by the caller, who knows the process). */
  cpuMicros: number;
};

export async function runPhase(opts: LoadOptions, phase: Phase): Promise<Figure> {
  let i = 0;
  const cookies = phase.cookies ?? [];
  const result: Result = await autocannon({
    url: opts.url,
    connections: opts.connections,
    duration: opts.duration,
    timeout: 10,
    requests: [
      {
        method: phase.method ?? "GET",
        body: phase.body,
        headers: phase.headers,
        setupRequest: (req) => {
          const n = i++;
          const headers: Record<string, string> = { "user-agent": BROWSER_UA, ...(phase.headers ?? {}) };
          if (cookies.length)
            headers.cookie = `tw_id=${cookies[phase.once ? Math.min(n, cookies.length - 1) : n % cookies.length]}`;
          return { ...req, path: phase.path(n), headers };
        },
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result["2xx"],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    sent: i,
    cpuMicros: Number.NaN,
  };
}
