/** The coupons sub-app: pool management and redemption, assembled for worker/index.ts. */
import { createRouter } from "../lib/router";
import { lookupRoutes } from "./lookup-routes";
import { poolRoutes } from "./pool-routes";
import { redeemRoutes } from "./redeem-routes";

export const couponsRoutes = createRouter();

couponsRoutes.route("/", poolRoutes);
couponsRoutes.route("/", redeemRoutes);
couponsRoutes.route("/", lookupRoutes);
