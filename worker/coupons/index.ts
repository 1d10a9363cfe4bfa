/** What other capabilities (the decision path, collection) use from coupons. */
export {
  type Assignment,
  type AssignmentRow,
  assignmentQuery,
  assignmentSql,
  assignmentsByPool,
  type ClaimInput,
  type ClaimPool,
  type ClaimResult,
  claimCoupon,
  couponHolder,
  type D1Like,
  findAssignment,
} from "./claim";
export { CODE_ALPHABET, classifyMissingCode, generateCode, hasValidCheck } from "./code-format";
export { couponPurchases, redeemPurchaseCoupons } from "./purchase";
export { type CouponState, type RedeemResult, type RollbackResult, redeemCoupon, rollbackCoupon } from "./redeem";
