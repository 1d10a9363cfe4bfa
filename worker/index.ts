/**
 * tagwerk's Worker: assembles the capability sub-apps, the global middleware, one error handler.
 * Each capability lives in its own folder under worker/ with its routes beside its logic.
 */
import { createAdminRoutes } from "../admin/app";
import { adminApiRoutes } from "./admin-api/routes";
import { reachRoutes } from "./audiences/reach-routes";
import { audiencesRoutes } from "./audiences/routes";
import { sessionApiAuth } from "./auth/session";
import { catalogueRoutes } from "./catalogue/routes";
import { clicksRoutes } from "./clicks/routes";
import { collectRoutes } from "./collect";
import { recentEventsRoutes } from "./collect/recent-routes";
import { couponsRoutes } from "./coupons/routes";
import { creativesRoutes } from "./creatives/routes";
import { runScheduled } from "./cron/scheduled";
import { dbMiddleware } from "./db/client";
import { explainRoutes } from "./decide/explain-routes";
import { bannerFastPath } from "./decide/fast-path";
import { rebuildRoutes } from "./decide/rebuild-routes";
import { decideRoutes } from "./decide/routes";
import { registerDocs } from "./docs/routes";
import { notFound, onError } from "./errors";
import { healthRoutes } from "./health/routes";
import { homeRoutes } from "./home/routes";
import { identityRoutes } from "./identity/routes";
import { importRoutes } from "./import/routes";
import { servePrefixed, shopOriginScope } from "./lib/base-path";
import { edgeSecureHeaders, requestIds } from "./lib/edge-headers";
import { createRouter } from "./lib/router";
import { consumeQueue } from "./pipeline";
import { privacyRoutes } from "./privacy/routes";
import { profilesRoutes } from "./profiles/routes";
import { rejectedEventsRoutes } from "./rejected-events/routes";
import { reportsRoutes } from "./reports/routes";
import { adTagRoutes } from "./rules/ad-tag-routes";
import { placementRoutes } from "./rules/placement-routes";
import { rulesRoutes } from "./rules/routes";
import { segmentComIngestRoutes } from "./segment-com-ingest/routes";
import { segmentsRoutes } from "./segments/routes";
import { segmentSizesRoutes } from "./segments/sizes-routes";
import { serverEventsRoutes } from "./server-events/routes";
import { shardRoutes } from "./shards/routes";
import { sitesRoutes } from "./sites/routes";
import { syncRoutes } from "./sync/routes";
import { webhooksRoutes } from "./webhooks/routes";

const app = createRouter();

app.use(requestIds);
// Under BASE_PATH the shop's origin gets the public routes only (worker/lib/base-path.ts).
app.use(shopOriginScope);
app.use(edgeSecureHeaders);
app.use(dbMiddleware);
// The admin session authenticates the management API too (before any route's requireApiKey).
app.use("/api/v1/*", sessionApiAuth);

app.route("/", healthRoutes);
app.route("/", homeRoutes);
app.route("/", sitesRoutes);
app.route("/", rebuildRoutes);
app.route("/", shardRoutes);
app.route("/", identityRoutes);
app.route("/", collectRoutes);
app.route("/", serverEventsRoutes);
app.route("/", segmentComIngestRoutes);
app.route("/", recentEventsRoutes);
app.route("/", creativesRoutes);
app.route("/", rulesRoutes);
app.route("/", adTagRoutes);
app.route("/", placementRoutes);
app.route("/", couponsRoutes);
app.route("/", syncRoutes);
app.route("/", adminApiRoutes);
app.route("/", reportsRoutes);
app.route("/", createAdminRoutes(app));
app.route("/", importRoutes);
app.route("/", catalogueRoutes);
app.route("/", segmentSizesRoutes);
app.route("/", segmentsRoutes);
app.route("/", decideRoutes);
app.route("/", explainRoutes);
app.route("/", clicksRoutes);
app.route("/", audiencesRoutes);
app.route("/", reachRoutes);
app.route("/", webhooksRoutes);
app.route("/", privacyRoutes);
app.route("/", profilesRoutes);
app.route("/", rejectedEventsRoutes);
registerDocs(app);

app.onError(onError);
app.notFound(notFound);

export default {
  // Under BASE_PATH (same-origin serving) every route also answers below the prefix.
  // Banners skip the app's router and middleware chain when they can (worker/decide/fast-path.ts).
  fetch: (request: Request, env: Env, ctx: ExecutionContext) =>
    servePrefixed((r, e, x) => bannerFastPath(r, e, x) ?? app.fetch(r, e, x), request, env, ctx),
  scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduled(env, controller.scheduledTime));
  },
  // Every queue's delivery: worker/pipeline dispatches on the queue's name.
  queue: consumeQueue,
} satisfies ExportedHandler<Env>;

export { app };
