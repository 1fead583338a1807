-- Daily revenue by order channel with a trailing 7-calendar-day moving average
-- (days without orders count as zero: RANGE frame over dates, divided by 7).
WITH daily AS (
    SELECT CAST(ts AS DATE) AS day, channel, COUNT(*) AS orders, SUM(total) AS revenue
    FROM orders
    GROUP BY CAST(ts AS DATE), channel
)
SELECT day, channel, orders, revenue,
       SUM(revenue) OVER (PARTITION BY channel ORDER BY day
                          RANGE BETWEEN INTERVAL '6 days' PRECEDING AND CURRENT ROW) / 7 AS revenue_7d_avg
FROM daily
ORDER BY channel, day
