CREATE TABLE `write_counters` (
	`site_id` integer NOT NULL,
	`day` text NOT NULL,
	`reason` text NOT NULL,
	`kept` integer DEFAULT 0 NOT NULL,
	`refused` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`site_id`, `day`, `reason`)
);
--> statement-breakpoint
ALTER TABLE `rejected_events` ADD `cookie_id` text;--> statement-breakpoint
ALTER TABLE `rejected_events` ADD `customer_ref` text;--> statement-breakpoint
CREATE INDEX `rejected_events_cookie_idx` ON `rejected_events` (`site_id`,`cookie_id`);--> statement-breakpoint
CREATE INDEX `rejected_events_customer_idx` ON `rejected_events` (`site_id`,`customer_ref`);