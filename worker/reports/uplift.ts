/**
 * Uplift of the exposed group over the holdout group: the difference of two conversion rates with
 * a 95% confidence interval by Newcombe's hybrid score method (his method 10: Wilson score
 * intervals for each rate, combined). Chosen over the Wald interval because banner conversion
 * rates are small and groups often tiny: Wald's interval collapses to zero width at 0 conversions
 * and undercovers near 0, Newcombe's does not. Hand-written: a dozen lines of arithmetic that no
 * maintained edge-sized statistics package offers.
 */
import { formatInterval, formatPoints } from "../lib/format";

const Z_95 = 1.959963984540054;

export type Group = { visitors: number; conversions: number };

/**
 * Wilson score interval of one proportion.
 * @internal Exported for tests; the Worker itself does not import it.
 */
export function wilson(successes: number, n: number, z = Z_95): { low: number; high: number } {
  if (n <= 0) return { low: 0, high: 1 };
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export type Uplift = {
  exposed_rate: number | null;
  holdout_rate: number | null;
  /** exposed rate minus holdout rate (a difference of proportions, e.g. 0.012 = 1.2 points). */
  uplift: number | null;
  ci: { low: number; high: number; level: 0.95; method: "newcombe-wilson" } | null;
  verdict: string;
};

export function computeUplift(exposed: Group, holdout: Group): Uplift {
  if (exposed.visitors === 0 || holdout.visitors === 0) {
    return {
      exposed_rate: exposed.visitors ? exposed.conversions / exposed.visitors : null,
      holdout_rate: holdout.visitors ? holdout.conversions / holdout.visitors : null,
      uplift: null,
      ci: null,
      verdict:
        "Not enough data yet: both the exposed and the holdout group need visitors. Keep the rule running with a holdout share above 0.",
    };
  }
  const p1 = exposed.conversions / exposed.visitors;
  const p2 = holdout.conversions / holdout.visitors;
  const w1 = wilson(exposed.conversions, exposed.visitors);
  const w2 = wilson(holdout.conversions, holdout.visitors);
  const d = p1 - p2;
  const low = d - Math.sqrt((p1 - w1.low) ** 2 + (w2.high - p2) ** 2);
  const high = d + Math.sqrt((w1.high - p1) ** 2 + (p2 - w2.low) ** 2);
  const range = `(95 % interval ${formatInterval({ low, high })})`;
  let verdict: string;
  if (low <= 0 && high >= 0) {
    verdict = `No clear effect yet: the difference could be zero ${range}. Keep the rule running to collect more visitors before deciding.`;
  } else if (low > 0) {
    verdict = `The banner works: exposed visitors converted ${formatPoints(d, { signed: false })} more often than the holdout ${range}.`;
  } else {
    verdict = `The banner seems to hurt: exposed visitors converted ${formatPoints(d, { signed: false })} less often than the holdout ${range}.`;
  }
  return {
    exposed_rate: p1,
    holdout_rate: p2,
    uplift: d,
    ci: { low, high, level: 0.95, method: "newcombe-wilson" },
    verdict,
  };
}

/** The uplift over the visitors first shown (or held out of) a rule up to one day, with its interval. */
export type CumulativePoint = {
  day: string;
  exposed_rate: number | null;
  holdout_rate: number | null;
  uplift: number | null;
  low: number | null;
  high: number | null;
};

type DayGroups = {
  day: string;
  exposed_visitors: number;
  exposed_conversions: number;
  holdout_visitors: number;
  holdout_conversions: number;
};

/**
 * The uplift and its 95% interval day by day, each over everyone who joined a group up to that
 * day: the band narrows as visitors come in, and its last day is the period's uplift.
 */
export function cumulativeUplift(daily: DayGroups[]): CumulativePoint[] {
  const exposed = { visitors: 0, conversions: 0 };
  const holdout = { visitors: 0, conversions: 0 };
  return daily.map((d) => {
    exposed.visitors += d.exposed_visitors;
    exposed.conversions += d.exposed_conversions;
    holdout.visitors += d.holdout_visitors;
    holdout.conversions += d.holdout_conversions;
    const u = computeUplift(exposed, holdout);
    return {
      day: d.day,
      exposed_rate: u.exposed_rate,
      holdout_rate: u.holdout_rate,
      uplift: u.uplift,
      low: u.ci?.low ?? null,
      high: u.ci?.high ?? null,
    };
  });
}
