SELECT category,
       f['model'] AS model,
       f['ts'] AS day,
       round(f['forecast'], 2) AS revenue,
       round(f['lo_95'], 2) AS lo_95,
       round(f['hi_95'], 2) AS hi_95
FROM (SELECT category, unnest(forecast(day, revenue, 28)) AS f
      FROM category_daily_revenue GROUP BY category)
WHERE f['ts'] IN (DATE '2026-01-01', DATE '2026-01-14', DATE '2026-01-28')
ORDER BY category, day