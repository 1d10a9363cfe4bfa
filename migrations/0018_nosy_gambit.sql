CREATE TABLE `placements_seen` (
	`site_id` integer NOT NULL,
	`placement` text NOT NULL,
	`first_day` integer NOT NULL,
	`last_day` integer NOT NULL,
	PRIMARY KEY(`site_id`, `placement`),
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE cascade
);
