/** What other capabilities (the decision path, collection, reports) use from coupons. */
export {
  type Assignment,
  type AssignmentRow,
  assignmentsByPool,
  type ClaimPool,
  couponHolder,
} from "./claim";
export { claimThroughGate } from "./claim-gate";
export { codesHeldBy, couponPurchases } from "./purchase";
export { redeemCoupon } from "./redeem";
