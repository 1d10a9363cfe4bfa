CREATE TABLE `webhook_memberships` (
	`webhook_id` integer NOT NULL,
	`member` text NOT NULL,
	`entered_at` integer NOT NULL,
	FOREIGN KEY (`webhook_id`) REFERENCES `webhooks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_memberships_idx` ON `webhook_memberships` (`webhook_id`,`member`);--> statement-breakpoint
-- Data fix (hand-written): the members kept so far move over as people, so that nobody already
-- inside a segment is announced again. A linked cookie becomes its customer.
INSERT OR IGNORE INTO `webhook_memberships` (`webhook_id`, `member`, `entered_at`)
SELECT m.`webhook_id`, coalesce('c:' || v.`customer_id`, 'v:' || m.`cookie_id`), m.`entered_at`
FROM `webhook_members` m
JOIN `webhooks` w ON w.`id` = m.`webhook_id`
LEFT JOIN `visitors` v ON v.`site_id` = w.`site_id` AND v.`cookie_id` = m.`cookie_id`;
--> statement-breakpoint
DELETE FROM `webhook_members`;
