-- Indexes for two reads of the decision batch (worker/decide/load.ts): the newest product of a
-- category, and the rules a cookie converted on.
-- Renamed from 0001_issue9_decision_indexes.sql. Wrangler records applied migrations by file
-- name, so a database that ran the old name applies this file once more; IF NOT EXISTS makes
-- that harmless.
CREATE INDEX IF NOT EXISTS `products_site_category_idx` ON `products` (`site_id`,`category`,`updated_at`);--> statement-breakpoint
CREATE INDEX IF NOT EXISTS `rule_conversions_site_cookie_idx` ON `rule_conversions` (`site_id`,`cookie_id`);