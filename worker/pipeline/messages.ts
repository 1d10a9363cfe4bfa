/**
 * Every message the Worker's queues carry (queues.ts), by queue. A message says what it is by its
 * `kind` — all but a webhook delivery queued before deliveries had one (WebhookMessage) — so the
 * events queue carries several producers' messages and its consumer (events-consumer.ts) writes
 * each where it belongs. Message bodies are plain JSON: Queues serialise them, and a message
 * queued by one version of the Worker may be consumed by the next.
 */
import type { RejectedRow } from "../collect/apply-events";
import type { TagEvent } from "../collect/event-schema";

/** An /e batch, validated and consent-checked: the consumer only writes it (collect/batch.ts). */
export type EventsMessage = {
  kind: "events";
  siteId: number;
  cookieId: string;
  events: TagEvent[];
  rejected: RejectedRow[];
  receivedAt: number;
};

/** A raw /e batch taken while D1 failed: the consumer does everything /e would have done (collect/deferred.ts). */
export type DeferredEventsMessage = {
  kind: "deferred-events";
  siteKey: string;
  cookieId: string | null;
  events: unknown[];
  receivedAt: number;
};

/** A banner shown by /b (impressions.ts). */
export type ImpressionMessage = {
  kind: "impression";
  siteId: number;
  uid: string;
  placement: string;
  /** null when no rule matched and the fallback was served. */
  ruleId: number | null;
  /** null for a holdout without fallback, and (with no rule) for the empty creative: seen, not counted. */
  creativeId: number | null;
  cookieId: string | null;
  couponId: number | null;
  /** The visitor is in the rule's control group and was shown the fallback. */
  holdout: boolean;
  /** The rule has a daily cap: the visitor's cap count goes up (absent in older messages: true). */
  capped?: boolean;
  /**
   * Whose cap it counts toward: `c:CUSTOMER` for a cookie linked to a customer (every device of the
   * person, docs/architecture.md "Shards"), else `v:COOKIE` (also when absent, in older messages).
   */
  holder?: string;
  /** The visitor's context (decide/offers.ts) when a rule's creative was shown: offer_counters. */
  context?: string;
  ts: number;
};

/** A click followed through /c (impressions.ts). */
export type ClickMessage = {
  kind: "click";
  siteId: number;
  impressionUid: string;
  ruleId: number | null;
  /** The impression's placement, creative and arm, for the report counters (absent in older messages). */
  placement?: string;
  creativeId?: number | null;
  holdout?: boolean;
  /** The impression's visitor context (decide/offers.ts), for offer_counters. */
  context?: string;
  cookieId: string | null;
  ts: number;
};

/** What became of a served banner: shown (an impression from /b) or followed (a click through /c). */
export type BannerMessage = ImpressionMessage | ClickMessage;

/**
 * The impressions and clicks an isolate gathered (impressions.ts, bufferBannerMessage), sent as
 * ONE queue message: its random `id` is what makes a redelivery count nothing twice, one ledger
 * row per group instead of one per impression. Its `kind` keeps the name it was queued under
 * before the type was renamed: messages already queued must still be recognised.
 */
export type BannerGroupMessage = { kind: "decisions"; id: number; items: BannerMessage[] };

/**
 * The next steps of an operator's move of a site's people (shards/moves.ts; pipeline/shard-moves.ts).
 * @internal Exported for tests; the Worker itself does not import it.
 */
export type ShardMoveMessage = { kind: "shard-move"; moveId: number };

/** What the events queue (QUEUES.events) carries. */
export type EventsQueueMessage =
  | EventsMessage
  | DeferredEventsMessage
  | BannerMessage
  | BannerGroupMessage
  | ShardMoveMessage;

/** A webhook delivery row to sign and send (webhooks/deliver.ts). */
type DeliveryMessage = { kind: "delivery"; delivery_id: number };

/**
 * What the webhooks queue (QUEUES.webhooks) carries: a delivery to send, or a request to look at
 * people whose profile just changed (webhooks/entries.ts). A delivery queued by a version before
 * deliveries had a `kind` has none: the consumer takes it as a delivery (remove after a deploy
 * has drained the queue).
 */
export type WebhookMessage =
  | DeliveryMessage
  | Omit<DeliveryMessage, "kind">
  | { kind: "check"; siteId: number; cookies?: string[]; customers?: string[]; all?: boolean };
