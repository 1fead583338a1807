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
          FROM labelled WHERE NOT holdout) AS model