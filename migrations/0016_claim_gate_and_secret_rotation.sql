CREATE TABLE `claim_refusals` (
	`site_id` integer NOT NULL,
	`pool_id` integer NOT NULL,
	`day` text NOT NULL,
	`reason` text NOT NULL,
	`count` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`pool_id`, `day`, `reason`),
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`pool_id`) REFERENCES `coupon_pools`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `sites` ADD `previous_identity_secret` text;--> statement-breakpoint
ALTER TABLE `sites` ADD `previous_identity_secret_until` integer;--> statement-breakpoint
ALTER TABLE `sites` ADD `claim_policy` text DEFAULT 'any' NOT NULL;--> statement-breakpoint
ALTER TABLE `sites` ADD `claim_min_visits` integer DEFAULT 2 NOT NULL;--> statement-breakpoint
ALTER TABLE `webhooks` ADD `secret_version` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `webhooks` ADD `previous_secret_until` integer;