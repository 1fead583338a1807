WITH summary AS (
  SELECT o.customer_id, btyd_summary(o.ts, o.total, e.end_ts) AS s
  FROM orders o CROSS JOIN (SELECT max(ts) AS end_ts FROM orders) e
  GROUP BY o.customer_id
),
valued AS (
  SELECT customer_id,
         clv(s['frequency'], s['recency'], s['t'], s['monetary'], 12, 0.01, 'D') OVER () AS clv_12m,
         bgnbd_expected_purchases(s['frequency'], s['recency'], s['t'], 90) OVER () AS orders_next_90d
  FROM summary
)
SELECT c.acquisition_channel,
       count(*) AS customers,
       round(avg(v.orders_next_90d), 3) AS avg_orders_next_90d,
       round(avg(v.clv_12m), 2) AS avg_clv_12m,
       round(sum(v.clv_12m)) AS total_clv_12m
FROM valued v JOIN customers c USING (customer_id)
GROUP BY c.acquisition_channel
ORDER BY avg_clv_12m DESC