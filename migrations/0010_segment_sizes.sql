CREATE TABLE `segment_sizes` (
	`segment_id` integer NOT NULL,
	`day` text NOT NULL,
	`visitors` integer NOT NULL,
	`customers` integer NOT NULL,
	`ts` integer NOT NULL,
	FOREIGN KEY (`segment_id`) REFERENCES `segments`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `segment_sizes_idx` ON `segment_sizes` (`segment_id`,`day`);