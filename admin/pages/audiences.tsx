/** Placeholder replaced once the audiences API lands (issue 6). */
import type { AdminApp } from "../app";
export function audiencePages(_app: AdminApp) {}
