CREATE TABLE `applied_messages` (
	`id` integer PRIMARY KEY NOT NULL,
	`applied_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `archive_sweeps` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`cookies` text NOT NULL,
	`from_day` text NOT NULL,
	`cursor` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `archive_sweeps_site_idx` ON `archive_sweeps` (`site_id`);--> statement-breakpoint
CREATE TABLE `audience_changes` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`audience_id` integer NOT NULL,
	`id_space` text NOT NULL,
	`op` text NOT NULL,
	`value` text NOT NULL,
	`ts` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audience_changes_space_idx` ON `audience_changes` (`audience_id`,`id_space`,`seq`);--> statement-breakpoint
CREATE INDEX `audience_changes_value_idx` ON `audience_changes` (`value`);--> statement-breakpoint
CREATE TABLE `audience_customer_members` (
	`audience_id` integer NOT NULL,
	`customer_row_id` integer NOT NULL,
	`customer_id` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audience_customer_members_idx` ON `audience_customer_members` (`audience_id`,`customer_row_id`);--> statement-breakpoint
CREATE TABLE `audience_members` (
	`audience_id` integer NOT NULL,
	`visitor_id` integer NOT NULL,
	`cookie_id` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audience_members_idx` ON `audience_members` (`audience_id`,`visitor_id`);--> statement-breakpoint
CREATE TABLE `audience_space_members` (
	`audience_id` integer NOT NULL,
	`id_space` text NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audience_space_members_idx` ON `audience_space_members` (`audience_id`,`id_space`,`value`);--> statement-breakpoint
CREATE TABLE `customers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`customer_id` text NOT NULL,
	`copy` integer DEFAULT false NOT NULL,
	`copies_on` text DEFAULT '[]' NOT NULL,
	`email_sha256` text,
	`uid2_email` text,
	`gender` text,
	`lifetime_revenue` real,
	`orders` integer,
	`first_order_at` integer,
	`last_order_at` integer,
	`coupons_redeemed` integer,
	`ads_consent` integer,
	`clusters` text DEFAULT '[]' NOT NULL,
	`attributes` text DEFAULT '{}' NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `customers_site_customer_idx` ON `customers` (`site_id`,`customer_id`);--> statement-breakpoint
CREATE INDEX `customers_site_email_idx` ON `customers` (`site_id`,`email_sha256`);--> statement-breakpoint
CREATE TABLE `decision_rows` (
	`site_id` integer NOT NULL,
	`cookie_id` text NOT NULL,
	`customer_id` text,
	`visitor` text NOT NULL,
	`customer` text,
	`product` text,
	`product_sku` text,
	`top_category` text,
	`codes` text NOT NULL,
	`converted` text NOT NULL,
	`caps_day` integer NOT NULL,
	`caps` text NOT NULL,
	PRIMARY KEY(`site_id`, `cookie_id`)
);
--> statement-breakpoint
CREATE INDEX `decision_rows_customer_idx` ON `decision_rows` (`site_id`,`customer_id`);--> statement-breakpoint
CREATE TABLE `erasures` (
	`site_id` integer NOT NULL,
	`kind` text NOT NULL,
	`subject` text NOT NULL,
	`erased_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `erasures_subject_idx` ON `erasures` (`site_id`,`kind`,`subject`);--> statement-breakpoint
CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`cookie_id` text NOT NULL,
	`type` text NOT NULL,
	`name` text,
	`ts` integer NOT NULL,
	`received_at` integer NOT NULL,
	`url` text,
	`ref` text,
	`props` text
);
--> statement-breakpoint
CREATE INDEX `events_site_received_idx` ON `events` (`site_id`,`received_at`);--> statement-breakpoint
CREATE INDEX `events_site_cookie_idx` ON `events` (`site_id`,`cookie_id`);--> statement-breakpoint
CREATE TABLE `exposures` (
	`site_id` integer NOT NULL,
	`rule_id` integer NOT NULL,
	`cookie_id` text NOT NULL,
	`holdout` integer NOT NULL,
	`placement` text NOT NULL,
	`first_ts` integer NOT NULL,
	PRIMARY KEY(`site_id`, `rule_id`, `cookie_id`, `holdout`)
);
--> statement-breakpoint
CREATE INDEX `exposures_site_cookie_idx` ON `exposures` (`site_id`,`cookie_id`);--> statement-breakpoint
CREATE TABLE `id_links` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`partner_key` text NOT NULL,
	`partner_user_id` text NOT NULL,
	`cookie_id` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `id_links_partner_user_idx` ON `id_links` (`site_id`,`partner_key`,`partner_user_id`);--> statement-breakpoint
CREATE INDEX `id_links_cookie_idx` ON `id_links` (`site_id`,`cookie_id`,`partner_key`);--> statement-breakpoint
CREATE TABLE `person_caps` (
	`site_id` integer NOT NULL,
	`holder` text NOT NULL,
	`day` integer NOT NULL,
	`rule_id` integer NOT NULL,
	`count` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`site_id`, `holder`, `day`, `rule_id`)
);
--> statement-breakpoint
CREATE TABLE `person_codes` (
	`site_id` integer NOT NULL,
	`holder` text NOT NULL,
	`coupon_id` integer NOT NULL,
	`pool_id` integer NOT NULL,
	`rule_id` integer,
	`code` text NOT NULL,
	`expires_at` integer,
	`redeemed_at` integer,
	PRIMARY KEY(`site_id`, `holder`, `coupon_id`)
);
--> statement-breakpoint
CREATE TABLE `product_affinities` (
	`site_id` integer NOT NULL,
	`sku` text NOT NULL,
	`other_sku` text NOT NULL,
	`score` real NOT NULL,
	PRIMARY KEY(`site_id`, `sku`, `other_sku`)
);
--> statement-breakpoint
CREATE TABLE `products` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`sku` text NOT NULL,
	`name` text,
	`category` text,
	`price` real,
	`currency` text,
	`url` text,
	`image_url` text,
	`available` integer DEFAULT true NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `products_site_sku_idx` ON `products` (`site_id`,`sku`);--> statement-breakpoint
CREATE INDEX `products_site_category_idx` ON `products` (`site_id`,`category`,`updated_at`);--> statement-breakpoint
CREATE TABLE `rule_conversions` (
	`site_id` integer NOT NULL,
	`rule_id` integer NOT NULL,
	`cookie_id` text NOT NULL,
	`order_id` text,
	`revenue` real,
	`ts` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `rule_conversions_idx` ON `rule_conversions` (`rule_id`,`cookie_id`);--> statement-breakpoint
CREATE INDEX `rule_conversions_site_cookie_idx` ON `rule_conversions` (`site_id`,`cookie_id`);--> statement-breakpoint
CREATE TABLE `visitors` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`cookie_id` text NOT NULL,
	`customer_id` text,
	`first_seen_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL,
	`visits` integer DEFAULT 0 NOT NULL,
	`pageviews` integer DEFAULT 0 NOT NULL,
	`interests` text DEFAULT '{}' NOT NULL,
	`interest_days` text DEFAULT '{}' NOT NULL,
	`visit_days` text DEFAULT '{}' NOT NULL,
	`event_counts` text DEFAULT '{}' NOT NULL,
	`event_days` text DEFAULT '{}' NOT NULL,
	`purchase_days` text DEFAULT '{}' NOT NULL,
	`cart` text DEFAULT '[]' NOT NULL,
	`recent_skus` text DEFAULT '[]' NOT NULL,
	`cart_items` integer DEFAULT 0 NOT NULL,
	`cart_value` real DEFAULT 0 NOT NULL,
	`cart_updated_at` integer,
	`last_purchase_at` integer,
	`consent` text,
	`lookalike_score` real,
	`acquisition` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `visitors_site_cookie_idx` ON `visitors` (`site_id`,`cookie_id`);--> statement-breakpoint
CREATE INDEX `visitors_site_customer_idx` ON `visitors` (`site_id`,`customer_id`);--> statement-breakpoint
CREATE INDEX `visitors_site_last_seen_idx` ON `visitors` (`site_id`,`last_seen_at`);--> statement-breakpoint
CREATE TABLE `webhook_members` (
	`webhook_id` integer NOT NULL,
	`cookie_id` text NOT NULL,
	`entered_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_members_idx` ON `webhook_members` (`webhook_id`,`cookie_id`);--> statement-breakpoint
CREATE TABLE `webhook_memberships` (
	`webhook_id` integer NOT NULL,
	`member` text NOT NULL,
	`entered_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_memberships_idx` ON `webhook_memberships` (`webhook_id`,`member`);