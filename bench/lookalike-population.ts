/**
 * A generated shop population with a known ground truth for the look-alike model: each visitor's
 * chance to become a customer follows a hidden logistic formula of their interests, recency,
 * frequency and cart, and a fixed-seed PRNG draws who did. Shared by bench/lookalike.ts and the
 * workerd test, so both measure the same thing.
 */
import type { LookalikeInput } from "../worker/audiences/lookalike";
import { MS_PER_DAY as DAY } from "../worker/lib/time";

export const POPULATION_NOW = Date.UTC(2026, 5, 1);

const CATEGORIES = ["rings", "earrings", "watches", "necklaces", "bracelets", "charms", "gifts", "sale", "men", "kids"];

/** mulberry32: a tiny, well-distributed 32-bit PRNG; the same seed gives the same population. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `propensity` is the hidden true conversion probability: the best any model could rank by. */
export type Person = {
  input: LookalikeInput;
  /** The cart left open after the last visit: part of the hidden truth, never a model feature. */
  cart: { items: number; value: number };
  converted: boolean;
  fromDisplay: boolean;
  propensity: number;
};

export function generatePopulation(size: number, seed = 42): Person[] {
  const random = mulberry32(seed);
  const people: Person[] = [];
  for (let i = 0; i < size; i++) {
    const interests: Record<string, number> = {};
    const favourites = 1 + Math.floor(random() * 3);
    for (let f = 0; f < favourites; f++) {
      const category = CATEGORIES[Math.floor(random() ** 1.5 * CATEGORIES.length)];
      interests[category] = (interests[category] ?? 0) + 1 + Math.floor(random() * 8);
    }
    const visits = 1 + Math.floor(-Math.log(1 - random()) * 3);
    const pageviews = visits * (1 + Math.floor(random() * 6));
    const daysAgo = Math.floor(random() * 60);
    const cartItems = random() < 0.25 ? 1 + Math.floor(random() * 3) : 0;
    const cartValue = cartItems * (20 + random() * 200);
    const input: LookalikeInput = {
      interests,
      visits,
      pageviews,
      lastSeenAt: POPULATION_NOW - daysAgo * DAY,
    };
    const total = Object.values(interests).reduce((a, b) => a + b, 0);
    const share = (category: string) => (interests[category] ?? 0) / total;
    // The hidden truth: watch and ring lovers, recent and frequent visitors, open carts convert;
    // bargain hunters ("sale") less so. The model never sees this formula.
    const logit =
      -3.2 +
      2.0 * share("watches") +
      1.2 * share("rings") -
      1.0 * share("sale") +
      1.5 * Math.exp(-daysAgo / 10) +
      0.5 * Math.log1p(visits) +
      0.9 * (cartItems > 0 ? 1 : 0);
    const propensity = 1 / (1 + Math.exp(-logit));
    const converted = random() < propensity;
    people.push({
      input,
      cart: { items: cartItems, value: cartValue },
      converted,
      fromDisplay: random() < 0.6,
      propensity,
    });
  }
  return people;
}
