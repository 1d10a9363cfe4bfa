/** What other capabilities (the decision path, collection, reports) use from coupons. */
export {
  type Assignment,
  type AssignmentRow,
  assignmentQuery,
  assignmentSql,
  assignmentsByPool,
  type ClaimPool,
  claimCoupon,
  couponHolder,
  findAssignment,
} from "./claim";
export { codesHeldBy, couponPurchases } from "./purchase";
export { redeemCoupon } from "./redeem";
