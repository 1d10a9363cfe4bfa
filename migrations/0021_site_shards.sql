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
ALTER TABLE `customers` ADD `copy` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `sites` ADD `shards` text;