-- Churn risk and customer lifetime value on the demo shop: BG/NBD "probability alive",
-- Gamma-Gamma spend, CLV by acquisition channel, and a logistic churn model judged by AUC.

-- 1. Churn-risk list: the most valuable customers (top fifth by revenue) whose churn risk,
--    1 − P(alive) under the BG/NBD model, is above 20%. btyd_summary turns each customer's orders into (frequency, recency, t,
--    monetary) in days, and bgnbd_p_alive fits the model on all customers (OVER ()) and scores each.
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
LIMIT 15;

-- 2. Customer lifetime value over the next 12 months (1% monthly discount), by acquisition
--    channel: BG/NBD purchases × Gamma-Gamma spend per purchase, as lifetimes computes it.
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
ORDER BY avg_clv_12m DESC;

-- 3. The fitted models themselves (parameters an analyst can quote).
WITH summary AS (
  SELECT o.customer_id, btyd_summary(o.ts, o.total, e.end_ts) AS s
  FROM orders o CROSS JOIN (SELECT max(ts) AS end_ts FROM orders) e
  GROUP BY o.customer_id
)
SELECT bgnbd_fit(s['frequency'], s['recency'], s['t']) AS bgnbd,
       gamma_gamma_fit(s['frequency'], s['monetary']) AS gamma_gamma
FROM summary;

-- 4. A supervised churn model: features from the orders before 2025-10-01, label = no order
--    in the last quarter (2025-10-01 onwards). A fixed 30% of customers is held out (label
--    NULL during training, still scored); the AUC is measured on them.
WITH history AS (
  SELECT customer_id,
         count(*) AS orders,
         sum(total) AS revenue,
         avg(CASE WHEN used_coupon THEN 1.0 ELSE 0.0 END) AS coupon_share,
         date_part('epoch', TIMESTAMP '2025-10-01 00:00:00' - max(ts)) / 86400 AS days_since_last,
         date_part('epoch', TIMESTAMP '2025-10-01 00:00:00' - min(ts)) / 86400 AS tenure_days
  FROM orders
  WHERE ts < TIMESTAMP '2025-10-01 00:00:00'
  GROUP BY customer_id
),
later AS (
  SELECT DISTINCT customer_id FROM orders WHERE ts >= TIMESTAMP '2025-10-01 00:00:00'
),
labelled AS (
  SELECT h.*,
         CASE WHEN l.customer_id IS NULL THEN 1 ELSE 0 END AS churned,
         h.customer_id % 10 < 3 AS holdout
  FROM history h LEFT JOIN later l ON l.customer_id = h.customer_id
),
scored AS (
  SELECT *,
         logistic_score(CASE WHEN holdout THEN NULL ELSE churned END,
                        orders, revenue, coupon_share, days_since_last, tenure_days) OVER () AS churn_score
  FROM labelled
)
SELECT (SELECT roc_auc(churn_score, churned) FROM scored WHERE holdout) AS holdout_auc,
       (SELECT roc_auc(churn_score, churned) FROM scored WHERE NOT holdout) AS training_auc,
       (SELECT logistic_fit(churned, orders, revenue, coupon_share, days_since_last, tenure_days)
          FROM labelled WHERE NOT holdout) AS model;
