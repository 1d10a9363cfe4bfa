CREATE TABLE `segment_messages` (
	`site_id` integer NOT NULL,
	`message_id` text NOT NULL,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `segment_messages_idx` ON `segment_messages` (`site_id`,`message_id`);--> statement-breakpoint
CREATE INDEX `segment_messages_received_idx` ON `segment_messages` (`received_at`);