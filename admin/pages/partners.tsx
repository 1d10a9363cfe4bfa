/** Placeholder replaced once the partners and webhooks APIs land (issue 6). */
import type { AdminApp } from "../app";
export function partnerPages(_app: AdminApp) {}
