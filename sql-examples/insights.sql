-- "Why did conversion drop?": the seed's story on the demo shop. First spot the dip in the daily
-- conversion rate, then ask explain_change which segments drove it.

-- One row per session: where it came from and whether it bought.
CREATE OR REPLACE VIEW session_outcomes AS
SELECT e.session_id, c.region, e.channel, e.device,
       CAST(date_trunc('week', min(e.ts)) AS DATE) AS week,
       CASE WHEN min(e.ts) >= TIMESTAMP '2025-11-17' THEN 'dip' ELSE 'before' END AS period,
       max(CASE WHEN e.event_type = 'purchase' THEN 1 ELSE 0 END) AS converted
FROM events e JOIN customers c ON c.customer_id = e.customer_id
WHERE e.ts >= TIMESTAMP '2025-10-20' AND e.ts < TIMESTAMP '2025-12-15'
GROUP BY e.session_id, c.region, e.channel, e.device;

-- 1. Detect: weekly conversion rate against the first four weeks' mean and spread; the weeks
--    more than two standard deviations below are flagged.
WITH weekly AS (
  SELECT week, avg(converted) AS conversion, count(*) AS sessions
  FROM session_outcomes GROUP BY week
),
reference AS (
  SELECT avg(conversion) AS mean, stddev_pop(conversion) AS sd
  FROM weekly WHERE week < DATE '2025-11-17'
)
SELECT week, sessions, round(conversion, 4) AS conversion,
       round((conversion - mean) / NULLIF(sd, 0), 1) AS z,
       (conversion - mean) / NULLIF(sd, 0) < -2 AS dip
FROM weekly CROSS JOIN reference
ORDER BY week;

-- 2. Explain: the segments (region, channel, device and their pairs) ranked by how much of the
--    conversion change between the four weeks before and the four weeks of the dip they account
--    for, split into mix (the segment's share of sessions moved) and rate (its own conversion
--    moved). The planted cause, region=South, comes out on top.
SELECT rank, segment,
       round(baseline_value, 4) AS conversion_before,
       round(comparison_value, 4) AS conversion_during,
       round(effect, 4) AS effect_on_total,
       round(contribution, 2) AS share_of_change,
       round(mix_effect, 4) AS mix, round(rate_effect, 4) AS rate,
       baseline_rows AS sessions_before, comparison_rows AS sessions_during
FROM explain_change('session_outcomes', 'sum(converted) / count(*)', 'region, channel, device',
                    'period', 'before', 'dip', max_depth => 2, top_k => 10)
ORDER BY rank;

-- 3. A sum metric: which region and channel moved revenue between two months.
SELECT rank, segment, round(baseline_value) AS revenue_october, round(comparison_value) AS revenue_november,
       round(effect) AS change, round(contribution, 2) AS share_of_change
FROM explain_change(
  '(SELECT o.total, o.channel, c.region, CAST(date_trunc(''month'', o.ts) AS DATE) AS month
    FROM orders o JOIN customers c ON c.customer_id = o.customer_id)',
  'sum(total)', 'region, channel', 'month', '2025-10-01', '2025-11-01', top_k => 5)
ORDER BY rank;
