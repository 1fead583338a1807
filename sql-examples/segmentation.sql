-- Customer segmentation on the demo shop: RFM segments, behavioural k-means clusters that
-- name themselves, and segment sizes by region.

-- 1. RFM: scores 1-5 with ntile(5) (5 = most recent / most frequent / highest spend; recency
--    is ordered DESC so the most recent quintile gets 5), then the named segment.
WITH features AS (
  SELECT customer_id,
         date_part('epoch', (SELECT max(ts) FROM orders) - max(ts)) / 86400 AS days_since_last,
         count(*) AS orders,
         sum(total) AS revenue
  FROM orders
  GROUP BY customer_id
),
scored AS (
  SELECT *,
         ntile(5) OVER (ORDER BY days_since_last DESC, customer_id) AS r,
         ntile(5) OVER (ORDER BY orders, customer_id) AS f,
         ntile(5) OVER (ORDER BY revenue, customer_id) AS m
  FROM features
)
SELECT rfm_segment(r, f, m) AS segment,
       count(*) AS customers,
       round(avg(days_since_last)) AS avg_days_since_last,
       round(avg(orders), 1) AS avg_orders,
       round(avg(revenue)) AS avg_revenue
FROM scored
GROUP BY 1
ORDER BY avg_revenue DESC;

-- 2. Behavioural clusters with k chosen by silhouette (k = 0), each named by the features where
--    it stands out: heavy buyers, discount-sensitive shoppers, explorers of many categories,
--    customers drifting away.
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
ORDER BY cluster;

-- 3. The same model as centroids in the original units (ids match kmeans_cluster with k = 4).
WITH features AS (
  SELECT customer_id, count(*) AS orders, avg(total) AS avg_order_value,
         avg(CASE WHEN used_coupon THEN 1.0 ELSE 0.0 END) AS discount_share
  FROM orders GROUP BY customer_id
)
SELECT c['cluster'] AS cluster, c['size'] AS customers,
       round(c['centroid'][1], 1) AS orders,
       round(c['centroid'][2]) AS avg_order_value,
       round(c['centroid'][3], 2) AS discount_share
FROM (SELECT unnest(kmeans_centroids(4, orders, avg_order_value, discount_share)) AS c FROM features)
ORDER BY cluster;

-- 4. Segment sizes by region: one model per region (PARTITION BY region), labelled per region.
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
ORDER BY region, segment_id;
