/**
 * What a load phase wrote, read from the bench worker's ledger (/bench/ledger, bench/d1-meter.ts):
 * D1 rows written by the phase's requests and by the queue consumers' work for them (D1's
 * `meta.rows_written`, index entries included), the impressions and events the consumers applied,
 * and the databases' size before and after. Nothing here names a table, so the figures follow
 * whatever schema the Worker has (docs/architecture.md, "Budgets and where they are measured").
 */
import { type BenchWorker, storageBytes } from "./workerd";

export type Ledger = {
  d1: { calls: number; rowsWritten: number; unmetered: number; byBinding?: Record<string, number> };
  consumed: { deliveries: number; inFlight: number; messages: Record<string, number>; events: number };
};

/** One phase's writes, the consumer's drained work included. */
export type Writes = {
  /** D1 rows written (requests and consumers), index entries included. */
  rowsWritten: number;
  /** Statements whose rows_written could not be read (exec, or raw() without its internals). */
  unmetered: number;
  /** Impression messages the consumer applied (acknowledged). */
  impressions: number;
  /** Events the consumer applied from the phase's /e batches. */
  eventsQueued: number;
  /** Events written within the requests (direct writes): set by the phase, which knows its batches. */
  eventsDirect: number;
  /** Sum of every D1 database's size, before the phase and once the consumer drained it. */
  bytesBefore: number;
  bytesAfter: number;
  /** Load start to the consumer's last applied message, ms. */
  ms: number;
  /** D1 round trips (requests and consumers), in all and per binding (HOME's `DB`, each `PEOPLE_k`). */
  calls: number;
  callsByBinding: Record<string, number>;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readLedger(worker: Pick<BenchWorker, "url">): Promise<Ledger> {
  const res = await fetch(`${worker.url}/bench/ledger`);
  if (!res.ok) throw new Error(`/bench/ledger answered ${res.status}`);
  return (await res.json()) as Ledger;
}

/** Everything the consumers applied and D1 wrote so far, as one comparable fingerprint. */
const progress = (l: Ledger) =>
  `${l.d1.calls}/${l.d1.rowsWritten}/${l.consumed.deliveries}/${l.consumed.inFlight}/${l.consumed.events}`;

/**
 * Waits until nothing moves any more: no delivery running, and no round trip, row or delivery
 * for `settleMs` (longer than the queue's batch timeout; at most 60 s). Answers the last ledger and
 * when it last changed.
 */
export async function drained(worker: Pick<BenchWorker, "url">, settleMs: number) {
  let last = await readLedger(worker);
  let changedAt = Date.now();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await sleep(Math.min(250, settleMs / 3));
    const now = await readLedger(worker);
    if (progress(now) !== progress(last) || now.consumed.inFlight > 0) {
      if (progress(now) !== progress(last)) changedAt = Date.now();
      last = now;
    } else if (Date.now() - changedAt >= settleMs) break;
  }
  return { ledger: last, at: changedAt };
}

/** The ledger and the databases' size before a phase: what `writesSince` subtracts. */
export async function snapshot(worker: Pick<BenchWorker, "url" | "databases">) {
  return { ledger: await readLedger(worker), bytes: await storageBytes(worker), at: Date.now() };
}

/** A phase's writes: from its snapshot to the drained ledger after it. */
export async function writesSince(
  worker: Pick<BenchWorker, "url" | "databases">,
  before: Awaited<ReturnType<typeof snapshot>>,
  settleMs: number,
): Promise<Writes> {
  const done = await drained(worker, settleMs);
  const a = before.ledger;
  const b = done.ledger;
  return {
    rowsWritten: b.d1.rowsWritten - a.d1.rowsWritten,
    unmetered: b.d1.unmetered - a.d1.unmetered,
    impressions: (b.consumed.messages.impression ?? 0) - (a.consumed.messages.impression ?? 0),
    eventsQueued: b.consumed.events - a.consumed.events,
    eventsDirect: 0,
    bytesBefore: before.bytes,
    bytesAfter: await storageBytes(worker),
    ms: Math.max(1, done.at - before.at),
    calls: b.d1.calls - a.d1.calls,
    callsByBinding: Object.fromEntries(
      Object.entries(b.d1.byBinding ?? {}).map(([k, n]) => [k, n - (a.d1.byBinding?.[k] ?? 0)]),
    ),
  };
}
