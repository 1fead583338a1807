WITH features AS (
  SELECT o.customer_id,
         count(DISTINCT o.order_id) AS orders,
         avg(o.total) AS avg_order_value,
         avg(CASE WHEN o.used_coupon THEN 1.0 ELSE 0.0 END) AS discount_share,
         count(DISTINCT p.category) AS categories,
         date_part('epoch', (SELECT max(ts) FROM orders) - max(o.ts)) / 86400 AS days_since_last
  FROM orders o
  JOIN order_items i ON i.order_id = o.order_id
  JOIN products p ON p.product_id = i.product_id
  GROUP BY o.customer_id
),
clustered AS (
  SELECT *, kmeans_cluster(0, orders, avg_order_value, discount_share, categories, days_since_last)
              OVER () AS cluster
  FROM features
),
labelled AS (
  SELECT *, segment_label(cluster, orders, avg_order_value, discount_share, categories, days_since_last)
              OVER () AS label
  FROM clustered
)
SELECT cluster, label, count(*) AS customers,
       round(avg(orders), 1) AS orders,
       round(avg(avg_order_value)) AS avg_order_value,
       round(avg(discount_share), 2) AS discount_share,
       round(avg(categories), 1) AS categories,
       round(avg(days_since_last)) AS days_since_last
FROM labelled
GROUP BY cluster, label
ORDER BY cluster