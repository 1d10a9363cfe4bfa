import { describe, expect, it } from "vitest";
import {
  currencyLabel,
  formatChange,
  formatCount,
  formatDay,
  formatInterval,
  formatMoney,
  formatPercent,
  formatPoints,
  formatTime,
  formatValue,
} from "../../worker/lib/format";

describe("the admin's one format for numbers, money, shares and dates", () => {
  it("writes counts and money in one locale, money in the site's currency", () => {
    expect(formatCount(1234567)).toBe("1,234,567");
    expect(formatMoney(1234.5, "EUR")).toBe("€1,234.50");
    expect(formatMoney(1234.5, "USD")).toBe("$1,234.50");
    // ICU puts a no-break space between a code and the amount.
    expect(formatMoney(99, "CHF")).toBe("CHF\u00a099.00");
    expect(formatMoney(null, "EUR")).toBe("—");
    expect(currencyLabel("EUR")).toBe("EUR — Euro");
  });

  it("writes shares as percent and differences as signed percentage points", () => {
    expect(formatPercent(0.1234)).toBe("12.3 %");
    expect(formatPercent(null)).toBe("—");
    expect(formatPoints(0.0123)).toBe("+1.23 pts");
    expect(formatPoints(-0.0123)).toBe("−1.23 pts");
    expect(formatPoints(-0.00001)).toBe("0.00 pts");
    expect(formatPoints(-0.0123, { signed: false })).toBe("1.23 pts");
    expect(formatInterval({ low: -0.004, high: 0.021 })).toBe("[−0.40, +2.10] pts");
    expect(formatChange(110, 100)).toBe("+10 % vs previous");
    expect(formatChange(5, 0)).toBe("");
  });

  it("writes every date as a UTC day or a UTC time, from milliseconds or ISO strings alike", () => {
    const at = Date.UTC(2026, 11, 6, 23, 30, 9);
    expect(formatDay(at)).toBe("2026-12-06");
    expect(formatDay("2026-12-06T23:30:09.000Z")).toBe("2026-12-06");
    expect(formatTime(at)).toBe("2026-12-06 23:30");
    expect(formatTime(new Date(at).toISOString(), { seconds: true })).toBe("2026-12-06 23:30:09");
    expect(formatTime(null)).toBe("—");
  });

  it("picks the format by a chart's unit", () => {
    expect(formatValue(1500, "money", "EUR")).toBe("€1,500.00");
    expect(formatValue(0.05, "percent", null)).toBe("5.00 %");
    expect(formatValue(0.05, "points", null)).toBe("+5.00 pts");
    expect(formatValue(1500, "count", null)).toBe("1,500");
  });
});
