CREATE TABLE `admin_users` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`email` text NOT NULL,
	`password_hash` text NOT NULL,
	`role` text DEFAULT 'viewer' NOT NULL,
	`failed_logins` integer DEFAULT 0 NOT NULL,
	`locked_until` integer,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `admin_users_email_idx` ON `admin_users` (`email`);--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`prefix` text NOT NULL,
	`hash` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`revoked_at` integer,
	`last_used_at` integer,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash_unique` ON `api_keys` (`hash`);--> statement-breakpoint
CREATE INDEX `api_keys_site_idx` ON `api_keys` (`site_id`);--> statement-breakpoint
CREATE TABLE `audience_members` (
	`audience_id` integer NOT NULL,
	`visitor_id` integer NOT NULL,
	`cookie_id` text NOT NULL,
	FOREIGN KEY (`audience_id`) REFERENCES `audiences`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audience_members_idx` ON `audience_members` (`audience_id`,`visitor_id`);--> statement-breakpoint
CREATE TABLE `audience_sizes` (
	`audience_id` integer NOT NULL,
	`day` text NOT NULL,
	`size` integer NOT NULL,
	`ts` integer NOT NULL,
	FOREIGN KEY (`audience_id`) REFERENCES `audiences`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audience_sizes_idx` ON `audience_sizes` (`audience_id`,`day`);--> statement-breakpoint
CREATE TABLE `audiences` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`segment_id` integer,
	`params` text DEFAULT '{}' NOT NULL,
	`size` integer DEFAULT 0 NOT NULL,
	`refreshed_at` integer,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`segment_id`) REFERENCES `segments`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE INDEX `audiences_site_idx` ON `audiences` (`site_id`);--> statement-breakpoint
CREATE TABLE `bot_counts` (
	`site_id` integer NOT NULL,
	`day` text NOT NULL,
	`hits` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `bot_counts_site_day_idx` ON `bot_counts` (`site_id`,`day`);--> statement-breakpoint
CREATE TABLE `cap_counters` (
	`site_id` integer NOT NULL,
	`cookie_id` text NOT NULL,
	`rule_id` integer NOT NULL,
	`day` integer NOT NULL,
	`count` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cap_counters_idx` ON `cap_counters` (`site_id`,`cookie_id`,`day`,`rule_id`);--> statement-breakpoint
CREATE TABLE `clicks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`impression_uid` text NOT NULL,
	`rule_id` integer,
	`cookie_id` text,
	`ts` integer NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `clicks_impressionUid_unique` ON `clicks` (`impression_uid`);--> statement-breakpoint
CREATE INDEX `clicks_rule_idx` ON `clicks` (`rule_id`,`ts`);--> statement-breakpoint
CREATE TABLE `coupon_pools` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`prefix` text DEFAULT '' NOT NULL,
	`valid_days` integer DEFAULT 30 NOT NULL,
	`discount` text DEFAULT '' NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `coupon_pools_site_idx` ON `coupon_pools` (`site_id`);--> statement-breakpoint
CREATE TABLE `coupons` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`pool_id` integer NOT NULL,
	`code` text NOT NULL,
	`holder` text,
	`cookie_id` text,
	`customer_id` text,
	`rule_id` integer,
	`assigned_at` integer,
	`expires_at` integer,
	`redeemed_at` integer,
	`order_id` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`pool_id`) REFERENCES `coupon_pools`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `coupons_site_code_idx` ON `coupons` (`site_id`,`code`);--> statement-breakpoint
CREATE UNIQUE INDEX `coupons_pool_holder_idx` ON `coupons` (`pool_id`,`holder`);--> statement-breakpoint
CREATE INDEX `coupons_pool_free_idx` ON `coupons` (`pool_id`,`id`) WHERE "coupons"."holder" is null;--> statement-breakpoint
CREATE TABLE `creatives` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`name` text NOT NULL,
	`format` text NOT NULL,
	`template` text NOT NULL,
	`width` integer NOT NULL,
	`height` integer NOT NULL,
	`landing_url` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `creatives_site_idx` ON `creatives` (`site_id`);--> statement-breakpoint
CREATE TABLE `customers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`customer_id` text NOT NULL,
	`email_sha256` text,
	`gender` text,
	`lifetime_revenue` real,
	`orders` integer,
	`first_order_at` integer,
	`last_order_at` integer,
	`coupons_redeemed` integer,
	`clusters` text DEFAULT '[]' NOT NULL,
	`attributes` text DEFAULT '{}' NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `customers_site_customer_idx` ON `customers` (`site_id`,`customer_id`);--> statement-breakpoint
CREATE INDEX `customers_site_email_idx` ON `customers` (`site_id`,`email_sha256`);--> statement-breakpoint
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
	`props` text,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `events_site_received_idx` ON `events` (`site_id`,`received_at`);--> statement-breakpoint
CREATE INDEX `events_site_cookie_idx` ON `events` (`site_id`,`cookie_id`);--> statement-breakpoint
CREATE TABLE `id_links` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`partner_key` text NOT NULL,
	`partner_user_id` text NOT NULL,
	`cookie_id` text NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `id_links_partner_user_idx` ON `id_links` (`site_id`,`partner_key`,`partner_user_id`);--> statement-breakpoint
CREATE INDEX `id_links_cookie_idx` ON `id_links` (`site_id`,`cookie_id`,`partner_key`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`site_id` integer NOT NULL,
	`key` text NOT NULL,
	`status` integer NOT NULL,
	`body` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `idempotency_keys_idx` ON `idempotency_keys` (`site_id`,`key`);--> statement-breakpoint
CREATE TABLE `impressions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`uid` text NOT NULL,
	`site_id` integer NOT NULL,
	`placement` text NOT NULL,
	`rule_id` integer,
	`creative_id` integer,
	`cookie_id` text,
	`coupon_id` integer,
	`holdout` integer DEFAULT false NOT NULL,
	`day` integer NOT NULL,
	`ts` integer NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `impressions_uid_unique` ON `impressions` (`uid`);--> statement-breakpoint
CREATE INDEX `impressions_site_cookie_day_idx` ON `impressions` (`site_id`,`cookie_id`,`day`);--> statement-breakpoint
CREATE INDEX `impressions_rule_day_idx` ON `impressions` (`rule_id`,`day`);--> statement-breakpoint
CREATE TABLE `partners` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`key` text NOT NULL,
	`name` text NOT NULL,
	`sync_url` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `partners_site_key_idx` ON `partners` (`site_id`,`key`);--> statement-breakpoint
CREATE TABLE `placement_fallbacks` (
	`site_id` integer NOT NULL,
	`placement` text NOT NULL,
	`creative_id` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`creative_id`) REFERENCES `creatives`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `placement_fallbacks_idx` ON `placement_fallbacks` (`site_id`,`placement`);--> statement-breakpoint
CREATE TABLE `products` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`sku` text NOT NULL,
	`name` text,
	`category` text,
	`price` real,
	`url` text,
	`image_url` text,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `products_site_sku_idx` ON `products` (`site_id`,`sku`);--> statement-breakpoint
CREATE TABLE `rejected_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer,
	`site_key` text,
	`source` text NOT NULL,
	`reason` text NOT NULL,
	`payload` text,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `rejected_events_site_idx` ON `rejected_events` (`site_id`,`received_at`);--> statement-breakpoint
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
CREATE TABLE `rules` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`name` text NOT NULL,
	`placement` text NOT NULL,
	`segment_id` integer,
	`creative_id` integer NOT NULL,
	`pool_id` integer,
	`priority` integer DEFAULT 100 NOT NULL,
	`starts_at` integer,
	`ends_at` integer,
	`cap_per_day` integer,
	`holdout` real,
	`stop_after_conversion` integer DEFAULT false NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`segment_id`) REFERENCES `segments`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`creative_id`) REFERENCES `creatives`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`pool_id`) REFERENCES `coupon_pools`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE INDEX `rules_site_placement_idx` ON `rules` (`site_id`,`placement`,`priority`);--> statement-breakpoint
CREATE TABLE `segments` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`name` text NOT NULL,
	`expression` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `segments_site_idx` ON `segments` (`site_id`);--> statement-breakpoint
CREATE TABLE `sites` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`key` text NOT NULL,
	`name` text NOT NULL,
	`allowed_origins` text DEFAULT '[]' NOT NULL,
	`cookie_domain` text,
	`consent_mode` text DEFAULT 'implied' NOT NULL,
	`holdout` real DEFAULT 0.05 NOT NULL,
	`retention_days` integer DEFAULT 395 NOT NULL,
	`coupon_param` text DEFAULT 'coupon' NOT NULL,
	`signing_secret_ref` text DEFAULT 'SIGNING_SECRET' NOT NULL,
	`rules_version` integer DEFAULT 1 NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sites_key_unique` ON `sites` (`key`);--> statement-breakpoint
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
	`cart` text DEFAULT '[]' NOT NULL,
	`cart_items` integer DEFAULT 0 NOT NULL,
	`cart_value` real DEFAULT 0 NOT NULL,
	`cart_updated_at` integer,
	`last_purchase_at` integer,
	`consent` text,
	`lookalike_score` real,
	`acquisition` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `visitors_site_cookie_idx` ON `visitors` (`site_id`,`cookie_id`);--> statement-breakpoint
CREATE INDEX `visitors_site_customer_idx` ON `visitors` (`site_id`,`customer_id`);--> statement-breakpoint
CREATE INDEX `visitors_site_last_seen_idx` ON `visitors` (`site_id`,`last_seen_at`);--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`webhook_id` integer NOT NULL,
	`payload` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`created_at` integer NOT NULL,
	`delivered_at` integer,
	FOREIGN KEY (`webhook_id`) REFERENCES `webhooks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_idx` ON `webhook_deliveries` (`webhook_id`,`status`);--> statement-breakpoint
CREATE TABLE `webhook_members` (
	`webhook_id` integer NOT NULL,
	`cookie_id` text NOT NULL,
	`entered_at` integer NOT NULL,
	FOREIGN KEY (`webhook_id`) REFERENCES `webhooks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_members_idx` ON `webhook_members` (`webhook_id`,`cookie_id`);--> statement-breakpoint
CREATE TABLE `webhooks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`url` text NOT NULL,
	`segment_id` integer NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`segment_id`) REFERENCES `segments`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE INDEX `webhooks_site_idx` ON `webhooks` (`site_id`);