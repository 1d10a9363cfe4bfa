CREATE TABLE `login_attempts` (
	`key` text PRIMARY KEY NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`locked_until` integer DEFAULT 0 NOT NULL,
	`granted` integer DEFAULT 0 NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
DROP INDEX `admin_users_email_idx`;--> statement-breakpoint
ALTER TABLE `admin_users` ADD `session_version` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `admin_users_site_email_idx` ON `admin_users` (`site_id`,`email`);--> statement-breakpoint
ALTER TABLE `idempotency_keys` ADD `fingerprint` text DEFAULT '' NOT NULL;