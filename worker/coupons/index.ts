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
  type D1Like,
  findAssignment,
  toD1,
} from "./claim";
export { couponPurchases, redeemPurchaseCoupons } from "./purchase";
export { redeemCoupon } from "./redeem";
