/** Event collection: the `/t.js` and `/e` routes, the profile update and the events queue consumer. */
export { applyEventBatch, type RejectedRow, summarizeBatch } from "./apply-events";
export { collectBatch, type EventsMessage, type QueueMessage } from "./collect";
export { type TagEvent, validateEvents } from "./event-schema";
export { consumeQueueBatch, EVENTS_QUEUE_MAX_RETRIES } from "./queue";
export { collectRoutes } from "./routes";
