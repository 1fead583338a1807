WITH order_touches AS (
  SELECT o.order_id, o.total, t.channel, t.ts
  FROM orders o
  JOIN touchpoints t ON t.customer_id = o.customer_id
                    AND t.ts <= o.ts AND t.ts >= o.ts - INTERVAL '14 days'
),
weighted AS (
  SELECT channel, total,
         attribution_weight('time_decay', ts, INTERVAL '3 days') OVER (PARTITION BY order_id) AS w
  FROM order_touches
)
SELECT channel, round(sum(w), 1) AS orders_credited, round(sum(total * w), 0) AS revenue_credited
FROM weighted
GROUP BY channel
ORDER BY revenue_credited DESC, channel