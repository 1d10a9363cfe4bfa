CREATE TABLE `decision_rows` (
	`site_id` integer NOT NULL,
	`cookie_id` text NOT NULL,
	`customer_id` text,
	`visitor` text NOT NULL,
	`customer` text,
	`product` text,
	`product_sku` text,
	`top_category` text,
	`codes` text NOT NULL,
	`converted` text NOT NULL,
	`caps_day` integer NOT NULL,
	`caps` text NOT NULL,
	PRIMARY KEY(`site_id`, `cookie_id`)
);
--> statement-breakpoint
CREATE INDEX `decision_rows_customer_idx` ON `decision_rows` (`site_id`,`customer_id`);