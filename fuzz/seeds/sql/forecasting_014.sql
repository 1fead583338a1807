SELECT series AS category, ts, kind, round(actual, 2) AS actual, round(forecast, 2) AS forecast,
       round(lo_80, 2) AS lo_80, round(hi_80, 2) AS hi_80, model
FROM forecast_table('category_daily_revenue', 'day', 'revenue', 28, series => 'category')
WHERE series = 'electronics' AND ts BETWEEN TIMESTAMP '2025-12-25' AND TIMESTAMP '2026-01-07'
ORDER BY ts