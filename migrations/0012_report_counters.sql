CREATE TABLE `applied_messages` (
	`id` integer PRIMARY KEY NOT NULL,
	`applied_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `exposures` (
	`site_id` integer NOT NULL,
	`rule_id` integer NOT NULL,
	`cookie_id` text NOT NULL,
	`holdout` integer NOT NULL,
	`placement` text NOT NULL,
	`first_ts` integer NOT NULL,
	PRIMARY KEY(`site_id`, `rule_id`, `cookie_id`, `holdout`)
);
--> statement-breakpoint
CREATE INDEX `exposures_site_cookie_idx` ON `exposures` (`site_id`,`cookie_id`);--> statement-breakpoint
CREATE TABLE `report_counters` (
	`site_id` integer NOT NULL,
	`day` integer NOT NULL,
	`placement` text NOT NULL,
	`rule_id` integer NOT NULL,
	`creative_id` integer NOT NULL,
	`holdout` integer NOT NULL,
	`impressions` integer DEFAULT 0 NOT NULL,
	`clicks` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`site_id`, `day`, `placement`, `rule_id`, `creative_id`, `holdout`)
);
