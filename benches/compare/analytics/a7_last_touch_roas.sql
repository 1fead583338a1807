-- Last-touch attribution: each order credited to the customer's last touchpoint in the 30 days
-- before it (ROW_NUMBER over a customer join), against ad spend per channel (ROAS).
WITH touches AS (
    SELECT o.order_id, o.total, t.channel,
           ROW_NUMBER() OVER (PARTITION BY o.order_id
                              ORDER BY t.ts DESC, t.channel, t.campaign, t.touch_type) AS rn
    FROM orders o
    JOIN touchpoints t ON t.customer_id = o.customer_id
    WHERE t.ts <= o.ts AND t.ts > o.ts - INTERVAL '30 days'
), attributed AS (
    SELECT channel, COUNT(*) AS orders, SUM(total) AS revenue
    FROM touches
    WHERE rn = 1
    GROUP BY channel
), spend AS (
    SELECT channel, SUM(spend) AS spend
    FROM ad_spend
    GROUP BY channel
)
SELECT COALESCE(a.channel, s.channel) AS channel, a.orders, a.revenue, s.spend,
       CAST(a.revenue AS DOUBLE PRECISION) / s.spend AS roas
FROM attributed a
FULL OUTER JOIN spend s ON s.channel = a.channel
ORDER BY 1
