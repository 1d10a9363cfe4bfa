/**
 * The look-alike section of bench/RESULTS.md (between the look-alike markers), written by
 * `npm run bench` from bench/lookalike-events.ts: the model measured on a generated population
 * whose every signal — acquisition, interests, visits, purchases — went through the event path.
 */
import type { LookalikeEventFigures } from "./lookalike-events";
import { fmt, table, writeSection } from "./results";

export function writeLookalikeSection(file: string, f: LookalikeEventFigures, tiny: boolean) {
  const body = `
## Look-alikes

Logistic regression (worker/audiences/lookalike.ts) on a generated population with a hidden
logistic ground truth (bench/lookalike-population.ts, seed 42)${tiny ? " — **tiny smoke run, figures meaningless**" : ""}.
Nothing is written into the visitors table by hand: each person becomes tag event batches (a
landing page with \`utm_medium=display\` for those who came from display, page and product views,
a purchase for the converters, cart adds), delivered 50 at a time to the Worker's own events-queue
consumer (consumeEventsBatch) in workerd, which writes them to D1 (bench/lookalike-events.ts).
Training positives are the visitors production's
\`POSITIVE\` condition selects (acquisition "display" or "banner", and a purchase); negatives the
visitors without a purchase. Trained on the first 70 % of the visitors, measured on the held-out 30 %.

${table(
  ["figure", "value"],
  [
    ["population (visitors)", fmt(f.population)],
    ["event batches / events applied", `${fmt(f.batches)} / ${fmt(f.events)} in ${fmt(f.applySeconds, 1)} s`],
    ["positives in D1 (display-acquired buyers) / generated", `${fmt(f.positivesInD1)} / ${fmt(f.expectedPositives)}`],
    ["training examples (positives)", `${fmt(f.trainSize)} (${fmt(f.trainPositives)})`],
    ["held-out visitors", fmt(f.testSize)],
    ["held-out conversion rate", `${fmt(f.baseRate * 100, 1)} %`],
    ["**AUC, held-out** (random = 0.500)", `**${fmt(f.auc, 3)}**`],
    ["AUC of the true propensity (ceiling)", fmt(f.oracleAuc, 3)],
    ["**lift in the top decile** (random = 1.00)", `**${fmt(f.liftTopDecile, 2)}**`],
    [`train + score time (Node ${process.versions.node})`, `${fmt(f.trainMillis)} ms`],
  ],
)}
`;
  writeSection(file, "lookalike", body);
}
