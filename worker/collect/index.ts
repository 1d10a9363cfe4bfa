/** Event collection: the `/t.js` and `/e` routes, the profile update and the events queue consumer. */
export { applyEventBatch } from "./apply-events";
export type { EventsMessage, QueueMessage } from "./collect";
export type { TagEvent } from "./event-schema";
export { consumeQueueBatch, EVENTS_QUEUE_MAX_RETRIES } from "./queue";
export { collectRoutes } from "./routes";
