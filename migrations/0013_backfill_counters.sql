-- Data fix (docs/architecture.md, "Counters"): the impressions and clicks recorded as rows before
-- the counters existed become counters and first exposures, so reports keep their history. The
-- rows themselves stay (migrations never drop a table); nothing writes them any more.
INSERT INTO `report_counters` (`site_id`, `day`, `placement`, `rule_id`, `creative_id`, `holdout`, `impressions`, `clicks`)
SELECT `site_id`, `day`, `placement`, coalesce(`rule_id`, 0), coalesce(`creative_id`, 0), `holdout`, count(*), 0
FROM `impressions` WHERE true
GROUP BY `site_id`, `day`, `placement`, coalesce(`rule_id`, 0), coalesce(`creative_id`, 0), `holdout`
ON CONFLICT DO UPDATE SET `impressions` = `impressions` + excluded.`impressions`;
--> statement-breakpoint
INSERT INTO `report_counters` (`site_id`, `day`, `placement`, `rule_id`, `creative_id`, `holdout`, `impressions`, `clicks`)
SELECT i.`site_id`, k.`ts` / 86400000, i.`placement`, coalesce(k.`rule_id`, 0), coalesce(i.`creative_id`, 0), i.`holdout`, 0, count(*)
FROM `clicks` k JOIN `impressions` i ON i.`uid` = k.`impression_uid` WHERE true
GROUP BY i.`site_id`, k.`ts` / 86400000, i.`placement`, coalesce(k.`rule_id`, 0), coalesce(i.`creative_id`, 0), i.`holdout`
ON CONFLICT DO UPDATE SET `clicks` = `clicks` + excluded.`clicks`;
--> statement-breakpoint
INSERT INTO `exposures` (`site_id`, `rule_id`, `cookie_id`, `holdout`, `placement`, `first_ts`)
SELECT `site_id`, `rule_id`, `cookie_id`, `holdout`, `placement`, min(`ts`)
FROM `impressions` WHERE `rule_id` IS NOT NULL AND `cookie_id` IS NOT NULL
GROUP BY `site_id`, `rule_id`, `cookie_id`, `holdout`
ON CONFLICT DO NOTHING;
