/**
 * What a chart shows, as the page renders it into `data-chart` and the chart script
 * (admin/client/charts.ts) draws it: one shape for every chart of the admin.
 */
import type { Unit } from "../worker/lib/format";

export type ChartSeries = {
  label: string;
  values: (number | null)[];
  color: string;
  dash?: boolean;
  /**
   * What the legend shows when no day is pointed at: the period's sum, the last day's value (running
   * figures), or a figure of the whole period given as is (a rate is not the sum of its days).
   */
  summary: "sum" | "last" | { period: number | null };
};

/** A shaded interval around a series, e.g. the 95 % interval of the uplift. */
type ChartBand = { label: string; low: (number | null)[]; high: (number | null)[]; color: string };

export type ChartSpec = {
  id: string;
  title: string;
  /** UTC days, `YYYY-MM-DD`. */
  days: string[];
  unit: Unit;
  /** The site's currency, for `money` charts. */
  currency: string | null;
  series: ChartSeries[];
  band?: ChartBand;
  /** A small line without axes, legend or table, beside other figures in a table row (a segment's size). */
  sparkline?: boolean;
};
