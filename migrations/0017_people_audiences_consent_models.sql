CREATE TABLE `audience_customer_members` (
	`audience_id` integer NOT NULL,
	`customer_row_id` integer NOT NULL,
	`customer_id` text NOT NULL,
	FOREIGN KEY (`audience_id`) REFERENCES `audiences`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audience_customer_members_idx` ON `audience_customer_members` (`audience_id`,`customer_row_id`);--> statement-breakpoint
CREATE TABLE `lookalike_models` (
	`site_id` integer PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`reason` text,
	`positives` integer NOT NULL,
	`negatives` integer NOT NULL,
	`held_out` integer DEFAULT 0 NOT NULL,
	`auc` real,
	`top_decile_lift` real,
	`trained_at` integer NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `coupons` ADD `archived_at` integer;--> statement-breakpoint
ALTER TABLE `customers` ADD `ads_consent` integer;--> statement-breakpoint
ALTER TABLE `sites` ADD `crm_ads_consent_default` integer DEFAULT false NOT NULL;