/** Event collection: the `/t.js` and `/e` routes (the profile update they share with the events consumer: apply-events.ts). */
export { collectRoutes } from "./routes";
