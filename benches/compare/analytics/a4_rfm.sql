-- RFM segmentation: recency, frequency and monetary quintiles (NTILE, ties broken by
-- customer_id so every engine assigns the same scores), customers and revenue per segment.
WITH per_customer AS (
    SELECT customer_id, MAX(ts) AS last_order, COUNT(*) AS frequency, SUM(total) AS monetary
    FROM orders
    GROUP BY customer_id
), scored AS (
    SELECT customer_id, frequency, monetary,
           NTILE(5) OVER (ORDER BY last_order, customer_id) AS r,
           NTILE(5) OVER (ORDER BY frequency, customer_id) AS f,
           NTILE(5) OVER (ORDER BY monetary, customer_id) AS m
    FROM per_customer
)
SELECT r, f, m, COUNT(*) AS customers, AVG(frequency) AS avg_orders, SUM(monetary) AS revenue
FROM scored
GROUP BY r, f, m
ORDER BY r, f, m
