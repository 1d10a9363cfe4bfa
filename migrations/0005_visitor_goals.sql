ALTER TABLE `visitors` ADD `event_counts` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `visitors` ADD `event_days` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `visitors` ADD `purchase_days` text DEFAULT '{}' NOT NULL;