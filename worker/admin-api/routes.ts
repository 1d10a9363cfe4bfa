/** The management API parts the admin UI needs beyond the resources: users and creative previews. */
import { createRouter } from "../lib/router";
import { creativePreviewRoutes } from "./creative-preview";
import { usersRoutes } from "./users-routes";

export const adminApiRoutes = createRouter();

adminApiRoutes.route("/", usersRoutes);
adminApiRoutes.route("/", creativePreviewRoutes);
