WITH o AS (
  SELECT customer_id, ts, min(ts) OVER (PARTITION BY customer_id) AS first_ts FROM orders
)
SELECT c.acquisition_channel,
       count(*) AS buyers,
       sum(CASE WHEN r[2] THEN 1 ELSE 0 END) AS repurchased_30d,
       round(avg(CASE WHEN r[2] THEN 1.0 ELSE 0.0 END), 3) AS repurchase_rate
FROM (
  SELECT customer_id,
         retention(ts = first_ts, ts > first_ts AND ts <= first_ts + INTERVAL '30 days') AS r
  FROM o
  GROUP BY customer_id
) x
JOIN customers c USING (customer_id)
GROUP BY c.acquisition_channel
ORDER BY repurchase_rate DESC