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
ORDER BY cluster