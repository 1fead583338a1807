-- Forecasting and anomaly detection on the demo shop: a 28-day revenue forecast per product
-- category (one AutoETS model per category), the same for BI tools as one table of history and
-- forecast rows, and anomaly flags on daily conversion by region that find the South dip.

-- 1. Daily revenue per category, forecast 28 days ahead (weekly season inferred from the daily
--    step), with 80% and 95% intervals and the model AutoETS chose for each category.
CREATE OR REPLACE VIEW category_daily_revenue AS
SELECT p.category, CAST(date_trunc('day', o.ts) AS DATE) AS day,
       sum(i.quantity * i.unit_price - i.discount) AS revenue
FROM order_items i
JOIN orders o ON o.order_id = i.order_id
JOIN products p ON p.product_id = i.product_id
WHERE o.ts >= TIMESTAMP '2025-01-01'
GROUP BY p.category, CAST(date_trunc('day', o.ts) AS DATE);

SELECT category,
       f['model'] AS model,
       f['ts'] AS day,
       round(f['forecast'], 2) AS revenue,
       round(f['lo_95'], 2) AS lo_95,
       round(f['hi_95'], 2) AS hi_95
FROM (SELECT category, unnest(forecast(day, revenue, 28)) AS f
      FROM category_daily_revenue GROUP BY category)
WHERE f['ts'] IN (DATE '2026-01-01', DATE '2026-01-14', DATE '2026-01-28')
ORDER BY category, day;

-- 2. The same, shaped for a BI line chart: the history rows (kind = 'actual') and the forecast
--    rows (kind = 'forecast') of every category in one result. Here: the last week of history
--    and the first week of forecast for one category.
SELECT series AS category, ts, kind, round(actual, 2) AS actual, round(forecast, 2) AS forecast,
       round(lo_80, 2) AS lo_80, round(hi_80, 2) AS hi_80, model
FROM forecast_table('category_daily_revenue', 'day', 'revenue', 28, series => 'category')
WHERE series = 'electronics' AND ts BETWEEN TIMESTAMP '2025-12-25' AND TIMESTAMP '2026-01-07'
ORDER BY ts;

-- 3. Anomalies: weekly conversion rate (purchases / sessions) per region against the
--    one-step-ahead 95% band of an AutoETS model fitted per region (season_length 1: less than
--    a year of weeks). The planted South dip (from 2025-11-17) comes out as weeks far below
--    the band; elsewhere only the odd noisy week is flagged.
WITH weekly AS (
  SELECT c.region, CAST(date_trunc('week', e.ts) AS DATE) AS week,
         count(DISTINCT CASE WHEN e.event_type = 'purchase' THEN e.session_id END) * 1.0
           / count(DISTINCT e.session_id) AS conversion
  FROM events e JOIN customers c ON c.customer_id = e.customer_id
  WHERE e.ts >= TIMESTAMP '2025-03-03' AND e.ts < TIMESTAMP '2025-12-15'
  GROUP BY c.region, CAST(date_trunc('week', e.ts) AS DATE)
),
flagged AS (
  SELECT region, week, conversion,
         detect_anomaly(week, conversion, 1) OVER (PARTITION BY region ORDER BY week) AS a
  FROM weekly
)
SELECT region, week, round(conversion, 4) AS conversion, round(a['expected'], 4) AS expected,
       round(a['lo'], 4) AS lo, round(a['hi'], 4) AS hi,
       CASE WHEN conversion < a['lo'] THEN 'below' ELSE 'above' END AS direction
FROM flagged
WHERE a['is_anomaly']
ORDER BY week >= DATE '2025-11-17' DESC, region, week;
