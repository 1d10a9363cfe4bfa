CREATE TABLE `archive_sweeps` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`cookies` text NOT NULL,
	`from_day` text NOT NULL,
	`cursor` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `archive_sweeps_site_idx` ON `archive_sweeps` (`site_id`);