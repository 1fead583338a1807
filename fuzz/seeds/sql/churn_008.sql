WITH summary AS (
  SELECT o.customer_id,
         btyd_summary(o.ts, o.total, e.end_ts) AS s,
         sum(o.total) AS revenue,
         date_part('epoch', max(e.end_ts) - max(o.ts)) / 86400 AS days_since_last
  FROM orders o CROSS JOIN (SELECT max(ts) AS end_ts FROM orders) e
  GROUP BY o.customer_id
),
scored AS (
  SELECT customer_id, revenue, days_since_last, s['frequency'] AS repeat_orders,
         bgnbd_p_alive(s['frequency'], s['recency'], s['t']) OVER () AS p_alive,
         ntile(5) OVER (ORDER BY revenue) AS revenue_quintile
  FROM summary
)
SELECT customer_id,
       round(revenue, 2) AS revenue,
       CAST(round(days_since_last) AS INT) AS days_since_last,
       CAST(repeat_orders AS INT) AS repeat_orders,
       round(p_alive, 3) AS p_alive,
       round(100 * (1 - p_alive)) AS churn_risk_pct
FROM scored
WHERE revenue_quintile = 5 AND p_alive < 0.8
ORDER BY revenue DESC
LIMIT 15