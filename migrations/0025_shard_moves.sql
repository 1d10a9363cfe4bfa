CREATE TABLE `shard_moves` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site_id` integer NOT NULL,
	`from_shards` text,
	`to_shards` text NOT NULL,
	`state` text NOT NULL,
	`phase` text NOT NULL,
	`phase_at` integer NOT NULL,
	`cursor` text DEFAULT '{}' NOT NULL,
	`progress` text DEFAULT '{}' NOT NULL,
	`verified` text DEFAULT '{}' NOT NULL,
	`error` text,
	`lease_until` integer,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `shard_moves_site_idx` ON `shard_moves` (`site_id`,`id`);--> statement-breakpoint
CREATE INDEX `shard_moves_state_idx` ON `shard_moves` (`state`);--> statement-breakpoint
ALTER TABLE `sites` ADD `shards_held` integer DEFAULT false NOT NULL;