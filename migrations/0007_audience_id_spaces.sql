CREATE TABLE `audience_changes` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`audience_id` integer NOT NULL,
	`id_space` text NOT NULL,
	`op` text NOT NULL,
	`value` text NOT NULL,
	`ts` integer NOT NULL,
	FOREIGN KEY (`audience_id`) REFERENCES `audiences`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `audience_changes_space_idx` ON `audience_changes` (`audience_id`,`id_space`,`seq`);--> statement-breakpoint
CREATE INDEX `audience_changes_value_idx` ON `audience_changes` (`value`);--> statement-breakpoint
CREATE TABLE `audience_space_members` (
	`audience_id` integer NOT NULL,
	`id_space` text NOT NULL,
	`value` text NOT NULL,
	FOREIGN KEY (`audience_id`) REFERENCES `audiences`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audience_space_members_idx` ON `audience_space_members` (`audience_id`,`id_space`,`value`);--> statement-breakpoint
ALTER TABLE `audiences` ADD `changes_purged_through` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `customers` ADD `uid2_email` text;