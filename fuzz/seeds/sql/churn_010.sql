WITH summary AS (
  SELECT o.customer_id, btyd_summary(o.ts, o.total, e.end_ts) AS s
  FROM orders o CROSS JOIN (SELECT max(ts) AS end_ts FROM orders) e
  GROUP BY o.customer_id
)
SELECT bgnbd_fit(s['frequency'], s['recency'], s['t']) AS bgnbd,
       gamma_gamma_fit(s['frequency'], s['monetary']) AS gamma_gamma
FROM summary