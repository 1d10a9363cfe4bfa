/**
 * Look-alike model: which visitors without a purchase resemble the visitors who became customers
 * after arriving from display or a banner click.
 *
 * Method: L2-regularised logistic regression, trained by full-batch gradient descent on
 * standardised features, with the classes weighted to balance (so 0.5 means "as converter-like as
 * not" however rare converters are). Features per visitor: the interest vector over the site's
 * most common categories, L2-normalised (what they look at, not how much); recency
 * exp(-days since last visit / 14); frequency log(1 + visits) and log(1 + page views). The score is
 * the model's probability, 0..1.
 *
 * Only features a purchase cannot change: the model compares buyers (after their purchase) with
 * non-buyers (now), so a feature the purchase itself moves teaches the answer instead of the signal.
 * The cart is such a feature — a purchase empties it, and a model given cart state learned
 * "empty cart → buyer" and scored identical non-buyers 0.02 or 0.97 by the item left in their cart
 * (README.md, "Cookie sync, audiences and webhooks", look-alikes). Interests (views and cart adds,
 * all time), visits and page views only grow, with or without a purchase.
 *
 * Why not cosine similarity to the converters' centroid: the centroid describes converters but
 * not what separates them from everyone else. If most visitors browse "rings", a centroid rich in
 * rings scores everyone high; a discriminative model learns that rings carry no signal and
 * recency or "watches" do, and weighs interest against recency and frequency on one scale instead
 * of hand-picked weights. It stays tiny (one weight per feature), trains in well under a second on
 * the sample the cron uses, and is deterministic: same data, same scores.
 *
 * Pure functions only (no D1): bench/lookalike-evaluate.ts runs them in Node on a generated population,
 * bench/lookalike-events.ts on rows the queue consumer wrote from generated event batches.
 */
import { MS_PER_DAY as DAY } from "../lib/time";

export type LookalikeInput = {
  interests: Record<string, number>;
  visits: number;
  pageviews: number;
  lastSeenAt: number;
};

export type LookalikeModel = {
  categories: string[];
  means: number[];
  stds: number[];
  weights: number[];
  bias: number;
};

/** Standard deviations below this count as no variation at all (features live on scales of 0.1 to 10). */
const MIN_SPREAD = 1e-3;

export type TrainOptions = { maxCategories?: number; iterations?: number; learningRate?: number; l2?: number };

/** Most common interest categories across the examples: the interest vector's dimensions. */
function pickCategories(inputs: LookalikeInput[], max: number): string[] {
  const totals = new Map<string, number>();
  for (const input of inputs) {
    for (const [category, count] of Object.entries(input.interests)) {
      if (count > 0) totals.set(category, (totals.get(category) ?? 0) + count);
    }
  }
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, max)
    .map(([category]) => category);
}

/** Raw (unstandardised) features of one visitor at time `now`. */
function rawFeatures(input: LookalikeInput, categories: string[], now: number): number[] {
  const interest = categories.map((category) => input.interests[category] ?? 0);
  const norm = Math.hypot(...interest) || 1;
  const daysSinceLastVisit = Math.max(0, (now - input.lastSeenAt) / DAY);
  return [
    ...interest.map((value) => value / norm),
    Math.exp(-daysSinceLastVisit / 14),
    Math.log1p(Math.max(0, input.visits)),
    Math.log1p(Math.max(0, input.pageviews)),
  ];
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

function standardise(x: number[], means: number[], stds: number[]): number[] {
  return x.map((value, i) => (value - means[i]) / stds[i]);
}

export function trainLookalike(
  examples: { input: LookalikeInput; positive: boolean }[],
  now: number,
  { maxCategories = 16, iterations = 300, learningRate = 0.5, l2 = 0.001 }: TrainOptions = {},
): LookalikeModel {
  const categories = pickCategories(
    examples.map((e) => e.input),
    maxCategories,
  );
  const rows = examples.map((e) => rawFeatures(e.input, categories, now));
  const dims = rows[0]?.length ?? categories.length + 3;
  const means = new Array<number>(dims).fill(0);
  const stds = new Array<number>(dims).fill(0);
  for (const row of rows) for (let j = 0; j < dims; j++) means[j] += row[j] / rows.length;
  for (const row of rows) for (let j = 0; j < dims; j++) stds[j] += (row[j] - means[j]) ** 2 / rows.length;
  // A feature that barely varies (recency of visitors seen within seconds of each other) carries no
  // signal; dividing by its tiny spread would blow milliseconds up into the strongest feature.
  for (let j = 0; j < dims; j++) stds[j] = Math.sqrt(stds[j]) > MIN_SPREAD ? Math.sqrt(stds[j]) : 1;
  const xs = rows.map((row) => standardise(row, means, stds));
  const ys = examples.map((e) => (e.positive ? 1 : 0));

  // Balanced class weights: each class contributes half of the loss.
  const positives = ys.reduce<number>((n, y) => n + y, 0);
  const negatives = ys.length - positives;
  const weightOf = (y: number) =>
    y ? ys.length / (2 * Math.max(1, positives)) : ys.length / (2 * Math.max(1, negatives));

  const weights = new Array<number>(dims).fill(0);
  let bias = 0;
  for (let iteration = 0; iteration < iterations; iteration++) {
    const gradient = new Array<number>(dims).fill(0);
    let gradientBias = 0;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      let z = bias;
      for (let j = 0; j < dims; j++) z += weights[j] * x[j];
      const error = (sigmoid(z) - ys[i]) * weightOf(ys[i]);
      for (let j = 0; j < dims; j++) gradient[j] += error * x[j];
      gradientBias += error;
    }
    for (let j = 0; j < dims; j++) weights[j] -= learningRate * (gradient[j] / xs.length + l2 * weights[j]);
    bias -= (learningRate * gradientBias) / xs.length;
  }
  return { categories, means, stds, weights, bias };
}

export function scoreLookalike(model: LookalikeModel, input: LookalikeInput, now: number): number {
  const x = standardise(rawFeatures(input, model.categories, now), model.means, model.stds);
  let z = model.bias;
  for (let j = 0; j < x.length; j++) z += model.weights[j] * x[j];
  return sigmoid(z);
}

/** Area under the ROC curve (the probability a random positive outranks a random negative). */
export function auc(scores: number[], labels: boolean[]): number {
  const order = scores.map((score, i) => ({ score, label: labels[i] })).sort((a, b) => a.score - b.score);
  let rankSum = 0;
  let positives = 0;
  // Average ranks over ties so that a constant scorer gets exactly 0.5.
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && order[j].score === order[i].score) j++;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) {
      if (order[k].label) {
        rankSum += rank;
        positives++;
      }
    }
    i = j;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return 0.5;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Conversion rate among the top `share` by score, divided by the overall rate. */
export function liftAt(scores: number[], labels: boolean[], share = 0.1): number {
  const order = scores.map((score, i) => ({ score, label: labels[i] })).sort((a, b) => b.score - a.score);
  const top = order.slice(0, Math.max(1, Math.round(order.length * share)));
  const base = labels.filter(Boolean).length / labels.length;
  if (base === 0) return 0;
  return top.filter((e) => e.label).length / top.length / base;
}
