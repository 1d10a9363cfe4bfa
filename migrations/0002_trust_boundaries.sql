CREATE TABLE `erasures` (
	`site_id` integer NOT NULL,
	`kind` text NOT NULL,
	`subject` text NOT NULL,
	`erased_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `erasures_subject_idx` ON `erasures` (`site_id`,`kind`,`subject`);--> statement-breakpoint
ALTER TABLE `products` ADD `currency` text;--> statement-breakpoint
ALTER TABLE `products` ADD `available` integer DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE `sites` ADD `identity_secret` text;