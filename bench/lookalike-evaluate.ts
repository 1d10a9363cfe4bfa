/**
 * Trains the look-alike model on part of the generated population and measures it on the rest:
 * the held-out AUC and the lift in the top decile against random ordering.
 */
import { auc, liftAt, scoreLookalike, trainLookalike } from "../worker/audiences/lookalike";
import { generatePopulation, POPULATION_NOW } from "./lookalike-population";

export type LookalikeFigures = {
  population: number;
  trainSize: number;
  testSize: number;
  trainPositives: number;
  baseRate: number;
  auc: number;
  /** AUC of the hidden true propensity: the ceiling for any model on this noisy population. */
  oracleAuc: number;
  liftTopDecile: number;
};

export function evaluateLookalike(size = 20_000, seed = 42, trainShare = 0.7): LookalikeFigures {
  const people = generatePopulation(size, seed);
  const cut = Math.floor(people.length * trainShare);
  const train = people.slice(0, cut);
  const test = people.slice(cut);
  // As in production: positives are converters who arrived from display or a banner click; the
  // unlabelled rest (everyone who did not buy) stands in for the negatives.
  const examples = train
    .filter((p) => p.fromDisplay || !p.converted)
    .map((p) => ({ input: p.input, positive: p.converted }));
  const model = trainLookalike(examples, POPULATION_NOW);
  const scores = test.map((p) => scoreLookalike(model, p.input, POPULATION_NOW));
  const labels = test.map((p) => p.converted);
  return {
    population: size,
    trainSize: examples.length,
    testSize: test.length,
    trainPositives: examples.filter((e) => e.positive).length,
    baseRate: labels.filter(Boolean).length / labels.length,
    auc: auc(scores, labels),
    oracleAuc: auc(
      test.map((p) => p.propensity),
      labels,
    ),
    liftTopDecile: liftAt(scores, labels, 0.1),
  };
}
