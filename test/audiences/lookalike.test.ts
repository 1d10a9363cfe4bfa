import { describe, expect, it } from "vitest";
import { evaluateLookalike } from "../../bench/lookalike-evaluate";
import { auc, liftAt } from "../../worker/audiences/lookalike";

describe("look-alike model on the generated population", () => {
  it("ranks held-out converters well above random ordering (fixed seed, so not flaky)", () => {
    const figures = evaluateLookalike(5_000, 7, 0.7);
    expect(figures.trainPositives).toBeGreaterThan(100);
    expect(figures.auc).toBeGreaterThan(0.65);
    expect(figures.liftTopDecile).toBeGreaterThan(1.8);
    // And the model gets most of the way to the hidden truth's own ranking.
    expect(figures.auc).toBeGreaterThan(figures.oracleAuc - 0.03);
  });

  it("measures a constant scorer as random: AUC 0.5 and lift 1", () => {
    const labels = [true, false, false, true, false, false, false, false, false, true];
    expect(auc(new Array(10).fill(0.3), labels)).toBe(0.5);
    expect(auc([0.9, 0.1, 0.2, 0.8, 0.3, 0.1, 0.2, 0.3, 0.1, 0.7], labels)).toBe(1);
    expect(liftAt([0.9, 0.1, 0.2, 0.8, 0.3, 0.1, 0.2, 0.3, 0.1, 0.7], labels, 0.1)).toBeCloseTo(10 / 3);
  });
});
