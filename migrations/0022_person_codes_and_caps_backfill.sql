-- Data fix (docs/architecture.md, "Shards"): the decision row reads a person's codes and caps from
-- person_codes and person_caps, the copies a shard holds. A site created before shards keeps its
-- people in HOME, so HOME gets them filled from what is there: every code a cookie or a customer
-- holds or held, and today's cap counts (per cookie: which customer a count was for is not known).
INSERT INTO person_codes (site_id, holder, coupon_id, pool_id, rule_id, code, expires_at, redeemed_at)
SELECT p.site_id, c.holder, c.id, c.pool_id, c.rule_id, c.code, c.expires_at, c.redeemed_at
FROM coupons c JOIN coupon_pools p ON p.id = c.pool_id
WHERE c.holder LIKE 'v:%' OR c.holder LIKE 'c:%';
--> statement-breakpoint
INSERT OR IGNORE INTO person_caps (site_id, holder, day, rule_id, count)
SELECT site_id, 'v:' || cookie_id, day, rule_id, count FROM cap_counters;
