CREATE TABLE `offer_counters` (
	`site_id` integer NOT NULL,
	`placement` text NOT NULL,
	`rule_id` integer NOT NULL,
	`context` text NOT NULL,
	`day` integer NOT NULL,
	`impressions` integer DEFAULT 0 NOT NULL,
	`clicks` integer DEFAULT 0 NOT NULL,
	`redemptions` integer DEFAULT 0 NOT NULL,
	`revenue` real DEFAULT 0 NOT NULL,
	PRIMARY KEY(`site_id`, `placement`, `rule_id`, `context`, `day`)
);
--> statement-breakpoint
CREATE TABLE `placement_settings` (
	`site_id` integer NOT NULL,
	`placement` text NOT NULL,
	`arbitration` text DEFAULT 'priority' NOT NULL,
	`objective` text DEFAULT 'clicks' NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`site_id`, `placement`),
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade
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
ALTER TABLE `visitors` ADD `recent_skus` text DEFAULT '[]' NOT NULL;