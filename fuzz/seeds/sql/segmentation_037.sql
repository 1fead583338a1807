WITH features AS (
  SELECT c.region, o.customer_id, count(*) AS orders, sum(o.total) AS revenue,
         date_part('epoch', (SELECT max(ts) FROM orders) - max(o.ts)) / 86400 AS days_since_last
  FROM orders o JOIN customers c ON c.customer_id = o.customer_id
  GROUP BY c.region, o.customer_id
),
clustered AS (
  SELECT *, kmeans_cluster(3, orders, revenue, days_since_last) OVER (PARTITION BY region) AS segment_id
  FROM features
),
labelled AS (
  SELECT region, segment_id,
         segment_label(segment_id, orders, revenue, days_since_last) OVER (PARTITION BY region) AS label
  FROM clustered
)
SELECT region, segment_id, label, count(*) AS customers
FROM labelled
GROUP BY region, segment_id, label
ORDER BY region, segment_id