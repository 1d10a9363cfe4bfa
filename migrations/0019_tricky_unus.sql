CREATE TABLE `product_affinities` (
	`site_id` integer NOT NULL,
	`sku` text NOT NULL,
	`other_sku` text NOT NULL,
	`score` real NOT NULL,
	PRIMARY KEY(`site_id`, `sku`, `other_sku`)
);
--> statement-breakpoint
ALTER TABLE `visitors` ADD `recent_skus` text DEFAULT '[]' NOT NULL;