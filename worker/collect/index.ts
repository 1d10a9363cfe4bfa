/** Event collection: the `/t.js` and `/e` routes and the profile update (its queue: worker/pipeline). */
export { applyEventBatch } from "./apply-events";
export type { TagEvent } from "./event-schema";
export { collectRoutes } from "./routes";
